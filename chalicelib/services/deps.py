"""What every use case may use, passed in explicitly (built by `chalicelib.bootstrap`, faked in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..config import Settings
from ..domain.errors import ConcurrentUpdate
from ..ports import (
    AlertSubscriptions,
    ApplicantNotifier,
    BlindIndex,
    Cipher,
    ContentInspector,
    DeliveryQueue,
    FileStore,
    IdentityVerifier,
    Notifier,
    Store,
    UserDirectory,
    WebhookTransport,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    store: Store
    files: FileStore
    cipher: Cipher
    queue: DeliveryQueue
    webhooks: WebhookTransport
    now: Callable[[], datetime] = utc_now
    # Identity collaborators: only the identity use cases need them, so they are optional here and
    # checked where used (`require`), keeping every other use case's wiring small.
    blind_index: BlindIndex | None = None
    identity_verifier: IdentityVerifier | None = None
    directory: UserDirectory | None = None
    # The content checks of uploaded files under their budget: only the verifier uses it.
    inspector: ContentInspector | None = None
    # Who is told about exhausted deliveries (SNS); None: the log line is the only trace.
    notifier: Notifier | None = None
    # Departments' contacts subscribed to those alerts (SNS filter policies); None: no alert topic.
    alert_subscriptions: AlertSubscriptions | None = None
    # Sends applicants their case notifications (SNS); None: they are recorded only (the local stage).
    applicant_notifier: ApplicantNotifier | None = None

    def require(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"{name} is not configured in this deployment")
        return value


T = TypeVar("T")

# A conditional write that loses a race is re-read and re-decided; a handful of rounds is plenty
# for the contention one case sees (a few departments deciding at once).
_OPTIMISTIC_ROUNDS = 8


def retry_on_conflict(attempt: Callable[[], T]) -> T:
    for _ in range(_OPTIMISTIC_ROUNDS - 1):
        try:
            return attempt()
        except ConcurrentUpdate:
            continue
    return attempt()
