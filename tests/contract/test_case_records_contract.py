"""The audit-trail and applicant-notification access patterns, one suite against the fake and the
DynamoDB adapter (moto): entries written with their events, never forked by concurrent changes,
tampering found in what the table really holds, and the notifications' newest-first pages."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import keys
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.domain.notifications import Notification, notification_position
from chalicelib.services.audit import read_trail
from tests.contract.conftest import TABLE
from tests.fakes import FakeStore
from tests.unit.catalogue_samples import citizen, ready_application, single_item

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def event(app_id: str, n: int = 0, type_: str = "onetrip.case.accepted") -> DomainEvent:
    return DomainEvent.raised(type_, T0 + timedelta(seconds=n), application_id=app_id, subject=f"cases/{app_id}",
                              recipients=["dept-a"], actor=citizen().actor(),
                              data={"application_id": app_id, "item_code": "T-SINGLE", "item_version": 1, "n": n})


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


# -- audit trail ------------------------------------------------------------------------------------

def record(store, app_id: str, events: list[DomainEvent], retries: int = 0):
    """One change of the application that raises `events` (the simplest writer of events); with
    `retries`, re-read and try again on a lost race, as the services do."""
    for attempt in range(retries + 1):
        current = store.get_application(app_id)
        try:
            return store.save_application_with_events(current, current.version, events)
        except ConcurrentUpdate:
            if attempt == retries:
                raise
            time.sleep(0.001)
    raise AssertionError("unreachable")


def test_events_join_the_chain_in_the_change_that_records_them(store):
    app = with_application(store)
    assert store.list_audit_entries(app.id) == [] and app.trail is None
    batches = [[event(app.id, n)] for n in range(5)] + [[event(app.id, 5 + n) for n in range(7)]]
    for events in batches:
        saved = record(store, app.id, events)
    chain = store.list_audit_entries(app.id)  # 12 entries: the keys must sort as numbers
    assert [e.event_id for e in chain] == [e.id for events in batches for e in events]
    assert [e.seq for e in chain] == list(range(1, 13))
    assert (saved.trail.seq, saved.trail.hash) == (12, chain[-1].hash)
    assert store.get_application(app.id).trail == saved.trail
    assert read_trail(store, app.id).verification.ok
    assert store.list_audit_entries(new_id("app_")) == []


def test_a_change_that_loses_its_race_writes_no_entry(store):
    app = with_application(store)
    record(store, app.id, [event(app.id, 0)])
    stale = app  # version 0: the change above moved it on
    with pytest.raises(ConcurrentUpdate):
        store.save_application_with_events(stale, stale.version, [event(app.id, 1)])
    assert [e.seq for e in store.list_audit_entries(app.id)] == [1]
    assert store.get_application(app.id).trail.seq == 1


def test_an_event_of_another_application_is_refused_before_anything_is_written(store):
    app = with_application(store)
    with pytest.raises(ValueError, match="another application"):
        store.save_application_with_events(app, app.version, [event(app.id, 0), event(new_id("app_"), 1)])
    assert store.list_audit_entries(app.id) == [] and store.get_application(app.id).version == app.version


class _OneRequestAtATime:
    """moto (in-process and server alike) is not atomic across concurrent requests: its
    TransactWriteItems deep-copies the table to roll back on a failed condition and can so erase a
    write another thread made meanwhile. DynamoDB serializes each request; this gives moto that
    guarantee back — and only that: the writers still interleave between their requests."""

    def __init__(self, client) -> None:
        self._client, self._lock = client, threading.Lock()

    def __getattr__(self, name):
        call = getattr(self._client, name)

        def serialized(*args, **kwargs):
            with self._lock:
                return call(*args, **kwargs)
        return serialized


def test_concurrent_changes_to_one_case_never_fork_the_chain(store, request):
    if not isinstance(store, FakeStore):
        store = type(store)(_OneRequestAtATime(request.getfixturevalue("dynamodb_client")), TABLE)
    app = with_application(store)
    events = [event(app.id, n) for n in range(24)]
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        barrier.wait()
        try:
            for e in events[k::6]:
                record(store, app.id, [e], retries=100)
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


def test_tampering_with_the_stored_trail_is_found(store, tamper):
    app = with_application(store)
    for n in range(4):
        record(store, app.id, [event(app.id, n)])
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
    tamper(app.id, 3, entries[2])
    tamper(app.id, 4, None)  # the last entry removed: only the head on the application knows
    assert (read_trail(store, app.id).verification.broken_seq, read_trail(store, app.id).verification.code) == (
        4, "audit_entry_removed")


# -- notifications ----------------------------------------------------------------------------------

def notification(app_id: str, n: int, type_: str = "onetrip.case.closed") -> Notification:
    e = event(app_id, n, type_)
    return Notification(id="ntf_" + e.id[4:], application_id=app_id, event_id=e.id, type=type_,
                        occurred_at=e.occurred_at, position=notification_position(e), recipient_sub="citizen-1",
                        case_number="T-SINGLE-20261127-00000001", text_zh=f"第{n}条", text_en=f"No. {n}")


def put_notification(store, n: Notification) -> bool:
    """One notification through the store's batch recorder; True when recorded now."""
    return n.id in store.record_projections([], [n]).notified


def test_a_notification_is_recorded_once_and_marked_sent(store):
    app_id = new_id("app_")
    first = notification(app_id, 1)
    assert put_notification(store, first) is True
    assert put_notification(store, first.model_copy(update={"text_zh": "另一条"})) is False
    assert store.get_notification(app_id, first.position) == first
    assert store.get_notification(app_id, "0000000000000#00#evt_none") is None
    store.mark_notification_sent(first.model_copy(update={"delivery": "sent",
                                                          "sent_at": "2026-11-27T09:31:00.000+00:00"}))
    never = notification(app_id, 2)
    store.mark_notification_sent(never.model_copy(update={"delivery": "sent"}))  # never recorded: stays so
    assert store.get_notification(app_id, never.position) is None
    sent = store.get_notification(app_id, first.position)
    assert (sent.delivery, sent.sent_at, sent.text_zh) == ("sent", "2026-11-27T09:31:00.000+00:00", "第1条")


def test_notifications_are_listed_newest_first_in_pages(store):
    app_id = new_id("app_")
    for n in (3, 1, 4, 0, 2):
        put_notification(store, notification(app_id, n))
    put_notification(store, notification(new_id("app_"), 9))  # another application's
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
        put_notification(store, notification(app_id, n))
        put_notification(store, notification(other, n))
    cursor = store.list_notifications(other, 1, None).cursor
    for bad in (cursor, "not-a-cursor", "eyJwayI6IkFQUCN4In0"):
        with pytest.raises(ValidationFailed):
            store.list_notifications(app_id, 1, bad)
