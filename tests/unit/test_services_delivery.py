"""Delivery of queued webhooks on fakes: claimed attempts, the retry schedule (queue delay or due-time
store), dead letters, the circuit breaker, rotation and v1a signing, and replay."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from chalicelib.domain.deliveries import DeliveryStatus, retry_delay
from chalicelib.domain.departments import EndpointState
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.domain.webhooks import WebhookVerificationError, verify
from chalicelib.services import delivery_log
from chalicelib.services.delivery import deliver, deliver_batch
from chalicelib.services.departments import add_endpoint, rotate_secret
from chalicelib.services.dispatch import dispatch_event
from chalicelib.services.retry_sweep import sweep_due
from tests.fakes import FakeSendResult, FakeWebhooks, FixedClock, fake_deps
from tests.unit.catalogue_samples import FRIDAY

CLAIM_LEASE_SECONDS = 60  # the default lease
BACKOFF = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
DEPT_A = Principal(sub="machine-a", kind=PrincipalKind.DEPARTMENT, department="dept-a")


@dataclass
class ScriptedWebhooks:
    results: list[FakeSendResult] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def send(self, url, headers, body):
        self.requests.append({"url": url, "headers": headers, "body": body})
        return self.results.pop(0) if self.results else FakeSendResult(204)

    def check_url(self, url):
        return None


@dataclass
class RecordingNotifier:
    sent: list[tuple[str, str, dict]] = field(default_factory=list)

    def notify(self, kind, department, subject, detail):
        self.sent.append((kind, department, detail))


@pytest.fixture
def deps():
    d = fake_deps(delivery_jitter=0.0)
    d.now = FixedClock(FRIDAY)
    d.notifier = RecordingNotifier()
    return d


def _dispatch(deps, **data):
    evt = DomainEvent.raised("onetrip.task.assigned", FRIDAY, application_id="app_1", subject="tasks/tsk_1",
                             recipients=["dept-a"], data={"task_id": "tsk_1", "item_code": "YQ-AMR-0001", **data})
    dispatch_event(deps, evt)
    return evt


@pytest.fixture
def registered(deps):
    endpoint, secret = add_endpoint(deps, "dept-a", "https://dept-a.example/hooks", ("onetrip.task.assigned",))
    _dispatch(deps)
    (message,) = deps.queue.sent
    deps.queue.sent.clear()
    return endpoint, secret, message


def later(deps, seconds):
    deps.now = FixedClock(deps.now() + timedelta(seconds=seconds))


def test_a_delivered_webhook_is_recorded_with_its_attempt(deps, registered):
    endpoint, secret, message = registered
    result = deliver(deps, message.body)
    assert (result.outcome, result.status, result.attempt) == ("delivered", 204, 1)
    state = deps.store.get_delivery(message.id)
    assert (state.status, state.attempt, state.last_status) == (DeliveryStatus.DELIVERED, 1, 204)
    (attempt,) = deps.store.list_delivery_attempts(message.id)
    assert (attempt.attempt, attempt.http_status, attempt.outcome) == (1, 204, "delivered")
    request = deps.webhooks.requests[0]
    verify(secret, request["headers"], request["body"], now=int(FRIDAY.timestamp()))


def test_a_duplicate_queue_message_sends_nothing(deps, registered):
    _, _, message = registered
    deliver(deps, message.body)
    assert deliver(deps, message.body).outcome == "duplicate"
    assert len(deps.webhooks.requests) == 1


def test_a_copy_arriving_while_the_attempt_is_in_flight_waits_a_lease_and_a_dead_claimer_is_taken_over(
        deps, registered):
    _, _, message = registered
    state = deps.store.get_delivery(message.id)
    assert state is None
    # Simulate a claimer that died after claiming attempt 1.
    from chalicelib.services.delivery import _new_state

    msg = json.loads(message.body)
    from chalicelib.domain.deliveries import DeliveryMessage

    claimed = _new_state(DeliveryMessage.model_validate(msg), FRIDAY).model_copy(update={
        "attempt": 1, "claimed_at": FRIDAY.isoformat(timespec="milliseconds")})
    deps.store.save_delivery(claimed, None)
    busy = deliver(deps, message.body)
    assert busy.should_retry and busy.retry_in == CLAIM_LEASE_SECONDS and deps.webhooks.requests == []
    later(deps, CLAIM_LEASE_SECONDS + 1)
    assert deliver(deps, message.body).outcome == "delivered"
    assert len(deps.webhooks.requests) == 1


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_a_503_schedules_the_next_attempt_on_the_queue_with_the_schedule_delay(deps, registered, attempt):
    _, _, message = registered
    body = json.dumps({**json.loads(message.body), "attempt": attempt})
    deps.webhooks = FakeWebhooks(script=[503])
    deps.settings = deps.settings.model_copy(update={"delivery_max_queue_delay": 900})
    result = deliver(deps, body)
    assert (result.outcome, result.retry_in) == ("retry_scheduled", BACKOFF[attempt - 1])
    if BACKOFF[attempt - 1] <= 900:
        (queued,) = deps.queue.sent
        assert queued.delay_seconds == BACKOFF[attempt - 1]
        assert json.loads(queued.body)["attempt"] == attempt + 1
    else:
        assert deps.queue.sent == []
        assert deps.store.due_messages(0, FRIDAY + timedelta(days=2), 10) or any(
            deps.store.due_messages(s, FRIDAY + timedelta(days=2), 10) for s in range(4))
    assert deps.store.get_delivery(message.id).status is DeliveryStatus.RETRYING


def test_waits_beyond_the_sqs_delay_limit_are_swept_back_onto_the_queue_when_due(deps, registered):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[503, 503, 503])
    deliver(deps, message.body)  # attempt 1 → +5 s on the queue
    (second,) = deps.queue.sent
    deps.queue.sent.clear()
    later(deps, 5)
    deliver(deps, second.body)  # attempt 2 → +300 s: beyond SQS' 900? no — on the queue
    (third,) = deps.queue.sent
    deps.queue.sent.clear()
    later(deps, 300)
    deliver(deps, third.body)  # attempt 3 → +1800 s: the due-time store
    assert deps.queue.sent == []
    later(deps, 1799)
    assert sweep_due(deps) == 0
    later(deps, 2)
    assert sweep_due(deps) == 1
    (fourth,) = deps.queue.sent
    assert json.loads(fourth.body)["attempt"] == 4 and fourth.id == message.id
    assert sweep_due(deps) == 0  # moved once
    assert deliver(deps, fourth.body).outcome == "delivered"
    attempts = deps.store.list_delivery_attempts(message.id)
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert [a.http_status for a in attempts] == [503, 503, 503, 204]


def test_the_last_failure_makes_the_delivery_dead_and_tells_the_department_and_admins(deps, registered):
    _, _, message = registered
    body = json.dumps({**json.loads(message.body), "attempt": len(BACKOFF) + 1})
    deps.webhooks = FakeWebhooks(script=[None])
    assert deliver(deps, body).outcome == "dead"
    assert deps.store.get_delivery(message.id).status is DeliveryStatus.DEAD
    ((kind, department, detail),) = deps.notifier.sent
    assert (kind, department, detail["webhook_id"]) == ("delivery_exhausted", "dept-a", message.id)
    assert deps.queue.sent == []
    dead = delivery_log.list_deliveries(deps, DEPT_A, None, "dead", 10, None)
    assert [d.webhook_id for d in dead.items] == [message.id]


def test_a_retry_after_longer_than_the_backoff_is_honoured(deps, registered):
    _, _, message = registered
    deps.webhooks = ScriptedWebhooks([FakeSendResult(429, retry_after=600)])
    assert deliver(deps, message.body).retry_in == 600


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_4xx_is_a_permanent_failure_recorded_once(deps, registered, status):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[status])
    assert deliver(deps, message.body).outcome == "failed_permanently"
    assert deliver(deps, message.body).outcome == "duplicate"
    assert len(deps.webhooks.requests) == 1 and deps.queue.sent == []
    assert deps.notifier.sent[0][0] == "delivery_failed"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
def test_retryable_answers_are_retried(deps, registered, status):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[status])
    assert deliver(deps, message.body).outcome == "retry_scheduled"


def test_a_410_disables_the_endpoint_and_says_so(deps, registered):
    endpoint, _, message = registered
    deps.webhooks = FakeWebhooks(script=[410])
    deliver(deps, message.body)
    assert deps.store.get_endpoint("dept-a", endpoint.id).state is EndpointState.DISABLED
    assert deps.notifier.sent[0][0] == "endpoint_disabled"


@pytest.mark.parametrize("state", [EndpointState.DISABLED, EndpointState.PENDING])
def test_a_message_for_an_inactive_endpoint_is_dropped_without_a_request(deps, registered, state):
    endpoint, _, message = registered
    deps.store.put_endpoint(endpoint.model_copy(update={"state": state}))
    assert deliver(deps, message.body).outcome == "dropped"
    assert deps.store.get_delivery(message.id).status is DeliveryStatus.DROPPED
    assert deps.webhooks.requests == []


def test_the_circuit_opens_after_the_threshold_and_defers_without_requests_then_probes(deps):
    deps.settings = deps.settings.model_copy(update={"breaker_threshold": 2, "breaker_cooldown_seconds": 60})
    add_endpoint(deps, "dept-a", "https://dept-a.example/hooks", ("onetrip.task.assigned",))
    for _ in range(4):
        _dispatch(deps)
    bodies = [m.body for m in deps.queue.sent]
    deps.queue.sent.clear()
    deps.webhooks = FakeWebhooks(script=[503, 503])
    outcomes = [deliver(deps, b).outcome for b in bodies]
    assert outcomes == ["retry_scheduled", "retry_scheduled", "deferred", "deferred"]
    assert len(deps.webhooks.requests) == 2
    deferred = [m for m in deps.queue.sent if json.loads(m.body)["attempt"] == 1]
    assert len(deferred) == 2 and all(55 <= m.delay_seconds <= 70 for m in deferred)
    later(deps, 61)
    assert deliver(deps, deferred[0].body).outcome == "delivered"  # the probe closes the circuit
    assert deliver(deps, deferred[1].body).outcome == "delivered"


def test_a_batch_delivers_every_endpoint_and_isolates_a_crashing_message(deps):
    add_endpoint(deps, "dept-a", "https://a.example/1", ("onetrip.task.assigned",))
    add_endpoint(deps, "dept-a", "https://a.example/2", ("onetrip.task.assigned",))
    _dispatch(deps)
    bodies = [m.body for m in deps.queue.sent] + ["not json"]
    results = deliver_batch(deps, bodies)
    assert [getattr(r, "outcome", "error") for r in results] == ["delivered", "delivered", "error"]


def test_during_a_rotation_old_and_new_secrets_both_sign_until_the_grace_ends(deps, registered):
    endpoint, old_secret, message = registered
    rotated = rotate_secret(deps, "dept-a", endpoint.id, grace_seconds=3600)
    new_secret = rotated["secret"]
    deliver(deps, message.body)
    request = deps.webhooks.requests[-1]
    assert request["headers"]["webhook-signature"].count("v1,") == 2
    for secret in (old_secret, new_secret):
        verify(secret, request["headers"], request["body"], now=int(FRIDAY.timestamp()))
    later(deps, 3601)
    second = _dispatch(deps)
    body = next(m.body for m in deps.queue.sent if second.id.removeprefix("evt_") in m.id)
    deliver(deps, body)
    request = deps.webhooks.requests[-1]
    assert request["headers"]["webhook-signature"].count("v1,") == 1
    verify(new_secret, request["headers"], request["body"], now=int(deps.now().timestamp()))
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, request["headers"], request["body"], now=int(deps.now().timestamp()))


def test_an_ed25519_endpoint_gets_a_v1a_signature_its_public_key_verifies(deps):
    from chalicelib.services.departments import _new_endpoint

    endpoint, _, public_key = _new_endpoint(deps, "dept-a", "https://a.example/k", ("onetrip.task.assigned",),
                                            EndpointState.ACTIVE, (), True)
    deps.store.put_endpoint(endpoint)
    _dispatch(deps)
    deliver(deps, deps.queue.sent[0].body)
    request = deps.webhooks.requests[0]
    assert " v1a," in request["headers"]["webhook-signature"]
    verify(public_key, request["headers"], request["body"], now=int(FRIDAY.timestamp()))


def test_an_item_filter_limits_an_endpoint_to_its_items(deps):
    add_endpoint(deps, "dept-a", "https://a.example/amr", ("onetrip.task.assigned",), item_codes=("YQ-AMR-0001",))
    add_endpoint(deps, "dept-a", "https://a.example/re", ("onetrip.task.assigned",), item_codes=("YQ-RE-0010",))
    _dispatch(deps)
    assert len(deps.queue.sent) == 1


def test_a_replay_sends_the_same_webhook_id_and_body_again_as_a_new_generation(deps, registered):
    _, _, message = registered
    deliver(deps, message.body)
    replayed = delivery_log.replay(deps, DEPT_A, message.id)
    assert (replayed.generation, replayed.status) == (1, DeliveryStatus.RETRYING)
    (again,) = deps.queue.sent
    assert deliver(deps, again.body).outcome == "delivered"
    first, second = deps.webhooks.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == message.id
    assert first["body"] == second["body"]
    assert deliver(deps, message.body).outcome == "stale"  # the old generation's copy does nothing


def test_another_department_cannot_see_or_replay_a_delivery(deps, registered):
    _, _, message = registered
    deliver(deps, message.body)
    other = Principal(sub="machine-b", kind=PrincipalKind.DEPARTMENT, department="dept-b")
    from chalicelib.domain.errors import NotFound

    with pytest.raises(NotFound):
        delivery_log.get_delivery(deps, other, message.id)
    with pytest.raises(NotFound):
        delivery_log.replay(deps, other, message.id)
    assert delivery_log.list_deliveries(deps, other, None, None, 10, None).items == []


def test_jitter_spreads_retries_inside_the_band():
    rng = random.Random(7)
    delays = {retry_delay(2, BACKOFF, 0.2, None, rng) for _ in range(200)}
    assert min(delays) >= 240 and max(delays) <= 360 and len(delays) > 50
    assert retry_delay(len(BACKOFF) + 1, BACKOFF, 0.2, None) is None
    assert sum(BACKOFF) / 3600 == pytest.approx(75.6, abs=0.1)  # about three days
