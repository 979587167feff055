"""Verification of RS256 access tokens against the identity provider's JWKS (Cognito; moto locally).

Only RS256 is accepted (never `none` or HS*), with the configured issuer, a 60 s leeway on `exp`,
`token_use == "access"` and a `client_id` among the configured app clients. Keys are cached; an
unknown `kid` triggers at most one refetch per minute, so garbage tokens cannot hammer the JWKS.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from ..domain.errors import Unauthenticated

LEEWAY_SECONDS = 60
REFETCH_INTERVAL_SECONDS = 60


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise Unauthenticated(code="jwks_url_not_allowed")
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - scheme checked above
        data: dict[str, Any] = json.loads(resp.read(1024 * 1024))
        return data


class JwtVerifier:
    def __init__(self, jwks_url: str, issuer: str, audiences: tuple[str, ...],
                 fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audiences = frozenset(audiences)
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    @property
    def issuer(self) -> str:
        return self._issuer

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < REFETCH_INTERVAL_SECONDS:
                return
            self._fetched_at = now
            self.fetch_count += 1
            try:
                document = self._fetch(self._jwks_url)
            except (OSError, ValueError) as exc:
                raise Unauthenticated(code="jwks_unavailable") from exc
            keys = {}
            for jwk in document.get("keys", []) if isinstance(document, dict) else []:
                if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid") \
                        or jwk.get("use", "sig") != "sig":
                    continue
                try:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
                except jwt.PyJWTError:
                    continue  # one broken key must not lock everyone out
            self._keys = keys

    def _key_for(self, kid: str) -> Any:
        if kid not in self._keys:
            self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated(code="token_key_unknown")
        return key

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims, or Unauthenticated with a code saying why (never the token itself)."""
        if not self._issuer or not self._audiences or not self._jwks_url:
            raise Unauthenticated(code="authorizer_not_configured")
        if token.count(".") != 2:
            raise Unauthenticated(code="token_malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(code="token_malformed") from exc
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise Unauthenticated(code="token_algorithm_not_allowed")
        key = self._key_for(header["kid"])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=["RS256"], issuer=self._issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated(code="token_expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated(code="token_issuer_invalid") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(code="token_invalid") from exc
        if claims.get("token_use") != "access":
            raise Unauthenticated(code="token_use_invalid")
        if claims.get("client_id") not in self._audiences:
            raise Unauthenticated(code="token_client_invalid")
        return claims


class IssuerRouter:
    """Several trusted issuers (e.g. one user pool for people, one for machine clients): the token's
    unverified `iss` only selects which issuer's keys must verify it; nothing is trusted before that."""

    def __init__(self, verifiers: list[JwtVerifier]) -> None:
        self._by_issuer = {v.issuer: v for v in verifiers}

    def verify(self, token: str) -> dict[str, Any]:
        if token.count(".") != 2:
            raise Unauthenticated(code="token_malformed")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(code="token_malformed") from exc
        verifier = self._by_issuer.get(str(unverified.get("iss", "")))
        if verifier is None:
            raise Unauthenticated(code="token_issuer_invalid")
        return verifier.verify(token)
