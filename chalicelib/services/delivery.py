"""Delivery of queued webhooks: claim the attempt, sign (Standard Webhooks v1/v1a), POST, and decide
what the answer means.

At-least-once without doubled work: attempt n of a `webhook-id` is claimed in the store before the
request, so a duplicate queue message finds it claimed (and looks again after a lease, in case the
claimer died). A failed attempt schedules the next one by the backoff schedule with jitter — on the
queue with a delay when SQS can hold it (≤ 15 min), else as a due-time record that the scheduled
sweep re-queues — and is recorded in the delivery log. The last failure makes the delivery `dead`
(the dead-letter store) and tells the department's contact and the admins. A per-endpoint circuit
breaker defers attempts to an endpoint that keeps failing, so it costs the others nothing.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
        """Keep this queue message (it comes back after `retry_in`): another worker holds the attempt."""
        return self.outcome == "busy"


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


def deliver(deps: Deps, message_body: str, receive_count: int = 1) -> DeliveryResult:
    """One queue message: at most one HTTP attempt, its record, and the next step arranged."""
    msg = DeliveryMessage.model_validate_json(message_body)
    now = deps.now()
    state = deps.store.get_delivery(msg.webhook_id)
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

    endpoint = deps.store.get_endpoint(msg.department, msg.endpoint_id)
    if endpoint is None or endpoint.state is not EndpointState.ACTIVE:
        base = state or _new_state(msg, now)
        _save(deps, base.model_copy(update={"status": DeliveryStatus.DROPPED, "updated_at": _iso(now),
                                            "last_error": "endpoint_inactive"}), state)
        return DeliveryResult("dropped", attempt=msg.attempt)

    health = deps.store.get_endpoint_health(endpoint.id) or EndpointHealth(endpoint_id=endpoint.id)
    if health.is_open(now):
        assert health.open_until is not None
        wait = max(1, int((parse_time(health.open_until) - now).total_seconds()) + 1)
        wait = retry_delay(1, (wait,), deps.settings.delivery_jitter / 2, None) or wait
        schedule(deps, msg, wait, now)  # not an attempt: the same attempt, later
        return DeliveryResult("deferred", retry_in=wait, error="circuit_open", attempt=msg.attempt)

    claim = (state or _new_state(msg, now)).model_copy(update={
        "status": DeliveryStatus.IN_FLIGHT, "attempt": msg.attempt, "generation": msg.generation,
        "claimed_at": _iso(now), "updated_at": _iso(now), "next_attempt_at": None})
    try:
        claimed = deps.store.save_delivery(claim, state.version if state else None)
    except ConcurrentUpdate:
        return DeliveryResult("busy", retry_in=5, attempt=msg.attempt)

    body = msg.payload.encode()
    result = deps.webhooks.send(endpoint.url, signed_headers(deps, endpoint, msg.webhook_id, body, now), body)
    finished = deps.now()
    meaning = verdict(result.status, result.error, result.permanent)
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
    deps.store.add_delivery_attempt(DeliveryAttempt(
        webhook_id=msg.webhook_id, generation=msg.generation, attempt=msg.attempt, started_at=_iso(now),
        latency_ms=latency, http_status=result.status, error_class=update["last_error"],
        outcome="gone" if meaning is Verdict.GONE else outcome))
    final = _save(deps, claimed.model_copy(update=update), claimed)
    _update_health(deps, health, meaning, finished)
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


def _save(deps: Deps, delivery: Delivery, previous: Delivery | None) -> Delivery:
    try:
        return deps.store.save_delivery(delivery, previous.version if previous else None)
    except ConcurrentUpdate:
        # Someone took the attempt over after our lease ran out; their record stands.
        logger.warning("delivery_state_superseded", extra={"webhook_id": delivery.webhook_id})
        return delivery


def _update_health(deps: Deps, health: EndpointHealth, meaning: Verdict, now: datetime) -> None:
    if meaning is Verdict.RETRY:
        deps.store.put_endpoint_health(health.after_failure(now, deps.settings.breaker_threshold,
                                                            deps.settings.breaker_cooldown_seconds))
    elif health.consecutive_failures or health.open_until:
        deps.store.put_endpoint_health(health.after_success(now))


def deliver_batch(deps: Deps, bodies: list[str],
                  one: Callable[[Deps, str], DeliveryResult] | None = None) -> list[DeliveryResult | BaseException]:
    """A batch of queue messages, endpoints in parallel (each up to `endpoint_parallelism` at once):
    an endpoint that hangs until the timeout holds up only its own messages."""
    run = one or (lambda d, b: deliver(d, b))
    if len(bodies) <= 1:
        return [_guard(run, deps, b) for b in bodies]
    per_endpoint = deps.settings.endpoint_parallelism
    limits: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(per_endpoint))
    endpoint_of = [_endpoint_key(b) for b in bodies]
    for key in set(endpoint_of):
        _ = limits[key]

    def job(index: int) -> DeliveryResult | BaseException:
        with limits[endpoint_of[index]]:
            return _guard(run, deps, bodies[index])

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
