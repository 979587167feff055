"""Identity verifier adapters (实名认证): the authority's HTTPS service, and for the local stage a
reference registry of demo people.

Neither logs nor echoes what it checks. The HTTPS contract is deliberately small — `POST {name,
id_number}` with a bearer token, answer `{"matched": bool}` — so a thin gateway can front whichever
national or provincial service a deployment is allowed to use.

The bearer token comes from a token source: `FixedToken` (ONETRIP_IDENTITY_VERIFIER_TOKEN, local runs
and tests) or `SecretToken` (ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET, deployed stages: the token lives in
Secrets Manager, not in the function's configuration). Neither shows the token in a repr.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..domain.errors import ServiceUnavailable
from ..observability import logger
from ..ports import BlindIndex, IdentityCheck, Store


class IdentityServiceUnavailable(ServiceUnavailable):
    code = "identity_service_unavailable"
    message_zh = "实名认证服务暂时不可用，请稍后重试"
    message_en = "The identity verification service is unavailable; please retry later"


def registry_entry_index(blind_index: BlindIndex, name: str, id_number: str) -> str:
    return blind_index.index("registry", f"{id_number}\x1f{name}")


class ReferenceRegistryVerifier:
    """Local stage: demo people seeded as HMACs of (ID number, name) — the data itself is not stored."""

    def __init__(self, store: Store, blind_index: BlindIndex) -> None:
        self._store = store
        self._blind_index = blind_index

    def verify(self, name: str, id_number: str) -> IdentityCheck:
        found = self._store.registry_entry_exists(registry_entry_index(self._blind_index, name, id_number))
        return IdentityCheck(matched=found, method="reference_registry")


class TokenSource(Protocol):
    def token(self, *, fresh: bool = False) -> str:
        """The bearer token; `fresh`: the authority refused the last one, read it again now."""
        ...


class FixedToken:
    """A token given as is (ONETRIP_IDENTITY_VERIFIER_TOKEN): nothing to read again."""

    def __init__(self, token: str) -> None:
        self._value = token

    def token(self, *, fresh: bool = False) -> str:
        return self._value

    def __repr__(self) -> str:
        return "FixedToken(<hidden>)"


# A rotated secret reaches a warm container within this time even if the old token still works.
SECRET_CACHE_SECONDS = 600.0


class SecretToken:
    """The token held in Secrets Manager (ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET, the secret's ARN).

    Read on the first verification (the client is lazy: a cold start builds nothing), then kept for
    `ttl` seconds; read again at once when the authority refuses the token (`fresh`: it was rotated).
    A secret that cannot be read is `identity_service_unavailable`, logged with its error code only."""

    def __init__(self, client: Any, secret_id: str, ttl: float = SECRET_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl
        self._clock = clock
        self._value: str | None = None
        self._read_at = 0.0

    def token(self, *, fresh: bool = False) -> str:
        now = self._clock()
        if fresh or self._value is None or now - self._read_at >= self._ttl:
            self._value, self._read_at = self._read(), now
        return self._value

    def _read(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id)
        except ClientError as exc:
            logger.error("identity_verifier_token_unreadable",
                         extra={"error": exc.response.get("Error", {}).get("Code", "unknown")})
            raise IdentityServiceUnavailable() from None
        except BotoCoreError as exc:
            logger.error("identity_verifier_token_unreadable", extra={"error": type(exc).__name__})
            raise IdentityServiceUnavailable() from None
        value = answer.get("SecretString")
        if not isinstance(value, str) or not value.strip():
            logger.error("identity_verifier_token_unreadable", extra={"error": "no SecretString"})
            raise IdentityServiceUnavailable()
        return value.strip()

    def __repr__(self) -> str:
        return f"SecretToken({self._secret_id!r})"


class _TokenRefused(Exception):
    """The authority answered 401: the token is no longer (or not yet) the one it accepts."""


class HttpsIdentityVerifier:
    """The authority's service over TLS, verified against `ca_bundle` (a PEM file) when given — a
    government CA is often not in the public store — else the system's trust store. Any failure
    (refused certificate, timeout, non-2xx, malformed answer) is `identity_service_unavailable`:
    never a guess at "no match". A 401 is the token's rotation showing: the source reads the token
    again and, if it changed, the request is sent once more with it."""

    def __init__(self, url: str, token: TokenSource | str, timeout: float = 10.0, ca_bundle: str = "") -> None:
        # Not configured at all: only real-name verification fails (below), not every function that
        # builds its dependencies. Configured without TLS: refused outright.
        if url and not url.startswith("https://"):
            raise ValueError("the identity verification service must be reached over https")
        self._url = url
        self._token_source: TokenSource = FixedToken(token) if isinstance(token, str) else token
        self._timeout = timeout
        self._ca_bundle = ca_bundle
        self._tls: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        # Built on first use (loading the trust store costs milliseconds): only the API's identity route pays.
        if self._tls is None:
            context = ssl.create_default_context(cafile=self._ca_bundle or None)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls = context
        return self._tls

    def verify(self, name: str, id_number: str) -> IdentityCheck:
        if not self._url:
            logger.error("identity_verifier_not_configured")  # ONETRIP_IDENTITY_VERIFIER_URL is empty
            raise IdentityServiceUnavailable()
        body = json.dumps({"name": name, "id_number": id_number}).encode()
        token = self._token_source.token()
        try:
            answer = self._post(body, token)
        except _TokenRefused:
            renewed = self._token_source.token(fresh=True)
            if renewed == token:  # the same token again would be refused again
                logger.error("identity_verifier_token_refused")
                raise IdentityServiceUnavailable() from None
            try:
                answer = self._post(body, renewed)
            except _TokenRefused:
                logger.error("identity_verifier_token_refused")
                raise IdentityServiceUnavailable() from None
        if not isinstance(answer, dict) or not isinstance(answer.get("matched"), bool):
            raise IdentityServiceUnavailable()
        return IdentityCheck(matched=answer["matched"], method="authority_service")

    def _post(self, body: bytes, token: str) -> Any:
        # Imported here: only the identity route needs an HTTP client, and urllib.request costs every
        # other function's first response ~8 ms.
        import urllib.error
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - https enforced in __init__
            self._url, method="POST", data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context()) as resp:  # noqa: S310
                return json.loads(resp.read(64 * 1024))
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 401:
                raise _TokenRefused() from None
            raise IdentityServiceUnavailable() from None
        except (urllib.error.URLError, OSError, ValueError):
            # Raised clean (from None): the chained exception could carry the request to a log.
            raise IdentityServiceUnavailable() from None
