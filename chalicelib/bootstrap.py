"""Composition root: builds the use cases' dependencies from settings and adapters, once, lazily.

Tests call `override(...)` to swap in fakes or a moto-backed set; nothing here runs at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .config import Settings, get_settings

if TYPE_CHECKING:
    from .adapters.jwt_verifier import JwtVerifier
    from .services.deps import Deps

_deps: Deps | None = None
_verifier: JwtVerifier | None = None


def deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = build_deps(get_settings())
    return _deps


def verifier() -> JwtVerifier:
    global _verifier
    if _verifier is None:
        from .adapters.jwt_verifier import JwtVerifier

        settings = get_settings()
        if not settings.is_local and not settings.jwks_url.startswith("https://"):
            # moto's signing key is public: a deployed stage only trusts a real issuer over TLS.
            raise RuntimeError("deployed stages need an https JWKS URL")
        _verifier = JwtVerifier(settings.jwks_url, settings.issuer, settings.audiences)
    return _verifier


def override(new_deps: Deps | None = None, new_verifier: JwtVerifier | None = None) -> None:
    global _deps, _verifier
    _deps, _verifier = new_deps, new_verifier


def build_deps(settings: Settings, make_client: Callable[[str], Any] | None = None) -> Deps:
    """The production wiring; `make_client` lets admin tools and tests aim it at another endpoint."""
    from .adapters import aws
    from .adapters.dynamodb import DynamoStore
    from .adapters.kms import KmsCipher
    from .adapters.s3 import S3FileStore
    from .adapters.sqs import SqsDeliveryQueue
    from .services.deps import Deps

    client = make_client or aws.client
    return Deps(
        settings=settings,
        store=DynamoStore(client("dynamodb"), settings.table_name),
        files=S3FileStore(client("s3"), settings.bucket_name, settings.kms_key_id),
        cipher=KmsCipher(client("kms"), settings.kms_key_id),
        queue=SqsDeliveryQueue(client("sqs"), settings.delivery_queue_url),
        webhooks=_LazySender(settings.allow_loopback_webhooks),
    )


class _LazySender:
    """Builds the HTTP sender (and its TLS context) only in the function that delivers webhooks."""

    def __init__(self, allow_loopback: bool) -> None:
        self._allow_loopback = allow_loopback
        self._sender: object | None = None

    def _get(self):  # type: ignore[no-untyped-def]
        if self._sender is None:
            from .adapters.webhook_sender import WebhookSender

            self._sender = WebhookSender(allow_loopback=self._allow_loopback)
        return self._sender

    def send(self, url, headers, body):  # type: ignore[no-untyped-def]
        return self._get().send(url, headers, body)

    def check_url(self, url):  # type: ignore[no-untyped-def]
        return self._get().check_url(url)
