"""Composition root: builds the use cases' dependencies from settings and adapters, once, lazily.

Tests call `override(...)` to swap in fakes or a moto-backed set; nothing here runs at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .config import Settings, get_settings

if TYPE_CHECKING:
    from .adapters.jwt_verifier import IssuerRouter, JwtVerifier
    from .adapters.sandbox import SandboxedInspector
    from .domain.file_checks import ContentLimits, Finding
    from .services.deps import Deps

_deps: Deps | None = None
_verifier: JwtVerifier | IssuerRouter | None = None


def deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = build_deps(get_settings())
    return _deps


def verifier() -> JwtVerifier | IssuerRouter:
    """The token verifier: one per configured issuer (ONETRIP_ISSUER and ONETRIP_JWKS_URL are paired
    comma-separated lists)."""
    global _verifier
    if _verifier is None:
        from .adapters.jwt_verifier import IssuerRouter, JwtVerifier

        settings = get_settings()
        issuers = [i.strip() for i in settings.issuer.split(",") if i.strip()]
        urls = [u.strip() for u in settings.jwks_url.split(",") if u.strip()]
        if len(issuers) != len(urls):
            raise RuntimeError("ONETRIP_ISSUER and ONETRIP_JWKS_URL must list the same number of entries")
        if not settings.is_local and not all(u.startswith("https://") for u in urls):
            # moto's signing key is public: a deployed stage only trusts a real issuer over TLS.
            raise RuntimeError("deployed stages need https JWKS URLs")
        verifiers = [JwtVerifier(u, i, settings.audiences) for i, u in zip(issuers, urls, strict=True)]
        _verifier = verifiers[0] if len(verifiers) == 1 else IssuerRouter(verifiers)
    return _verifier


def override(new_deps: Deps | None = None, new_verifier: JwtVerifier | IssuerRouter | None = None) -> None:
    global _deps, _verifier
    _deps, _verifier = new_deps, new_verifier


def build_deps(settings: Settings, make_client: Callable[[str], Any] | None = None) -> Deps:
    """The production wiring; `make_client` lets admin tools and tests aim it at another endpoint."""
    from .adapters import aws
    from .adapters.cognito import CognitoDirectory
    from .adapters.dynamodb import DynamoStore
    from .adapters.identity_verifier import HttpsIdentityVerifier, ReferenceRegistryVerifier
    from .adapters.kms import KmsBlindIndex, KmsCipher
    from .adapters.s3 import S3FileStore
    from .adapters.sqs import SqsDeliveryQueue
    from .services.deps import Deps

    build = make_client or aws.client

    def client(service: str) -> Any:
        # Each adapter's client is built on its first call: a function's first response pays only for
        # the clients it uses (building a boto3 client loads its service model: ~30–150 ms each).
        return _LazyClient(lambda: build(service))

    store = DynamoStore(client("dynamodb"), settings.table_name)
    blind_index = KmsBlindIndex(client("kms"), settings.blind_index_key_id)
    verifier: Any
    if settings.identity_verifier == "https":
        verifier = HttpsIdentityVerifier(settings.identity_verifier_url, _identity_token(settings, client),
                                         ca_bundle=settings.identity_verifier_ca_bundle)
    else:
        verifier = ReferenceRegistryVerifier(store, blind_index)
    return Deps(
        settings=settings,
        store=store,
        files=S3FileStore(client("s3"), settings.bucket_name, settings.kms_key_id),
        cipher=KmsCipher(client("kms"), settings.kms_key_id),
        queue=SqsDeliveryQueue(client("sqs"), settings.delivery_queue_url),
        webhooks=_LazySender(settings.allow_loopback_webhooks, settings.delivery_timeout_seconds),
        blind_index=blind_index,
        identity_verifier=verifier,
        directory=CognitoDirectory(lambda: client("cognito-idp"), settings.user_pool_id),
        inspector=_LazyInspector(),
        notifier=_notifier(settings, client),
        alert_subscriptions=_alert_subscriptions(settings, client),
        applicant_notifier=_applicant_notifier(settings, client),
    )


def _identity_token(settings: Settings, client: Callable[[str], Any]) -> Any:
    """Deployed stages read the verifier's token from Secrets Manager (on the first verification, not
    before); local runs and tests give it as is."""
    from .adapters.identity_verifier import FixedToken, SecretToken

    if settings.identity_verifier_token_secret:
        return SecretToken(client("secretsmanager"), settings.identity_verifier_token_secret)
    return FixedToken(settings.identity_verifier_token)


def _alert_subscriptions(settings: Settings, client: Callable[[str], Any]) -> Any:
    if not settings.alerts_topic_arn:
        return None
    from .adapters.sns_subscriptions import SnsAlertSubscriptions

    return SnsAlertSubscriptions(client("sns"), settings.alerts_topic_arn)


def _notifier(settings: Settings, client: Callable[[str], Any]) -> Any:
    if not settings.alerts_topic_arn:
        return None
    from .adapters.sns import SnsNotifier

    return SnsNotifier(client("sns"), settings.alerts_topic_arn)


def _applicant_notifier(settings: Settings, client: Callable[[str], Any]) -> Any:
    if not settings.applicant_topic_arn:
        return None
    from .adapters.sns import SnsApplicantNotifier

    return SnsApplicantNotifier(client("sns"), settings.applicant_topic_arn)


class _LazyClient:
    """Stands for a boto3 client and builds it on first attribute access."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._build()
        return getattr(self._client, name)


class _LazyInspector:
    """Imports the file-check sandbox (fork, rlimits, ctypes: ~3 ms) only in the function that checks files."""

    def __init__(self) -> None:
        self._inspector: SandboxedInspector | None = None

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        if self._inspector is None:
            from .adapters.sandbox import SandboxedInspector

            self._inspector = SandboxedInspector()
        return self._inspector.inspect(kind, data, limits)


class _LazySender:
    """Builds the HTTP sender (and its TLS context) only in the function that delivers webhooks."""

    def __init__(self, allow_loopback: bool, timeout: float = 15.0) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._sender: object | None = None

    def _get(self):  # type: ignore[no-untyped-def]
        if self._sender is None:
            from .adapters.webhook_sender import WebhookSender

            self._sender = WebhookSender(allow_loopback=self._allow_loopback, timeout=self._timeout)
        return self._sender

    def send(self, url, headers, body, timeout=None):  # type: ignore[no-untyped-def]
        return self._get().send(url, headers, body, timeout=timeout)

    def check_url(self, url):  # type: ignore[no-untyped-def]
        return self._get().check_url(url)
