"""The department-delivery access patterns, one suite against the fake and the DynamoDB adapter."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.applications import TaskStatus
from chalicelib.domain.deliveries import Delivery, DeliveryAttempt, DeliveryStatus, EndpointHealth
from chalicelib.domain.departments import Department, Office
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.domain.task_desk import comment
from chalicelib.ports import OutboundMessage
from tests.unit.catalogue_samples import accepted, joint_item, ready_application

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def delivery(wid: str, department: str = "dept-a", created: datetime = T0, status=DeliveryStatus.IN_FLIGHT):
    stamp = created.isoformat(timespec="milliseconds")
    return Delivery(webhook_id=wid, department=department, endpoint_id="ep_1", event_type="onetrip.task.assigned",
                    status=status, attempt=1, created_at=stamp, updated_at=stamp, payload='{"id":"evt_1"}')


def walk(fetch):
    out, cursor = [], None
    while True:
        page = fetch(cursor)
        out += page.items
        cursor = page.cursor
        if cursor is None:
            return out


def test_a_delivery_is_created_once_and_then_changed_only_at_its_version(store):
    saved = store.save_delivery(delivery("msg_1"), None)
    assert saved.version == 0 and store.get_delivery("msg_1").status is DeliveryStatus.IN_FLIGHT
    with pytest.raises(ConcurrentUpdate):
        store.save_delivery(delivery("msg_1"), None)
    done = store.save_delivery(saved.model_copy(update={"status": DeliveryStatus.DELIVERED}), saved.version)
    assert done.version == 1 and store.delivery_done("msg_1")
    with pytest.raises(ConcurrentUpdate):
        store.save_delivery(saved, saved.version)  # a stale writer loses
    assert store.get_delivery("msg_2") is None


def test_attempts_are_logged_in_order(store):
    for n in (1, 2, 3):
        store.add_delivery_attempt(DeliveryAttempt(webhook_id="msg_1", generation=0, attempt=n, started_at="t",
                                                   latency_ms=5, http_status=503, error_class="http_5xx",
                                                   outcome="retry"))
    store.add_delivery_attempt(DeliveryAttempt(webhook_id="msg_1", generation=1, attempt=1, started_at="t",
                                               latency_ms=5, http_status=204, error_class=None, outcome="delivered"))
    assert [(a.generation, a.attempt) for a in store.list_delivery_attempts("msg_1")] == [(0, 1), (0, 2), (0, 3),
                                                                                          (1, 1)]
    assert store.list_delivery_attempts("msg_2") == []


def test_deliveries_are_listed_per_department_newest_first_by_status_and_range(store):
    for i in range(5):
        status = DeliveryStatus.DEAD if i % 2 else DeliveryStatus.DELIVERED
        store.save_delivery(delivery(f"msg_{i}", created=T0 + timedelta(minutes=i), status=status), None)
    store.save_delivery(delivery("msg_other", department="dept-b"), None)
    everything = walk(lambda c: store.list_deliveries("dept-a", 2, c))
    assert [d.webhook_id for d in everything] == ["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"]
    dead = walk(lambda c: store.list_deliveries("dept-a", 1, c, "dead"))
    assert [d.webhook_id for d in dead] == ["msg_3", "msg_1"]
    since = (T0 + timedelta(minutes=1)).isoformat(timespec="milliseconds")
    until = (T0 + timedelta(minutes=3)).isoformat(timespec="milliseconds")
    ranged = walk(lambda c: store.list_deliveries("dept-a", 10, c, None, since, until))
    assert [d.webhook_id for d in ranged] == ["msg_3", "msg_2", "msg_1"]
    assert store.list_deliveries("dept-c", 10, None).items == []


def test_endpoint_health_round_trips(store):
    assert store.get_endpoint_health("ep_1") is None
    health = EndpointHealth(endpoint_id="ep_1").after_failure(T0, 1, 60)
    store.put_endpoint_health(health)
    assert store.get_endpoint_health("ep_1") == health and health.is_open(T0)


def test_due_messages_come_back_by_due_time_per_shard_and_go_once_deleted(store):
    from chalicelib.adapters.keys import due_shard

    store.put_due(OutboundMessage("msg_a#0#2", "a"), T0 + timedelta(seconds=10))
    store.put_due(OutboundMessage("msg_a#0#3", "b"), T0 + timedelta(seconds=20))
    shard = due_shard("msg_a#0#2")
    assert store.due_messages(shard, T0, 10) == []
    due = store.due_messages(shard, T0 + timedelta(seconds=15), 10)
    assert [m.body for _, m in due] == ["a"]
    store.delete_due(shard, due[0][0])
    other = due_shard("msg_a#0#3")
    assert [m.body for _, m in store.due_messages(other, T0 + timedelta(hours=1), 10)] == ["b"]
    assert store.due_messages(shard, T0 + timedelta(seconds=15), 10) == []


def test_departments_are_read_and_listed(store):
    store.put_department(Department(code="dept-b", name_zh="乙", name_en="B",
                                    offices=(Office(code="town-1", name_zh="镇", name_en="Town"),)))
    store.put_department(Department(code="dept-a", name_zh="甲", name_en="A"))
    assert store.get_department("dept-b").offices[0].code == "town-1"
    assert store.get_department("dept-z") is None
    assert [d.code for d in walk(lambda c: store.list_departments(1, c))] == ["dept-a", "dept-b"]


def _accept(store):
    draft = ready_application(joint_item())
    store.create_application(draft)
    app, tasks, events = accepted(joint_item(), app=draft)
    store.accept_application(app, draft.version, tasks, events)
    return tasks, events


def test_the_feed_holds_each_recipients_events_in_order_inside_the_bounds(store):
    app_events = []
    for _ in range(3):
        app_events += _accept(store)[1]
    a_ids = sorted(e.id for e in app_events if "dept-a" in e.recipients)
    got = store.list_department_events("dept-a", None, "evt_~", 100)
    assert [e.id for e in got] == a_ids
    assert [e.id for e in store.list_department_events("dept-a", a_ids[0], "evt_~", 100)] == a_ids[1:]
    assert [e.id for e in store.list_department_events("dept-a", None, a_ids[1], 100)] == a_ids[:1]
    assert store.list_department_events("dept-c", None, "evt_~", 100) == []


def test_a_task_is_saved_at_its_version_and_listed_by_status(store):
    tasks, _ = _accept(store)
    task = next(t for t in tasks if t.department == "dept-a")
    claimed = store.save_task(task.model_copy(update={"claimed_by": "officer-1"}), task.version)
    assert store.get_task(task.id).claimed_by == "officer-1" and claimed.version == task.version + 1
    with pytest.raises(ConcurrentUpdate):
        store.save_task(task, task.version)
    assert [t.id for t in store.list_tasks("dept-a", 10, None, "assigned").items] == [task.id]
    store.save_task(claimed.model_copy(update={"status": TaskStatus.DECIDED}), claimed.version)
    assert store.list_tasks("dept-a", 10, None, "assigned").items == []
    assert [t.id for t in store.list_tasks("dept-a", 10, None, "decided").items] == [task.id]


def test_task_comments_are_kept_per_task_in_order(store):
    _, tasks, _ = accepted(joint_item())
    first = comment(tasks[0], "officer-1", "需要补充材料", T0)
    time.sleep(0.002)  # ids order by their millisecond
    second = comment(tasks[0], "officer-2", "已核实", T0)
    store.add_task_comment(first)
    store.add_task_comment(second)
    assert [c.text for c in store.list_task_comments(tasks[0].id)] == ["需要补充材料", "已核实"]
    assert store.list_task_comments(new_id("tsk_")) == []


def test_domain_event_ids_sort_by_time():
    a = DomainEvent.raised("x", T0, application_id="a", subject="s", recipients=[], data={})
    assert a.id.startswith("evt_")
