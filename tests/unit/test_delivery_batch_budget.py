"""A `deliver` batch on fakes: three table requests per delivered webhook, the time budget of the
function (attempts that could not end in time are not started; the last ones get a shortened
timeout), and an endpoint's circuit as the batch's own attempts change it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from chalicelib.domain.deliveries import ATTEMPTS_IN_RECORD, DeliveryAttempt, DeliveryStatus
from chalicelib.domain.events import DomainEvent
from chalicelib.services.delivery import BatchBudget, deliver, deliver_batch
from chalicelib.services.departments import add_endpoint
from chalicelib.services.dispatch import dispatch_event
from tests.fakes import FixedClock, fake_deps
from tests.unit.catalogue_samples import FRIDAY


@dataclass
class CountingStore:
    """Wraps the fake store and counts the calls a delivery makes (each is one table request in the adapter)."""

    inner: object
    calls: list[str] = field(default_factory=list)

    def __getattr__(self, name):
        target = getattr(self.inner, name)
        if callable(target):
            def counted(*args, **kwargs):
                self.calls.append(name)
                return target(*args, **kwargs)
            return counted
        return target


@pytest.fixture
def deps():
    d = fake_deps(delivery_jitter=0.0, breaker_threshold=3)
    d.now = FixedClock(FRIDAY)
    return d


def _messages(deps, count, url="https://dept-a.example/hooks"):
    add_endpoint(deps, "dept-a", url, ("onetrip.task.assigned",))
    for i in range(count):
        dispatch_event(deps, DomainEvent.raised("onetrip.task.assigned", FRIDAY, application_id=f"app_{i}",
                                                subject=f"tasks/tsk_{i}", recipients=["dept-a"],
                                                data={"task_id": f"tsk_{i}", "item_code": "YQ-AMR-0001"}))
    bodies = [m.body for m in deps.queue.sent]
    deps.queue.sent.clear()
    return bodies


def test_a_delivered_webhook_costs_one_read_the_claim_and_the_outcome_with_its_log(deps):
    (body,) = _messages(deps, 1)
    deps.store = CountingStore(deps.store)
    assert deliver(deps, body).outcome == "delivered"
    assert deps.store.calls == ["get_delivery_context", "save_delivery", "save_delivery"]
    (wid,) = [r["headers"]["webhook-id"] for r in deps.webhooks.requests]
    (attempt,) = deps.store.list_delivery_attempts(wid)
    assert attempt.outcome == "delivered" and deps.store.get_delivery(wid).attempts == (attempt,)


def test_a_full_record_log_keeps_later_attempts_on_their_own(deps):
    (body,) = _messages(deps, 1)
    deliver(deps, body)
    wid = deps.webhooks.requests[0]["headers"]["webhook-id"]
    state = deps.store.get_delivery(wid)
    filler = tuple(DeliveryAttempt(webhook_id=wid, generation=g, attempt=1, started_at="t", latency_ms=1,
                                   http_status=503, error_class="http_5xx", outcome="retry")
                   for g in range(1, ATTEMPTS_IN_RECORD + 1))
    state = deps.store.save_delivery(state.model_copy(update={"attempts": filler, "generation": 200, "attempt": 0,
                                                              "status": DeliveryStatus.RETRYING}), state.version)
    replay = state.message().next(attempt=1, generation=200)
    assert deliver(deps, replay.model_dump_json()).outcome == "delivered"
    assert len(deps.store.get_delivery(wid).attempts) == ATTEMPTS_IN_RECORD
    assert deps.store.list_delivery_attempts(wid)[-1].generation == 200  # logged, just not in the record


def test_an_attempt_that_could_not_end_before_the_function_does_is_not_started(deps):
    (body,) = _messages(deps, 1)
    budget = BatchBudget(deadline=time.monotonic() + 1.0, reserve=0.8, min_attempt=0.5)
    result = deliver(deps, body, budget=budget)
    assert result.outcome == "unstarted" and result.should_retry and result.retry_in == 1
    assert deps.webhooks.requests == [] and deps.store.list_deliveries("dept-a", 10, None).items == []


def test_late_in_the_batch_an_attempt_gets_only_the_time_that_is_left(deps):
    (body,) = _messages(deps, 1)
    budget = BatchBudget(deadline=time.monotonic() + 5.0, reserve=1.0, min_attempt=0.5)
    assert deliver(deps, body, budget=budget).outcome == "delivered"
    assert 3.5 < deps.webhooks.requests[0]["timeout"] <= 4.0  # not the configured 15 s


def test_with_time_to_spare_an_attempt_keeps_the_configured_timeout(deps):
    (body,) = _messages(deps, 1)
    deliver(deps, body, budget=BatchBudget(deadline=time.monotonic() + 30, reserve=1.5, min_attempt=1.0))
    assert deps.webhooks.requests[0]["timeout"] is None  # the sender's own 15 s


def test_a_batch_to_a_failing_endpoint_opens_its_circuit_instead_of_trying_every_message(deps):
    bodies = _messages(deps, 10)
    deps.settings = deps.settings.model_copy(update={"endpoint_parallelism": 1})
    deps.webhooks.script = [503] * 10
    results = deliver_batch(deps, bodies)
    # All ten were read before any answer came; the lane still sees the circuit open after three.
    assert len(deps.webhooks.requests) == 3
    assert sorted(r.outcome for r in results) == ["deferred"] * 7 + ["retry_scheduled"] * 3
    assert deps.store.get_endpoint_health(deps.store.list_endpoints("dept-a")[0].id).consecutive_failures == 3


def test_a_batch_counts_every_failure_of_an_endpoint_once(deps):
    bodies = _messages(deps, 2)
    deps.settings = deps.settings.model_copy(update={"endpoint_parallelism": 2, "breaker_threshold": 5})
    deps.webhooks.script = [503, 503]
    deliver_batch(deps, bodies)
    health = deps.store.get_endpoint_health(deps.store.list_endpoints("dept-a")[0].id)
    assert health.consecutive_failures == 2  # not 1 twice, as two stale read-modify-writes would give


def test_a_budget_is_what_the_lambda_context_has_left(deps):
    budget = BatchBudget.of(deps.settings, 30_000)
    assert 29.5 < budget.deadline - time.monotonic() <= 30
    assert budget.attempt_timeout(15.0) == 15.0
    assert BatchBudget.of(deps.settings, 1_000).attempt_timeout(15.0) is None


class _Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.function_name, self.aws_request_id = "deliver", "req-1"
        self.memory_limit_in_mb, self.invoked_function_arn = 512, "arn:aws:lambda:us-east-1:0:function:deliver"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _sqs_event(bodies, receives):
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": body,
                         "attributes": {"ApproximateReceiveCount": str(receives)}, "messageAttributes": {},
                         "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:0:onetrip-deliveries"}
                        for i, body in enumerate(bodies)]}


@pytest.mark.parametrize("receives", [1, 3])
def test_the_handler_hands_back_what_it_had_no_time_to_start_and_resends_it_when_received_often(deps, receives):
    from app import app
    from chalicelib import bootstrap

    bodies = _messages(deps, 2)
    bootstrap.override(deps)
    try:  # 0.5 s left: less than the reserve, so nothing may start
        result = app.handler_map["deliver"](_sqs_event(bodies, receives), _Context(500))
    finally:
        bootstrap.override(None, None)
    assert deps.webhooks.requests == []
    if receives < 3:  # back on the queue in a second, as batch item failures
        assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
        assert deps.queue.delayed == [("r0", 1), ("r1", 1)] and deps.queue.sent == []
    else:  # received often already: sent again as new messages, so lack of time never ends in the DLQ
        assert result == {"batchItemFailures": []}
        assert [m.body for m in deps.queue.sent] == bodies and all(m.delay_seconds == 1 for m in deps.queue.sent)
