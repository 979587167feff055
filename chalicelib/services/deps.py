"""What every use case may use, passed in explicitly (built by `chalicelib.bootstrap`, faked in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from ..config import Settings
from ..domain.errors import ConcurrentUpdate
from ..ports import Cipher, DeliveryQueue, FileStore, Store, WebhookTransport


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
