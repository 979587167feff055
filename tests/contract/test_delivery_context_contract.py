"""What one delivery attempt reads and writes, against the fake and the DynamoDB adapter: its state,
endpoint and circuit in one read; the attempt log carried in the delivery's record (and attempts kept
on their own when the record's log is full), listed together in order."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.deliveries import Delivery, DeliveryAttempt, DeliveryStatus, EndpointHealth
from chalicelib.domain.departments import Endpoint

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _delivery(wid: str) -> Delivery:
    stamp = T0.isoformat(timespec="milliseconds")
    return Delivery(webhook_id=wid, department="dept-a", endpoint_id="ep_1", event_type="onetrip.task.assigned",
                    status=DeliveryStatus.IN_FLIGHT, attempt=1, created_at=stamp, updated_at=stamp,
                    payload='{"id":"evt_1"}')


def _attempt(wid: str, generation: int, n: int, outcome: str = "retry") -> DeliveryAttempt:
    return DeliveryAttempt(webhook_id=wid, generation=generation, attempt=n, started_at="t", latency_ms=3,
                           http_status=503 if outcome == "retry" else 204, error_class=None, outcome=outcome)


def test_the_context_of_an_attempt_is_its_state_endpoint_and_circuit(store):
    endpoint = Endpoint(id="ep_1", department="dept-a", url="https://a.example/h", secret_ciphertexts=("c",))
    assert store.get_delivery_context("msg_1", "dept-a", "ep_1") == (None, None, None)
    store.put_endpoint(endpoint)
    saved = store.save_delivery(_delivery("msg_1"), None)
    health = EndpointHealth(endpoint_id="ep_1").after_failure(T0, 5, 60)
    store.put_endpoint_health(health)
    state, found, circuit = store.get_delivery_context("msg_1", "dept-a", "ep_1")
    assert state == saved and found == endpoint and circuit == health
    assert store.get_delivery_context("msg_1", "dept-b", "ep_1")[1] is None  # an endpoint of its department only


def test_the_attempt_log_travels_in_the_delivery_record(store):
    saved = store.save_delivery(_delivery("msg_1"), None)
    first = saved.logged(_attempt("msg_1", 0, 1))
    saved = store.save_delivery(first, saved.version)
    saved = store.save_delivery(saved.logged(_attempt("msg_1", 0, 2, "delivered")), saved.version)
    assert [(a.generation, a.attempt) for a in store.get_delivery("msg_1").attempts] == [(0, 1), (0, 2)]
    assert [a.outcome for a in store.list_delivery_attempts("msg_1")] == ["retry", "delivered"]


def test_attempts_in_the_record_and_on_their_own_are_listed_together_in_order(store):
    saved = store.save_delivery(_delivery("msg_1"), None)
    store.save_delivery(saved.logged(_attempt("msg_1", 0, 1)), saved.version)
    store.add_delivery_attempt(_attempt("msg_1", 1, 1, "delivered"))
    store.add_delivery_attempt(_attempt("msg_1", 0, 1))  # the same attempt twice is listed once
    assert [(a.generation, a.attempt) for a in store.list_delivery_attempts("msg_1")] == [(0, 1), (1, 1)]
    assert store.list_delivery_attempts("msg_2") == []
