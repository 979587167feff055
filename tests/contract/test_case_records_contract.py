"""The audit-trail and applicant-notification access patterns, one suite against the fake and the
DynamoDB adapter (moto): conditional appends that never fork, redelivery markers, tampering found
in what the table really holds, and the notifications' newest-first pages."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import keys
from chalicelib.domain.audit import AuditEntry, next_entry
from chalicelib.domain.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.domain.notifications import Notification, notification_position
from chalicelib.services.audit import read_trail, record_in_trail
from tests.contract.conftest import TABLE
from tests.fakes import FakeStore, fake_deps
from tests.unit.catalogue_samples import citizen, ready_application, single_item

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def event(app_id: str, n: int = 0, type_: str = "onetrip.case.accepted") -> DomainEvent:
    return DomainEvent.raised(type_, T0 + timedelta(seconds=n), application_id=app_id, subject=f"cases/{app_id}",
                              recipients=["dept-a"], actor=citizen().actor(),
                              data={"application_id": app_id, "item_code": "T-SINGLE", "item_version": 1, "n": n})


def entries_for(app_id: str, count: int) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    for n in range(count):
        out.append(next_entry(event(app_id, n), out[-1] if out else None, T0))
    return out


@pytest.fixture
def tamper(store, request):
    """Change what the store holds for entry `seq` behind the adapter's back (an insider's edit)."""
    if isinstance(store, FakeStore):
        def change(app_id: str, seq: int, entry: AuditEntry | None) -> None:
            chain = store._case_tables()["entries"][app_id]
            if entry is None:
                del chain[seq]
            else:
                chain[seq] = entry
        return change
    client = request.getfixturevalue("dynamodb_client")

    def change_in_table(app_id: str, seq: int, entry: AuditEntry | None) -> None:
        key = {k: {"S": v} for k, v in keys.audit_entry(app_id, seq).items()}
        if entry is None:
            client.delete_item(TableName=TABLE, Key=key)
        else:
            client.update_item(TableName=TABLE, Key=key, UpdateExpression="SET #d = :d",
                               ExpressionAttributeNames={"#d": "doc"},
                               ExpressionAttributeValues={":d": {"S": entry.model_dump_json()}})
    return change_in_table


def with_application(store):
    app = ready_application(single_item())
    store.create_application(app)
    return app


def deps_on(store):
    deps = fake_deps()
    deps.store = store
    return deps


# -- audit trail ------------------------------------------------------------------------------------

def test_entries_are_appended_in_seq_order_with_head_and_markers(store):
    app_id = new_id("app_")
    assert store.audit_head(app_id) is None and store.list_audit_entries(app_id) == []
    chain = entries_for(app_id, 12)  # more than 9: the keys must sort as numbers
    for entry in chain:
        store.append_audit_entry(entry)
    assert store.list_audit_entries(app_id) == chain
    assert store.audit_head(app_id) == chain[-1]
    assert store.audit_has_event(app_id, chain[4].event_id) and not store.audit_has_event(app_id, "evt_other")
    assert store.list_audit_entries(new_id("app_")) == []


def test_a_taken_seq_a_stale_head_or_a_recorded_event_cancels_the_whole_append(store):
    app_id = new_id("app_")
    first, second = entries_for(app_id, 2)
    store.append_audit_entry(first)
    rival = next_entry(event(app_id, 9), first, T0)  # another event at seq 2
    store.append_audit_entry(rival)
    with pytest.raises(ConcurrentUpdate):
        store.append_audit_entry(second)  # seq 2 is taken
    third = next_entry(event(app_id, 7), rival, T0)
    with pytest.raises(ConcurrentUpdate):
        store.append_audit_entry(third.model_copy(update={"seq": 4}))  # the head is at 2, not 3
    with pytest.raises(ConcurrentUpdate):
        store.append_audit_entry(next_entry(event(app_id, 0).model_copy(update={"id": first.event_id}), rival, T0))
    # Nothing of the cancelled appends was written: no entry, no marker, the head unmoved.
    assert [e.event_id for e in store.list_audit_entries(app_id)] == [first.event_id, rival.event_id]
    assert not store.audit_has_event(app_id, second.event_id) and not store.audit_has_event(app_id, third.event_id)
    assert store.audit_head(app_id) == rival


class _OneRequestAtATime:
    """moto (in-process and server alike) is not atomic across concurrent requests: its
    TransactWriteItems deep-copies the table to roll back on a failed condition and can so erase a
    write another thread made meanwhile. DynamoDB serializes each request; this gives moto that
    guarantee back — and only that: the appenders still interleave between their requests."""

    def __init__(self, client) -> None:
        self._client, self._lock = client, threading.Lock()

    def __getattr__(self, name):
        call = getattr(self._client, name)

        def serialized(*args, **kwargs):
            with self._lock:
                return call(*args, **kwargs)
        return serialized


def test_concurrent_appenders_on_one_case_never_fork_the_chain(store, request, monkeypatch):
    if not isinstance(store, FakeStore):
        store = type(store)(_OneRequestAtATime(request.getfixturevalue("dynamodb_client")), TABLE)
    app = with_application(store)
    deps = deps_on(store)
    events = [event(app.id, n) for n in range(24)]
    append, lost = store.append_audit_entry, []

    def counted_append(entry):
        try:
            append(entry)
        except ConcurrentUpdate:
            lost.append(entry.seq)
            raise

    read_head = store.audit_head

    def slow_head(app_id):  # widen the window between reading the head and appending
        head = read_head(app_id)
        time.sleep(0.001)
        return head

    monkeypatch.setattr(store, "append_audit_entry", counted_append)
    monkeypatch.setattr(store, "audit_head", slow_head)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        barrier.wait()
        try:
            for e in events[k % 3::3] + events:  # its share first, then everything again (redeliveries)
                record_in_trail(deps, e)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trail = read_trail(store, app.id)
    assert trail.verification.ok, trail.verification
    assert [e.seq for e in trail.entries] == list(range(1, 25))
    assert sorted(e.event_id for e in trail.entries) == sorted(e.id for e in events)
    assert lost  # appenders collided; each lost race was re-read and retried


def test_tampering_with_the_stored_trail_is_found(store, tamper):
    app = with_application(store)
    deps = deps_on(store)
    for n in range(4):
        record_in_trail(deps, event(app.id, n))
    assert read_trail(store, app.id).verification.ok
    entries = store.list_audit_entries(app.id)

    tamper(app.id, 2, entries[1].model_copy(update={"actor": {"sub": "someone-else", "kind": "admin"}}))
    assert (read_trail(store, app.id).verification.broken_seq, read_trail(store, app.id).verification.code) == (
        2, "audit_entry_modified")
    tamper(app.id, 2, entries[1])
    tamper(app.id, 3, None)
    assert read_trail(store, app.id).verification.code == "audit_entry_removed"
    tamper(app.id, 3, entries[3])  # the 3rd and the 4th entries swapped
    tamper(app.id, 4, entries[2])
    assert (read_trail(store, app.id).verification.broken_seq, read_trail(store, app.id).verification.code) == (
        3, "audit_entries_reordered")


# -- notifications ----------------------------------------------------------------------------------

def notification(app_id: str, n: int, type_: str = "onetrip.case.closed") -> Notification:
    e = event(app_id, n, type_)
    return Notification(id="ntf_" + e.id[4:], application_id=app_id, event_id=e.id, type=type_,
                        occurred_at=e.occurred_at, position=notification_position(e), recipient_sub="citizen-1",
                        case_number="T-SINGLE-20261127-00000001", text_zh=f"第{n}条", text_en=f"No. {n}")


def test_a_notification_is_recorded_once_and_marked_sent(store):
    app_id = new_id("app_")
    first = notification(app_id, 1)
    assert store.put_notification(first) is True
    assert store.put_notification(first.model_copy(update={"text_zh": "另一条"})) is False
    assert store.get_notification(app_id, first.position) == first
    assert store.get_notification(app_id, "0000000000000#00#evt_none") is None
    store.mark_notification_sent(app_id, first.position, "2026-11-27T09:31:00.000+00:00")
    sent = store.get_notification(app_id, first.position)
    assert (sent.delivery, sent.sent_at, sent.text_zh) == ("sent", "2026-11-27T09:31:00.000+00:00", "第1条")


def test_notifications_are_listed_newest_first_in_pages(store):
    app_id = new_id("app_")
    for n in (3, 1, 4, 0, 2):
        store.put_notification(notification(app_id, n))
    store.put_notification(notification(new_id("app_"), 9))  # another application's
    pages, cursor = [], None
    while True:
        page = store.list_notifications(app_id, 2, cursor)
        pages.append([x.text_en for x in page.items])
        cursor = page.cursor
        if cursor is None:
            break
    assert pages == [["No. 4", "No. 3"], ["No. 2", "No. 1"], ["No. 0"]]
    assert store.list_notifications(new_id("app_"), 10, None).items == []


def test_a_notification_cursor_only_pages_its_own_list(store):
    app_id, other = new_id("app_"), new_id("app_")
    for n in range(3):
        store.put_notification(notification(app_id, n))
        store.put_notification(notification(other, n))
    cursor = store.list_notifications(other, 1, None).cursor
    for bad in (cursor, "not-a-cursor", "eyJwayI6IkFQUCN4In0"):
        with pytest.raises(ValidationFailed):
            store.list_notifications(app_id, 1, bad)
