"""A `deliver` batch never outlives its function, however slow the endpoints: the app's own `deliver`
handler, a real SQS batch from moto, loopback receivers that hang or drip their answer, and a Lambda
context with a compressed timeout. Attempts that could not end in time are not started; they come
back as batch item failures and a later batch delivers them."""

from __future__ import annotations

import time

from chalicelib.domain.deliveries import DeliveryStatus
from infra.onetrip.moto_stack import free_port
from infra.onetrip.pump import FakeLambdaContext, sqs_record
from infra.onetrip.receiver import DemoReceiver, Fault
from tests.drip_server import DripServer

from .conftest import report, wait_for

FUNCTION_TIMEOUT = 3.5  # seconds the compressed `deliver` function may run
HTTP_TIMEOUT = 1.0  # the compressed 15 s
# The reserve covers the claim and the writes after an attempt: generous, as moto on a loaded machine is slow.
BUDGET = {"delivery_timeout_seconds": HTTP_TIMEOUT, "delivery_batch_reserve_seconds": 1.0,
          "delivery_min_attempt_seconds": 0.5, "breaker_threshold": 100, "delivery_backoff": (30, 30)}


def _batch(h, expected: int) -> list[dict]:
    """Up to ten queued messages as the records of one Lambda SQS event."""
    url = h.outputs["DeliveryQueueUrl"]
    arn = h.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages: list[dict] = []

    def receive() -> bool:
        got = h.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10 - len(messages), VisibilityTimeout=60,
                                    AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        messages.extend(got)
        return len(messages) >= expected

    wait_for(receive, 10, f"{expected} queued messages")
    return [sqs_record(m, arn) for m in messages]


def _invoke(records: list[dict], timeout_s: float = FUNCTION_TIMEOUT) -> tuple[dict, float]:
    from app import app

    context = FakeLambdaContext("deliver", timeout_s=timeout_s)  # type: ignore[arg-type]
    started = time.monotonic()
    result = app.handler_map["deliver"]({"Records": records}, context)
    return result, time.monotonic() - started


def test_a_batch_to_a_hanging_endpoint_ends_before_the_function_and_hands_back_what_it_could_not_start(harness):
    from chalicelib import bootstrap

    h = harness(endpoint_parallelism=2, **BUDGET)
    port = free_port()
    _, secret = h.endpoint(f"http://127.0.0.1:{port}/webhooks/{h.department}")
    with DemoReceiver(h.department, [secret], port=port, fault=lambda n: Fault(sleep=3 * HTTP_TIMEOUT)) as receiver:
        wids = h.send_events(10)
        bootstrap.override(h.deps)
        try:
            result, elapsed = _invoke(_batch(h, 10))
        finally:
            bootstrap.override(None, None)
        failed = {r["itemIdentifier"] for r in result["batchItemFailures"]}
        states = {w: h.deps.store.get_delivery(w) for w in wids}
        attempted = [w for w, s in states.items() if s is not None]
        # 2 at a time for 1 s each, within 3.5 s minus the 1 s reserve: two waves (a third if it is quick).
        assert elapsed < FUNCTION_TIMEOUT, elapsed
        assert 2 <= len(attempted) <= 6 and len(failed) == 10 - len(attempted), (len(attempted), failed)
        assert all(states[w].status is DeliveryStatus.RETRYING and states[w].last_error == "timeout"
                   for w in attempted)
        # Nothing reported unstarted reached the receiver (it records a request once it has slept).
        wait_for(lambda: len(receiver.received) >= len(attempted), 10, "the slow requests")
        time.sleep(0.5)
        assert sorted(r["webhook_id"] for r in receiver.received) == sorted(attempted)
        report("hanging endpoint, batch of 10, 3.5 s function", 10, len(receiver.received), len(receiver.acted),
               f"{len(attempted)} attempted (timeouts) in {elapsed:.2f} s, {len(failed)} handed back")


def test_messages_a_batch_could_not_start_are_delivered_by_a_later_batch(harness):
    from chalicelib import bootstrap

    h = harness(endpoint_parallelism=1, **BUDGET)
    port = free_port()
    _, secret = h.endpoint(f"http://127.0.0.1:{port}/webhooks/{h.department}")
    slow = {"on": True}
    with DemoReceiver(h.department, [secret], port=port,
                      fault=lambda n: Fault(sleep=3 * HTTP_TIMEOUT) if slow["on"] else None):
        wids = h.send_events(4)
        bootstrap.override(h.deps)
        try:
            # One at a time: after two 1-s timeouts, too little of the 3 s is left to start a third.
            first, elapsed = _invoke(_batch(h, 4), timeout_s=3.0)
            handed_back = len(first["batchItemFailures"])
            assert elapsed < 3.0 and 1 <= handed_back <= 3, (elapsed, first)
            slow["on"] = False  # the endpoint recovers
            # The handler made the failures visible again at once (not after the 180 s visibility timeout).
            second, _ = _invoke(_batch(h, handed_back))
        finally:
            bootstrap.override(None, None)
    assert second == {"batchItemFailures": []}
    statuses = sorted(h.deps.store.get_delivery(w).status.value for w in wids)
    assert statuses == ["delivered"] * handed_back + ["retrying"] * (4 - handed_back)


def test_a_receiver_dripping_its_answer_is_cut_at_the_timeout_and_cannot_hold_the_batch(harness):
    from chalicelib import bootstrap

    h = harness(endpoint_parallelism=4, **BUDGET)
    drip = DripServer(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 10_000, pause=0.2)  # never ends in time
    try:
        h.endpoint(f"http://127.0.0.1:{drip.port}/webhooks/{h.department}")
        wids = h.send_events(4)
        bootstrap.override(h.deps)
        try:
            result, elapsed = _invoke(_batch(h, 4))
        finally:
            bootstrap.override(None, None)
        assert result == {"batchItemFailures": []}
        # 4 in parallel, each cut at 1 s (without a deadline on the whole answer: ~33 min each).
        assert elapsed < FUNCTION_TIMEOUT, elapsed
        for w in wids:
            state = h.deps.store.get_delivery(w)
            assert state.status is DeliveryStatus.RETRYING and state.last_error == "timeout", state
            (attempt,) = h.deps.store.list_delivery_attempts(w)
            assert HTTP_TIMEOUT * 1000 <= attempt.latency_ms <= HTTP_TIMEOUT * 1000 + 800, attempt
        report("receiver dripping its answer (1 byte/0.2 s)", 4, drip.requests, 0,
               f"each attempt cut at the 1 s timeout; batch {elapsed:.2f} s")
    finally:
        drip.close()
