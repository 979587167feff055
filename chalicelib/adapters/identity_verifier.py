"""Identity verifier adapters (实名认证): the authority's HTTPS service, and for the local stage a
reference registry of demo people.

Neither logs nor echoes what it checks. The HTTPS contract is deliberately small — `POST {name,
id_number}` with a bearer token, answer `{"matched": bool}` — so a thin gateway can front whichever
national or provincial service a deployment is allowed to use.
"""

from __future__ import annotations

import json
import ssl

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


class HttpsIdentityVerifier:
    """The authority's service over TLS, verified against `ca_bundle` (a PEM file) when given — a
    government CA is often not in the public store — else the system's trust store. Any failure
    (refused certificate, timeout, non-2xx, malformed answer) is `identity_service_unavailable`:
    never a guess at "no match"."""

    def __init__(self, url: str, token: str, timeout: float = 10.0, ca_bundle: str = "") -> None:
        # Not configured at all: only real-name verification fails (below), not every function that
        # builds its dependencies. Configured without TLS: refused outright.
        if url and not url.startswith("https://"):
            raise ValueError("the identity verification service must be reached over https")
        self._url = url
        self._token = token
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
        # Imported here: only the identity route needs an HTTP client, and urllib.request costs every
        # other function's first response ~8 ms.
        import urllib.error
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - https enforced in __init__
            self._url, method="POST", data=json.dumps({"name": name, "id_number": id_number}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context()) as resp:  # noqa: S310
                answer = json.loads(resp.read(64 * 1024))
        except (urllib.error.URLError, OSError, ValueError):
            # Raised clean (from None): the chained exception could carry the request to a log.
            raise IdentityServiceUnavailable() from None
        if not isinstance(answer, dict) or not isinstance(answer.get("matched"), bool):
            raise IdentityServiceUnavailable()
        return IdentityCheck(matched=answer["matched"], method="authority_service")
