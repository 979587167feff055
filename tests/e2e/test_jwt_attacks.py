"""The quality bar's JWT attack list over real HTTP against `chalice local`: every forged or misused
token gets a 401 with the API's error body, never a 5xx or a dropped connection.

The forgeries use moto's signing key, which moto publishes: exactly why a deployed stage refuses its
JWKS. Here it lets each test change one claim while keeping a valid signature."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import moto
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from infra.onetrip import users
from infra.onetrip.moto_stack import client

pytestmark = pytest.mark.e2e

PRIVATE_JWKS = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"


def _moto_key():
    jwk = json.loads(gzip.decompress(PRIVATE_JWKS.read_bytes()))
    return jwt.PyJWK(jwk, algorithm="RS256").key, jwk["kid"]


def _claims(stack, token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _get(stack, token: str) -> requests.Response:
    return requests.get(f"{stack.api_url}/v1/applications", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _forge(stack, **changes) -> str:
    key, kid = _moto_key()
    claims = {**_claims(stack, stack.token("citizen-verified")), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_the_genuine_token_passes(stack):
    assert _get(stack, stack.token("citizen-verified")).status_code == 200
    assert _get(stack, _forge(stack)).status_code == 200  # the forging itself is faithful


@pytest.mark.parametrize("attack", [
    "alg_none", "hs256_with_public_key", "unknown_kid", "expired", "other_issuer", "id_token",
    "other_client", "two_segments", "tampered_signature", "not_a_jwt", "empty_bearer",
])
def test_every_forged_or_misused_token_is_401(stack, attack):
    genuine = stack.token("citizen-verified")
    claims = _claims(stack, genuine)
    header, payload, signature = genuine.split(".")
    if attack == "alg_none":
        token = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."
    elif attack == "hs256_with_public_key":
        public = requests.get(stack.outputs["JwksUrl"], timeout=5).json()["keys"][0]
        pem = jwt.PyJWK(public, algorithm="RS256").key.public_bytes(
            encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo)
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": public["kid"]}).encode())
        mac = hmac.new(pem, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{head}.{payload}.{_b64(mac)}"
    elif attack == "unknown_kid":
        key, _ = _moto_key()
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "not-a-known-key"})
    elif attack == "expired":
        token = _forge(stack, exp=int(time.time()) - 120, iat=int(time.time()) - 3720)
    elif attack == "other_issuer":
        token = _forge(stack, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_otherpool")
    elif attack == "id_token":
        token = _id_token(stack)
    elif attack == "other_client":
        token = _forge(stack, client_id="another-app-client")
    elif attack == "two_segments":
        token = f"{header}.{payload}"
    elif attack == "tampered_signature":
        flipped = "A" if signature[10] != "A" else "B"
        token = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    elif attack == "not_a_jwt":
        token = "hello-world"
    else:
        token = ""
    resp = _get(stack, token)
    assert resp.status_code == 401, (attack, resp.status_code, resp.text)
    assert resp.json()["code"] == "unauthenticated"


def _id_token(stack) -> str:
    result = client("cognito-idp", stack.outputs["EndpointUrl"]).admin_initiate_auth(
        UserPoolId=stack.outputs["UserPoolId"], ClientId=stack.outputs["MobileClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "citizen-verified", "PASSWORD": users.load_users()["password"]})
    return result["AuthenticationResult"]["IdToken"]


EXPECTED_KINDS = {"citizen-verified": "citizen", "citizen-unverified": "citizen", "agent": "enterprise_agent",
                  "admin": "admin", "window-yq-centre": "window_staff", "terminal-yq-kiosk-01": "terminal",
                  "dept-yq-amr": "department", "dept-yq-tax": "department", "dept-yq-realestate": "department"}


def test_every_demo_user_is_a_principal_of_its_kind(stack):
    assert set(EXPECTED_KINDS) == {u["username"] for u in users.load_users()["users"]}
    for username, kind in EXPECTED_KINDS.items():
        resp = requests.get(f"{stack.api_url}/v1/me", headers={"Authorization": f"Bearer {stack.token(username)}"},
                            timeout=10)
        assert resp.status_code == 200 and resp.json()["kind"] == kind, (username, resp.text)
