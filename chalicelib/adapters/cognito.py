"""The user pool as the user directory: the assurance level is written to the user, so it appears in
new ID tokens (and in access tokens through a pre-token-generation trigger where one is deployed).
The bus's own identity record stays the source of truth the API reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CognitoDirectory:
    def __init__(self, make_client: Callable[[], Any], user_pool_id: str) -> None:
        # Built on first use: only the identity route writes to the directory, so no other
        # function pays for a Cognito client at cold start.
        self._make_client = make_client
        self._pool = user_pool_id

    def set_assurance(self, username: str, level: str) -> None:
        if not self._pool or not username:
            return  # no pool configured (unit tests, tools): the identity record alone carries the level
        self._make_client().admin_update_user_attributes(
            UserPoolId=self._pool, Username=username,
            UserAttributes=[{"Name": "custom:assurance_level", "Value": level}])
