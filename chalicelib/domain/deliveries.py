"""Deliveries (投递): the life of one webhook (one event to one endpoint) and of each attempt.

A delivery is identified by its `webhook-id`, stable for life and across replays (the receiver's
idempotency key). Attempts are numbered; attempt n is *claimed* in the store before it is made, so
two copies of one queue message never both make it (the loser waits a lease and looks again; if the
claimer died, it takes over). Each failed attempt schedules the next by the backoff schedule with
jitter, honouring `Retry-After`; after the last one the delivery is `dead` (the dead-letter store).
A replay starts a new generation of attempts under the same `webhook-id`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DeliveryStatus(StrEnum):
    IN_FLIGHT = "in_flight"  # attempt `attempt` claimed, no answer recorded yet
    RETRYING = "retrying"  # attempt `attempt` failed; the next is scheduled at `next_attempt_at`
    DELIVERED = "delivered"
    FAILED_PERMANENTLY = "failed_permanently"  # a 3xx or 4xx answer, or a refused URL
    DROPPED = "dropped"  # the endpoint is gone, pending or disabled
    DEAD = "dead"  # every scheduled attempt failed: in the dead-letter store, people told


FINISHED = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED_PERMANENTLY, DeliveryStatus.DROPPED,
                      DeliveryStatus.DEAD})
STATUS_VALUES = tuple(s.value for s in DeliveryStatus)

# SQS limits: a message can be delayed at most 15 minutes; longer waits go to the due-time store.
SQS_MAX_DELAY_SECONDS = 900
MAX_RETRY_AFTER_SECONDS = 86400
# Retries due later than SQS can delay wait in this many due-time partitions, swept every minute.
DUE_SHARDS = 4


class DeliveryMessage(BaseModel, defer_build=True):
    """The body of one delivery queue message (built once by `dispatch`, carried through retries)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    webhook_id: str
    department: str
    endpoint_id: str
    event_type: str
    payload: str  # the CloudEvent JSON: the same bytes on every attempt
    event_id: str | None = None
    item_code: str | None = None
    attempt: int = 1
    generation: int = 0

    def next(self, **changes: Any) -> DeliveryMessage:
        return self.model_copy(update=changes)


class DeliveryAttempt(BaseModel, defer_build=True):
    """One attempt, as the delivery log shows it: when, how long, what came back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_id: str
    generation: int
    attempt: int
    started_at: str
    latency_ms: int | None
    http_status: int | None
    error_class: str | None  # timeout, connection_error, redirect_not_followed, http_5xx, circuit_open, ...
    outcome: str  # delivered | retry | failed_permanently | dead | gone


# A delivery carries its attempt log; ten generations (replays) failing in full fill it to this, far
# below DynamoDB's 400 KB item limit. Later attempts are logged on their own (Store.add_delivery_attempt).
ATTEMPTS_IN_RECORD = 100


class Delivery(BaseModel, defer_build=True):
    """The state record of one webhook (`DLV#<webhook-id>`), read by the department and admins, with the
    log of its attempts: an attempt's outcome and its log entry are one write."""

    model_config = ConfigDict(extra="forbid")

    webhook_id: str
    department: str
    endpoint_id: str
    event_type: str
    event_id: str | None = None
    item_code: str | None = None
    status: DeliveryStatus
    attempt: int = 0  # attempts made (or claimed) in this generation
    generation: int = 0
    created_at: str
    updated_at: str
    claimed_at: str | None = None
    next_attempt_at: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    payload: str = Field(repr=False)
    version: int = 0
    attempts: tuple[DeliveryAttempt, ...] = Field(default=(), repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def logged(self, attempt: DeliveryAttempt) -> Delivery | None:
        """This delivery with `attempt` in its log, or None when the record's log is full."""
        if len(self.attempts) >= ATTEMPTS_IN_RECORD:
            return None
        return self.model_copy(update={"attempts": (*self.attempts, attempt)})

    def message(self) -> DeliveryMessage:
        return DeliveryMessage(webhook_id=self.webhook_id, department=self.department,
                               endpoint_id=self.endpoint_id, event_type=self.event_type, payload=self.payload,
                               event_id=self.event_id, item_code=self.item_code, attempt=self.attempt + 1,
                               generation=self.generation)

    def summary(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"payload", "version", "claimed_at", "attempts"})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"
    GONE = "gone"


def verdict(status: int | None, error: str | None, permanent: bool) -> Verdict:
    """What an answer means: 2xx delivered; 410 disables; 3xx and other 4xx are permanent; the rest
    (network errors, timeouts, 408/409/429, 5xx) is retried."""
    if status is not None and 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.GONE
    return Verdict.PERMANENT if permanent else Verdict.RETRY


def error_class(status: int | None, error: str | None) -> str | None:
    if error:
        return error
    if status is None or 200 <= status < 300:
        return None
    return f"http_{status // 100}xx" if status not in (408, 409, 410, 429) else f"http_{status}"


def retry_delay(attempt: int, schedule: tuple[int, ...], jitter: float, retry_after: int | None,
                rng: random.Random | None = None) -> int | None:
    """Seconds until attempt `attempt + 1`, or None when `attempt` was the last one.

    The n-th retry waits schedule[n-1] ± `jitter` (a fraction), so retries of many deliveries that
    failed together do not arrive together; a longer `Retry-After` wins, up to one day.
    """
    if attempt < 1 or attempt > len(schedule):
        return None
    base = schedule[attempt - 1]
    spread = base * jitter
    delay = base + (rng or random).uniform(-spread, spread) if spread else float(base)
    if retry_after is not None:
        delay = max(delay, float(min(retry_after, MAX_RETRY_AFTER_SECONDS)))
    return max(0, round(delay))


class EndpointHealth(BaseModel, defer_build=True):
    """The circuit breaker of one endpoint: after `threshold` failures in a row it opens for a
    cool-down, during which attempts are deferred without a request (a dead endpoint costs the
    others nothing); the first attempt after the cool-down is the probe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint_id: str
    consecutive_failures: int = 0
    open_until: str | None = None
    updated_at: str | None = None

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and self.open_until > now.isoformat()

    def after_failure(self, now: datetime, threshold: int, cooldown_seconds: int) -> EndpointHealth:
        failures = self.consecutive_failures + 1
        open_until = (now + timedelta(seconds=cooldown_seconds)).isoformat() if failures >= threshold else None
        return self.model_copy(update={"consecutive_failures": failures, "open_until": open_until,
                                       "updated_at": now.isoformat()})

    def after_success(self, now: datetime) -> EndpointHealth:
        return self.model_copy(update={"consecutive_failures": 0, "open_until": None, "updated_at": now.isoformat()})


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
