"""The one authorizer in front of every protected route: a verified RS256 access token → a principal.

In API Gateway a Lambda authorizer signals 401 by raising "Unauthorized"; under `chalice local`
and the test client the local gateway's own 401 is raised, with the API's error body.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from chalice import Blueprint
from chalice.app import AuthRequest, AuthResponse

from ..bootstrap import verifier
from ..config import get_settings
from ..domain.errors import Unauthenticated
from ..domain.principals import principal_from_groups
from ..domain.rate_limits import usage_plan_key
from ..observability import logger

auth = Blueprint(__name__)


class UsageAuthResponse(AuthResponse):
    """Chalice's response plus `usageIdentifierKey`: the API reads its usage-plan key from the
    authorizer (infra/onetrip/usage_plans.py), which throttles each principal kind and department."""

    def __init__(self, *args: Any, usage_identifier_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage_identifier_key = usage_identifier_key

    def to_dict(self, request: AuthRequest) -> dict[str, Any]:
        out = super().to_dict(request)
        if self.usage_identifier_key:
            out["usageIdentifierKey"] = self.usage_identifier_key
        return out


def _deny(code: str) -> NoReturn:
    logger.info("token_refused", extra={"code": code})
    body = json.dumps({"code": "unauthenticated", "message_zh": "身份凭证缺失或无效",
                       "message_en": "Missing or invalid credentials", "detail": {"reason": code}}).encode()
    try:
        from chalice.local import NotAuthorizedError
    except ImportError:  # deployed: API Gateway turns this exact message into a 401
        raise Exception("Unauthorized") from None
    raise NotAuthorizedError({"Content-Type": "application/json"}, body)


@auth.authorizer(ttl_seconds=0)
def jwt_authorizer(request: AuthRequest) -> AuthResponse:
    token = request.token or ""
    scheme, _, credentials = token.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        _deny("bearer_token_missing")
    try:
        claims = verifier().verify(credentials.strip())
    except Unauthenticated as exc:
        _deny(exc.code)
    groups = claims.get("cognito:groups") or []
    principal = principal_from_groups(str(claims["sub"]), list(groups) if isinstance(groups, list) else [],
                                      str(claims.get("client_id", "")), username=str(claims.get("username", "")),
                                      token_scopes=str(claims.get("scope", "")))
    if principal is None:
        _deny("principal_kind_unknown")
    settings = get_settings()
    key = usage_plan_key(settings.usage_key_prefix, principal, frozenset(settings.usage_key_departments))
    return UsageAuthResponse(routes=["*"], principal_id=principal.sub, context=principal.to_context(),
                             usage_identifier_key=key)
