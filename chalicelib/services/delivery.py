"""Delivery of queued webhooks: claim the attempt, sign (Standard Webhooks v1/v1a), POST, and decide
what the answer means.

At-least-once without doubled work: attempt n of a `webhook-id` is claimed in the store before the
request, so a duplicate queue message finds it claimed (and looks again after a lease, in case the
claimer died). A failed attempt schedules the next one by the backoff schedule with jitter — on the
queue with a delay when SQS can hold it (≤ 15 min), else as a due-time record that the scheduled
sweep re-queues — and is recorded in the delivery log. The last failure makes the delivery `dead`
(the dead-letter store) and tells the department's contact and the admins. A per-endpoint circuit
breaker defers attempts to an endpoint that keeps failing, so it costs the others nothing.

A batch never outlives its function: an attempt starts only if it can end (its timeout, shortened to
what is left, plus the writes after it) before the Lambda context's deadline; the others go back to the
queue unstarted. A delivered webhook costs three table requests: one read, the claim, the outcome.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..config import Settings
from ..domain.deliveries import (
    Delivery,
    DeliveryAttempt,
    DeliveryMessage,
    DeliveryStatus,
    EndpointHealth,
    Verdict,
    error_class,
    parse_time,
    retry_delay,
    verdict,
)
from ..domain.departments import Endpoint, EndpointState
from ..domain.errors import ConcurrentUpdate
from ..domain.webhooks import webhook_headers
from ..observability import logger
from ..ports import OutboundMessage
from .deps import Deps


@dataclass(frozen=True)
class DeliveryResult:
    # delivered | duplicate | stale | dropped | failed_permanently | retry_scheduled | dead | deferred | busy
    outcome: str
    status: int | None = None
    retry_in: int | None = None
    error: str | None = None
    attempt: int | None = None

    @property
    def should_retry(self) -> bool:
        """Keep this queue message (it comes back after `retry_in`): another worker holds the attempt,
        or the batch had no time left to start it."""
        return self.outcome in ("busy", "unstarted")


@dataclass(frozen=True)
class BatchBudget:
    """What one `deliver` invocation may still spend (from the Lambda context's remaining time)."""

    deadline: float  # time.monotonic() by which every attempt and its writes are done
    reserve: float  # kept for the claim before the request and the writes after it
    min_attempt: float  # an attempt that would get less time than this is not started

    @classmethod
    def of(cls, settings: Settings, remaining_ms: float) -> BatchBudget:
        return cls(time.monotonic() + remaining_ms / 1000, settings.delivery_batch_reserve_seconds,
                   settings.delivery_min_attempt_seconds)

    def attempt_timeout(self, configured: float) -> float | None:
        """The HTTP timeout an attempt starting now gets — the configured one, or what is left —
        or None when too little is left to start one."""
        left = self.deadline - time.monotonic() - self.reserve
        if left < min(self.min_attempt, configured):
            return None
        return min(configured, left)


# Decrypted signing material per ciphertext, for the life of a warm container (a KMS call per attempt
# would dominate a batch). Bounded; ciphertexts of rotated-out secrets simply age out.
_SECRET_CACHE: dict[tuple[str, str], str] = {}
_SECRET_CACHE_MAX = 512
_cache_lock = threading.Lock()


def _plaintext(deps: Deps, ciphertext: str, endpoint_id: str) -> str:
    key = (endpoint_id, ciphertext)
    with _cache_lock:
        cached = _SECRET_CACHE.get(key)
    if cached is not None:
        return cached
    value = deps.cipher.decrypt(ciphertext, {"endpoint": endpoint_id})
    with _cache_lock:
        if len(_SECRET_CACHE) >= _SECRET_CACHE_MAX:
            _SECRET_CACHE.clear()
        _SECRET_CACHE[key] = value
    return value


def signed_headers(deps: Deps, endpoint: Endpoint, wid: str, body: bytes, now: datetime) -> dict[str, str]:
    """Headers of one attempt: a v1 signature per secret still signing, plus v1a when configured."""
    secrets = [_plaintext(deps, c, endpoint.id) for c in endpoint.signing_ciphertexts(now)]
    keys = [_plaintext(deps, endpoint.ed25519_ciphertext, endpoint.id)] if endpoint.ed25519_ciphertext else []
    return webhook_headers(secrets, wid, int(now.timestamp()), body, keys)


def _iso(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds")


def schedule(deps: Deps, message: DeliveryMessage, delay: int, now: datetime) -> None:
    """Durably arrange for `message` to come back in `delay` seconds — never by sleeping."""
    outbound = OutboundMessage(id=message.webhook_id, body=message.model_dump_json(), delay_seconds=max(0, delay))
    if delay <= deps.settings.delivery_max_queue_delay:
        deps.queue.send([outbound])
    else:
        deps.store.put_due(OutboundMessage(id=f"{message.webhook_id}#{message.generation}#{message.attempt}",
                                           body=outbound.body), now + timedelta(seconds=delay))


def notify(deps: Deps, kind: str, delivery: Delivery, **detail: Any) -> None:
    info = {"webhook_id": delivery.webhook_id, "endpoint_id": delivery.endpoint_id,
            "event_type": delivery.event_type, "event_id": delivery.event_id, "attempts": delivery.attempt,
            "last_status": delivery.last_status, "last_error": delivery.last_error, **detail}
    logger.warning(kind, extra={"department": delivery.department, **info})
    if deps.notifier is not None:
        deps.notifier.notify(kind, delivery.department,
                             f"OneTrip {kind.replace('_', ' ')}: {delivery.event_type} to {delivery.department}",
                             info)


def deliver(deps: Deps, message_body: str, receive_count: int = 1, *,
            lane: EndpointLane | None = None, budget: BatchBudget | None = None) -> DeliveryResult:
    """One queue message: at most one HTTP attempt, its record, and the next step arranged.

    Three table requests when it is delivered: one BatchGetItem (state, endpoint, circuit), the
    conditional claim, the outcome with its log entry. `lane` is the endpoint inside its batch (it
    bounds the requests in flight, held for the claim and the POST only, and knows the circuit as the
    batch's own attempts left it); `budget` is what the batch's function has left.
    """
    msg = DeliveryMessage.model_validate_json(message_body)
    now = deps.now()
    state, endpoint, health = deps.store.get_delivery_context(msg.webhook_id, msg.department, msg.endpoint_id)
    if state is not None:
        if msg.generation < state.generation:
            return DeliveryResult("stale", attempt=msg.attempt)
        if state.finished and msg.generation == state.generation:
            return DeliveryResult("duplicate", attempt=msg.attempt)
        if msg.generation == state.generation and state.attempt > msg.attempt:
            return DeliveryResult("stale", attempt=msg.attempt)
        if msg.generation == state.generation and state.attempt == msg.attempt:
            if state.status is not DeliveryStatus.IN_FLIGHT:
                return DeliveryResult("duplicate", attempt=msg.attempt)  # made already; the next is scheduled
            claimed_time = parse_time(state.claimed_at) if state.claimed_at else now
            lease = deps.settings.delivery_claim_lease_seconds
            if now - claimed_time < timedelta(seconds=lease):
                return DeliveryResult("busy", retry_in=lease, attempt=msg.attempt)
            logger.warning("delivery_claim_taken_over", extra={"webhook_id": msg.webhook_id, "attempt": msg.attempt})

    if endpoint is None or endpoint.state is not EndpointState.ACTIVE:
        base = state or _new_state(msg, now)
        _save(deps, base.model_copy(update={"status": DeliveryStatus.DROPPED, "updated_at": _iso(now),
                                            "last_error": "endpoint_inactive"}), state)
        return DeliveryResult("dropped", attempt=msg.attempt)

    health = health or EndpointHealth(endpoint_id=endpoint.id)
    if health.is_open(now):
        return _defer(deps, msg, health, now)

    lane = lane or EndpointLane(1)
    with lane:
        health = lane.latest(health)  # attempts of this batch that went first may have opened it
        if health.is_open(deps.now()):
            return _defer(deps, msg, health, deps.now())
        timeout: float | None = None
        if budget is not None:
            timeout = budget.attempt_timeout(deps.settings.delivery_timeout_seconds)
            if timeout is None:  # it could not end before the function does: the next batch makes it
                return DeliveryResult("unstarted", retry_in=1, error="batch_time_budget", attempt=msg.attempt)
        now = deps.now()  # waiting for the lane took time
        claim = (state or _new_state(msg, now)).model_copy(update={
            "status": DeliveryStatus.IN_FLIGHT, "attempt": msg.attempt, "generation": msg.generation,
            "claimed_at": _iso(now), "updated_at": _iso(now), "next_attempt_at": None})
        try:
            claimed = deps.store.save_delivery(claim, state.version if state else None)
        except ConcurrentUpdate:
            return DeliveryResult("busy", retry_in=5, attempt=msg.attempt)

        body = msg.payload.encode()
        headers = signed_headers(deps, endpoint, msg.webhook_id, body, now)
        if timeout is not None and timeout < deps.settings.delivery_timeout_seconds:
            result = deps.webhooks.send(endpoint.url, headers, body, timeout=timeout)
        else:
            result = deps.webhooks.send(endpoint.url, headers, body)
        finished = deps.now()
        meaning = verdict(result.status, result.error, result.permanent)
        lane.record(deps, meaning, finished, health)  # before the next message of this endpoint goes
    latency = getattr(result, "elapsed_ms", None)
    if latency is None:
        latency = int((finished - now).total_seconds() * 1000)
    update: dict[str, Any] = {"last_status": result.status, "last_error": error_class(result.status, result.error),
                              "updated_at": _iso(finished), "claimed_at": None}
    outcome: str
    retry_in = None
    if meaning is Verdict.DELIVERED:
        update["status"], outcome = DeliveryStatus.DELIVERED, "delivered"
    elif meaning in (Verdict.GONE, Verdict.PERMANENT):
        update["status"], outcome = DeliveryStatus.FAILED_PERMANENTLY, "failed_permanently"
    else:
        retry_in = retry_delay(msg.attempt, deps.settings.delivery_backoff, deps.settings.delivery_jitter,
                               result.retry_after)
        if retry_in is None:
            update["status"], outcome = DeliveryStatus.DEAD, "dead"
        else:
            schedule(deps, msg.next(attempt=msg.attempt + 1), retry_in, finished)
            update.update(status=DeliveryStatus.RETRYING,
                          next_attempt_at=_iso(finished + timedelta(seconds=retry_in)))
            outcome = "retry_scheduled"
    logged = DeliveryAttempt(
        webhook_id=msg.webhook_id, generation=msg.generation, attempt=msg.attempt, started_at=_iso(now),
        latency_ms=latency, http_status=result.status, error_class=update["last_error"],
        outcome="gone" if meaning is Verdict.GONE else outcome)
    outcome_state = claimed.model_copy(update=update)
    with_log = outcome_state.logged(logged)
    if with_log is None:  # the record's log is full: this attempt is logged on its own
        deps.store.add_delivery_attempt(logged)
    final = _save(deps, with_log or outcome_state, claimed, logged if with_log is not None else None)
    if meaning is Verdict.GONE:
        deps.store.put_endpoint(endpoint.model_copy(update={"state": EndpointState.DISABLED,
                                                            "disabled_reason": "410 Gone"}))
        notify(deps, "endpoint_disabled", final, reason="410 Gone", url_host=_host(endpoint.url))
    elif outcome in ("dead", "failed_permanently"):
        notify(deps, "delivery_exhausted" if outcome == "dead" else "delivery_failed", final)
    return DeliveryResult(outcome, result.status, retry_in, result.error, msg.attempt)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def _new_state(msg: DeliveryMessage, now: datetime) -> Delivery:
    return Delivery(webhook_id=msg.webhook_id, department=msg.department, endpoint_id=msg.endpoint_id,
                    event_type=msg.event_type, event_id=msg.event_id, item_code=msg.item_code,
                    status=DeliveryStatus.IN_FLIGHT, generation=msg.generation, created_at=_iso(now),
                    updated_at=_iso(now), payload=msg.payload)


def _save(deps: Deps, delivery: Delivery, previous: Delivery | None,
          attempt: DeliveryAttempt | None = None) -> Delivery:
    try:
        return deps.store.save_delivery(delivery, previous.version if previous else None)
    except ConcurrentUpdate:
        # Someone took the attempt over after our lease ran out; their record stands, the log keeps ours.
        logger.warning("delivery_state_superseded", extra={"webhook_id": delivery.webhook_id})
        if attempt is not None:
            deps.store.add_delivery_attempt(attempt)
        return delivery


def _defer(deps: Deps, msg: DeliveryMessage, health: EndpointHealth, now: datetime) -> DeliveryResult:
    """The circuit is open: the same attempt, later, without a request."""
    assert health.open_until is not None
    wait = max(1, int((parse_time(health.open_until) - now).total_seconds()) + 1)
    wait = retry_delay(1, (wait,), deps.settings.delivery_jitter / 2, None) or wait
    schedule(deps, msg, wait, now)
    return DeliveryResult("deferred", retry_in=wait, error="circuit_open", attempt=msg.attempt)


class EndpointLane:
    """One endpoint inside one `deliver` batch: at most `parallelism` requests in flight to it, and its
    circuit breaker as this batch's attempts changed it (their messages were all read at the start, so
    without this a batch of ten to a dead endpoint would try all ten instead of opening the circuit)."""

    def __init__(self, parallelism: int) -> None:
        self._slots = threading.Semaphore(parallelism)
        self._lock = threading.Lock()
        self._health: EndpointHealth | None = None

    def __enter__(self) -> EndpointLane:
        self._slots.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._slots.release()

    def latest(self, read: EndpointHealth) -> EndpointHealth:
        with self._lock:
            return self._health or read

    def record(self, deps: Deps, meaning: Verdict, now: datetime, read: EndpointHealth | None = None) -> None:
        """Count a failure or a recovery on the endpoint's circuit (the batch's attempts one at a time)."""
        with self._lock:
            health = self._health or read
            if health is None:
                return
            if meaning is Verdict.RETRY:
                health = health.after_failure(now, deps.settings.breaker_threshold,
                                              deps.settings.breaker_cooldown_seconds)
            elif health.consecutive_failures or health.open_until:
                health = health.after_success(now)
            else:
                return
            deps.store.put_endpoint_health(health)
            self._health = health


def deliver_batch(deps: Deps, bodies: list[str], one: Callable[[Deps, str], DeliveryResult] | None = None,
                  budget: BatchBudget | None = None) -> list[DeliveryResult | BaseException]:
    """A batch of queue messages, in parallel: reads and writes of every message at once, requests to
    one endpoint at most `endpoint_parallelism` at a time (an endpoint that hangs until the timeout
    holds up only its own messages). With a `budget`, no attempt starts that could outlive the
    function; those messages come back as `unstarted`."""
    endpoint_of = [_endpoint_key(b) for b in bodies]
    lanes = {key: EndpointLane(deps.settings.endpoint_parallelism) for key in set(endpoint_of)}

    def job(index: int) -> DeliveryResult | BaseException:
        lane, body = lanes[endpoint_of[index]], bodies[index]
        if one is not None:
            with lane:
                return _guard(one, deps, body)
        return _guard(lambda d, b: deliver(d, b, lane=lane, budget=budget), deps, body)

    if len(bodies) <= 1:
        return [job(i) for i in range(len(bodies))]
    with ThreadPoolExecutor(max_workers=min(len(bodies), 16), thread_name_prefix="deliver") as pool:
        return list(pool.map(job, range(len(bodies))))


def _guard(run: Callable[[Deps, str], DeliveryResult], deps: Deps, body: str) -> DeliveryResult | BaseException:
    try:
        return run(deps, body)
    except Exception as exc:  # one bad message must not fail its batch-mates
        logger.exception("delivery_failed_unexpectedly")
        return exc


def _endpoint_key(body: str) -> str:
    try:
        return DeliveryMessage.model_validate_json(body).endpoint_id
    except ValueError:
        return ""
