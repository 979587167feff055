"""A stream batch's projections recorded together, one contract for the fake and the DynamoDB adapter:
a batch's increments and notifications are recorded at once, the part of a batch recorded before (a
redelivery) is left as it was while the rest is recorded, increments of one aggregate are summed,
and a batch larger than one transaction is recorded whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.domain.notifications import Notification, notification_id, notification_position
from chalicelib.domain.statistics import ALL_TIME
from chalicelib.ports import Increment

T0 = datetime(2031, 3, 20, 9, 30, tzinfo=UTC)
PERIODS = ("2031-03", ALL_TIME)


def increment(item: str = "A", **deltas: int) -> Increment:
    return Increment(new_id("evt_"), item, PERIODS, deltas or {"accepted": 1})


def notification(app_id: str, n: int) -> Notification:
    event = DomainEvent.raised("onetrip.case.closed", T0 + timedelta(seconds=n), application_id=app_id,
                               subject=f"cases/{app_id}", recipients=[], data={})
    return Notification(id=notification_id(event.id), application_id=app_id, event_id=event.id, type=event.type,
                        occurred_at=event.occurred_at, position=notification_position(event),
                        recipient_sub="citizen-1", text_zh=f"第{n}条", text_en=f"No. {n}")


def counters(store, period: str = "2031-03") -> dict[str, dict[str, int]]:
    return {a.item_code: dict(a.counters) for a in store.list_statistics(period)}


def test_a_batch_is_recorded_with_each_aggregate_summed(store):
    app_id = new_id("app_")
    incs = [increment("A"), increment("A", accepted=1, visits_sum=2), increment("B"), increment("A", withdrawn=1)]
    notes = [notification(app_id, n) for n in range(3)]
    recorded = store.record_projections(incs, notes)
    assert recorded.counted == {i.event_id for i in incs}
    assert recorded.notified == {n.id for n in notes}
    assert counters(store) == {"A": {"accepted": 2, "visits_sum": 2, "withdrawn": 1}, "B": {"accepted": 1}}
    assert counters(store, ALL_TIME) == counters(store)
    assert [n.id for n in store.list_notifications(app_id, 10, None).items] == [n.id for n in notes[::-1]]


def test_what_a_redelivered_batch_recorded_before_is_left_and_the_rest_recorded(store):
    app_id = new_id("app_")
    first_incs, first_notes = [increment("A"), increment("A")], [notification(app_id, 0)]
    store.record_projections(first_incs, first_notes)
    new_inc, new_note = increment("A", accepted=1, visits_sum=3), notification(app_id, 1)
    changed = first_notes[0].model_copy(update={"text_en": "changed"})
    recorded = store.record_projections([first_incs[1], new_inc, first_incs[0]], [changed, new_note])
    assert (recorded.counted, recorded.notified) == ({new_inc.event_id}, {new_note.id})
    assert counters(store) == {"A": {"accepted": 3, "visits_sum": 3}}
    assert store.get_notification(app_id, changed.position).text_en == "No. 0"  # the first record stands
    again = store.record_projections([first_incs[0], new_inc], [changed, new_note])
    assert (again.counted, again.notified) == (frozenset(), frozenset())
    assert counters(store) == {"A": {"accepted": 3, "visits_sum": 3}}


def test_an_event_that_adds_nothing_records_nothing(store):
    empty = Increment(new_id("evt_"), "A", PERIODS, {})
    assert store.record_projections([empty], []).counted == frozenset()
    assert counters(store) == {}


def test_a_batch_larger_than_one_transaction_is_recorded_whole(store):
    app_id = new_id("app_")
    incs = [increment(f"ITEM-{n % 30}") for n in range(90)]  # 90 markers + 60 aggregates
    notes = [notification(app_id, n) for n in range(60)]
    recorded = store.record_projections(incs, notes)
    assert len(recorded.counted) == 90 and len(recorded.notified) == 60
    assert sum(c["accepted"] for c in counters(store).values()) == 90
    assert len(counters(store)) == 30
    assert len(store.list_notifications(app_id, 100, None).items) == 60
