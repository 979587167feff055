"""Local demo users in moto's Cognito, and access tokens for them.

People log in through MobileClient, department machine users through MachineClient (moto has
no client-credentials grant). The one demo password lives in infra/seed/users.json: local only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from infra.onetrip.moto_stack import client

USERS_PATH = Path(__file__).resolve().parent.parent / "seed" / "users.json"


@lru_cache(maxsize=4)
def load_users(path: Path = USERS_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _spec(username: str, path: Path = USERS_PATH) -> dict[str, Any]:
    for spec in load_users(path)["users"]:
        if spec["username"] == username:
            return spec
    known = ", ".join(u["username"] for u in load_users(path)["users"])
    raise KeyError(f"unknown demo user {username!r} (known: {known})")


def client_id_for(outputs: Mapping[str, str], kind: str) -> str:
    return outputs["MachineClientId"] if kind == "machine" else outputs["MobileClientId"]


def create_users(outputs: Mapping[str, str], path: Path = USERS_PATH) -> dict[str, dict[str, Any]]:
    """Create every demo user; return username -> {sub, groups, kind, client_id}."""
    data = load_users(path)
    cognito = client("cognito-idp", outputs["EndpointUrl"])
    pool_id = outputs["UserPoolId"]
    created: dict[str, dict[str, Any]] = {}
    for spec in data["users"]:
        username = spec["username"]
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[{"Name": k, "Value": v} for k, v in spec.get("attributes", {}).items()],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=data["password"], Permanent=True)
        for group in spec.get("groups", []):
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        attributes = cognito.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
        created[username] = {
            "sub": next(a["Value"] for a in attributes if a["Name"] == "sub"),
            "groups": list(spec.get("groups", [])),
            "kind": spec["kind"],
            "client_id": client_id_for(outputs, spec["kind"]),
        }
    return created


def token(outputs: Mapping[str, str], username: str, path: Path = USERS_PATH) -> str:
    """A fresh access token for a demo user (ADMIN_USER_PASSWORD_AUTH through its client)."""
    spec = _spec(username, path)
    result = client("cognito-idp", outputs["EndpointUrl"]).admin_initiate_auth(
        UserPoolId=outputs["UserPoolId"],
        ClientId=client_id_for(outputs, spec["kind"]),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": load_users(path)["password"]},
    )
    return result["AuthenticationResult"]["AccessToken"]
