"""JwtVerifier: only RS256 access tokens of our pool and app clients pass; everything else is 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.jwt_verifier import JwtVerifier
from chalicelib.domain.errors import Unauthenticated

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OneTrip"
JWKS_URL = ISSUER + "/.well-known/jwks.json"
CLIENT = "onetrip-web"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = new_key()
OTHER_KEY = new_key()


def jwk(private_key, kid):
    data = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


class Jwks:
    """A JWKS endpoint that counts how often it is fetched."""

    def __init__(self, *keys):
        self.document = {"keys": list(keys)}
        self.fetches = 0

    def __call__(self, url):
        assert url == JWKS_URL
        self.fetches += 1
        return json.loads(json.dumps(self.document))


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def jwks():
    return Jwks(jwk(KEY, "k1"))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def verifier(jwks, clock):
    return JwtVerifier(JWKS_URL, ISSUER, (CLIENT, "onetrip-console"), fetch=jwks, clock=clock)


def claims(**overrides):
    now = int(time.time())
    base = {"sub": "user-1", "iss": ISSUER, "token_use": "access", "client_id": CLIENT, "iat": now,
            "exp": now + 3600, "cognito:groups": ["citizens"]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(key=KEY, kid="k1", **overrides):
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def refused(verifier, value):
    with pytest.raises(Unauthenticated) as exc:
        verifier.verify(value)
    assert value not in str(exc.value) or not value
    return exc.value.code


def test_a_valid_access_token_passes(verifier):
    verified = verifier.verify(token())
    assert verified["sub"] == "user-1" and verified["client_id"] == CLIENT


def test_keys_are_fetched_once_and_cached(verifier, jwks):
    for _ in range(5):
        verifier.verify(token())
    assert jwks.fetches == 1


def test_alg_none_is_refused(verifier):
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"})
    assert refused(verifier, unsigned) == "token_algorithm_not_allowed"
    assert refused(verifier, unsigned.rstrip(".") + ".") == "token_algorithm_not_allowed"


def test_hs256_signed_with_the_public_key_pem_is_refused(verifier):
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()) + "." + b64(
        json.dumps(claims()).encode())
    forged = signing_input + "." + b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    assert refused(verifier, forged) == "token_algorithm_not_allowed"


def test_a_token_of_an_unknown_key_is_refused(verifier):
    assert refused(verifier, token(OTHER_KEY, kid="k-unknown")) == "token_key_unknown"


def test_a_known_kid_with_another_key_is_refused(verifier):
    assert refused(verifier, token(OTHER_KEY, kid="k1")) == "token_invalid"


def test_unknown_kids_refetch_the_jwks_at_most_once_per_minute(verifier, jwks, clock):
    verifier.verify(token())
    assert jwks.fetches == 1
    for _ in range(20):
        refused(verifier, token(OTHER_KEY, kid="k2"))
    assert jwks.fetches == 1
    clock.t += 59
    refused(verifier, token(OTHER_KEY, kid="k2"))
    assert jwks.fetches == 1
    clock.t += 2
    refused(verifier, token(OTHER_KEY, kid="k2"))
    refused(verifier, token(OTHER_KEY, kid="k3"))
    assert jwks.fetches == 2


def test_a_rotated_key_is_picked_up_after_the_refetch_interval(verifier, jwks, clock):
    verifier.verify(token())
    jwks.document["keys"].append(jwk(OTHER_KEY, "k2"))
    refused(verifier, token(OTHER_KEY, kid="k2"))
    clock.t += 61
    assert verifier.verify(token(OTHER_KEY, kid="k2"))["sub"] == "user-1"
    assert jwks.fetches == 2


def test_an_unreachable_jwks_is_unauthenticated_not_a_crash(clock):
    def down(url):
        raise OSError("connection refused")

    verifier = JwtVerifier(JWKS_URL, ISSUER, (CLIENT,), fetch=down, clock=clock)
    assert refused(verifier, token()) == "jwks_unavailable"


def test_a_token_expired_beyond_the_leeway_is_refused(verifier):
    now = int(time.time())
    assert refused(verifier, token(iat=now - 3600, exp=now - 90)) == "token_expired"


def test_a_token_expired_within_the_leeway_passes(verifier):
    now = int(time.time())
    assert verifier.verify(token(iat=now - 3600, exp=now - 30))["sub"] == "user-1"


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "sub", "token_use"])
def test_a_token_without_a_required_claim_is_refused(verifier, missing):
    refused(verifier, token(**{missing: None}))


def test_another_issuer_is_refused(verifier):
    assert refused(verifier, token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")) == (
        "token_issuer_invalid")


def test_an_id_token_is_refused(verifier):
    assert refused(verifier, token(token_use="id", aud=CLIENT)) == "token_use_invalid"


@pytest.mark.parametrize("client_id", ["another-app", None, ""])
def test_a_token_of_another_app_client_is_refused(verifier, client_id):
    assert refused(verifier, token(client_id=client_id)) == "token_client_invalid"


def test_two_segments_are_refused(verifier):
    header, payload, _ = token().split(".")
    assert refused(verifier, f"{header}.{payload}") == "token_malformed"


def test_a_tampered_signature_is_refused(verifier):
    header, payload, signature = token().split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    assert refused(verifier, f"{header}.{payload}.{flipped}") == "token_invalid"


def test_a_tampered_payload_is_refused(verifier):
    header, _, signature = token().split(".")
    payload = b64(json.dumps(claims(sub="admin-1", **{"cognito:groups": ["admins"]})).encode())
    assert refused(verifier, f"{header}.{payload}.{signature}") == "token_invalid"


@pytest.mark.parametrize("value", ["", "Bearer", "Basic dXNlcjpwYXNzd29yZA==", "not a jwt", "a.b.c", "...",
                                   "eyJ.eyJ.sig", "a.b.c.d"])
def test_something_that_is_not_a_jwt_is_refused(verifier, jwks, value):
    refused(verifier, value)
    assert jwks.fetches == 0


@pytest.mark.parametrize("config", [
    ("", ISSUER, (CLIENT,)), (JWKS_URL, "", (CLIENT,)), (JWKS_URL, ISSUER, ())])
def test_an_unconfigured_verifier_refuses_everything(jwks, clock, config):
    verifier = JwtVerifier(*config, fetch=jwks, clock=clock)
    assert refused(verifier, token()) == "authorizer_not_configured"
    assert jwks.fetches == 0


def test_a_malformed_jwks_entry_is_skipped_and_the_other_keys_still_verify(clock):
    broken = {"kty": "RSA", "kid": "k0", "use": "sig", "n": "!!", "e": "AQAB"}
    verifier = JwtVerifier(JWKS_URL, ISSUER, (CLIENT,), fetch=Jwks(broken, jwk(KEY, "k1")), clock=clock)
    assert verifier.verify(token())["sub"] == "user-1"


def test_a_malformed_jwks_is_at_worst_unauthenticated(clock):
    broken = {"kty": "RSA", "kid": "k0", "use": "sig", "n": "!!", "e": "AQAB"}
    verifier = JwtVerifier(JWKS_URL, ISSUER, (CLIENT,), fetch=Jwks(broken), clock=clock)
    with pytest.raises(Unauthenticated):
        verifier.verify(token(kid="k0"))
