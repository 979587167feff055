"""Fan-out of outbox events: one message per subscribed active endpoint of each recipient."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from chalicelib.domain.departments import EndpointState
from chalicelib.domain.events import DomainEvent
from chalicelib.services.departments import add_endpoint
from chalicelib.services.dispatch import dispatch_event, webhook_id
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import FRIDAY

BOTH = ("onetrip.task.assigned", "onetrip.case.decided")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def deps():
    return fake_deps()


@pytest.fixture
def endpoints(deps):
    a_all, _ = add_endpoint(deps, "dept-a", "https://a.example/all", BOTH)
    a_decided, _ = add_endpoint(deps, "dept-a", "https://a.example/decided", ("onetrip.case.decided",))
    a_off, _ = add_endpoint(deps, "dept-a", "https://a.example/off", BOTH, EndpointState.DISABLED)
    a_pending, _ = add_endpoint(deps, "dept-a", "https://a.example/pending", BOTH, EndpointState.PENDING)
    b_all, _ = add_endpoint(deps, "dept-b", "https://b.example/all", BOTH)
    return {"a_all": a_all, "a_decided": a_decided, "a_off": a_off, "a_pending": a_pending, "b_all": b_all}


def event(type_="onetrip.task.assigned", recipients=("dept-a",)):
    return DomainEvent.raised(type_, FRIDAY, application_id="app_1", subject="tasks/tsk_1",
                              recipients=list(recipients), data={"task_id": "tsk_1", "名称": "联办"})


def messages(deps):
    return [json.loads(m.body) for m in deps.queue.sent]


def test_one_message_per_subscribed_active_endpoint(deps, endpoints):
    assert dispatch_event(deps, event()) == 1
    assert [m["endpoint_id"] for m in messages(deps)] == [endpoints["a_all"].id]


def test_a_multi_recipient_event_reaches_every_subscribed_endpoint_of_each_recipient(deps, endpoints):
    count = dispatch_event(deps, event("onetrip.case.decided", ("dept-a", "dept-b")))
    assert count == 3
    assert sorted((m["department"], m["endpoint_id"]) for m in messages(deps)) == sorted([
        ("dept-a", endpoints["a_all"].id), ("dept-a", endpoints["a_decided"].id),
        ("dept-b", endpoints["b_all"].id)])


def test_nothing_is_sent_for_an_unsubscribed_type_or_a_disabled_endpoint(deps):
    add_endpoint(deps, "dept-a", "https://a.example/decided", ("onetrip.case.decided",))
    add_endpoint(deps, "dept-a", "https://a.example/off", BOTH, EndpointState.DISABLED)
    assert dispatch_event(deps, event("onetrip.task.assigned")) == 0
    assert deps.queue.sent == []


def test_an_event_without_recipients_or_endpoints_sends_nothing(deps, endpoints):
    assert dispatch_event(deps, event(recipients=())) == 0
    assert dispatch_event(deps, event(recipients=("dept-unknown",))) == 0
    assert deps.queue.sent == []


def test_webhook_ids_are_stable_and_deterministic(deps, endpoints):
    evt = event("onetrip.case.decided", ("dept-a", "dept-b"))
    dispatch_event(deps, evt)
    first = [(m.id, m.body) for m in deps.queue.sent]
    deps.queue.sent.clear()
    dispatch_event(deps, evt)  # the stream redelivers the same record
    assert [(m.id, m.body) for m in deps.queue.sent] == first
    ids = [m.id for m in deps.queue.sent]
    assert len(set(ids)) == 3
    assert all(m["webhook_id"] == webhook_id(evt.id, m["endpoint_id"]) for m in messages(deps))
    assert all(re.fullmatch(r"msg_[0-9A-Z_]+", i) for i in ids)


def test_another_event_gets_other_webhook_ids(deps, endpoints):
    dispatch_event(deps, event())
    dispatch_event(deps, event())
    assert len({m.id for m in deps.queue.sent}) == 2


def test_the_payload_is_a_cloudevents_1_0_structured_json_body(deps, endpoints):
    evt = event()
    dispatch_event(deps, evt)
    (message,) = messages(deps)
    assert message["event_type"] == evt.type
    body = json.loads(message["payload"])
    # Required context attributes, non-empty strings (CloudEvents 1.0 §3.1).
    for attr in ("id", "source", "specversion", "type"):
        assert isinstance(body[attr], str) and body[attr]
    assert body["specversion"] == "1.0"
    assert body["id"] == evt.id and body["type"] == evt.type and body["subject"] == evt.subject
    assert body["source"].startswith("/onetrip/")
    assert RFC3339.match(body["time"]) and datetime.fromisoformat(body["time"]).tzinfo is not None
    assert body["datacontenttype"] == "application/json"
    assert body["data"] == evt.data
    # Attribute names: lower-case ASCII letters and digits only (§2.1).
    assert all(re.fullmatch(r"[a-z0-9]{1,20}", k) for k in body)
    # Compact and UTF-8, so the signed bytes are the bytes sent.
    assert message["payload"] == json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
