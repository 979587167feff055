"""The statistics access patterns, one contract for the fake and the DynamoDB adapter: each event adds
once (a redelivery adds nothing, even concurrently), increments from many threads are all kept, and a
period's aggregates are read back whole, page after page."""

from __future__ import annotations

import threading

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.ids import new_id
from chalicelib.domain.statistics import ALL_TIME
from chalicelib.ports import Increment
from tests.serial_client import OneRequestAtATime

PERIODS = ("2031-03", ALL_TIME)


def add_statistics(store, event_id, periods, item_code, deltas) -> bool:
    """One event's increments through the store's batch recorder; True when counted now."""
    return event_id in store.record_projections([Increment(event_id, item_code, tuple(periods), deltas)], []).counted


def counters(store, period: str) -> dict[str, dict[str, int]]:
    return {a.item_code: dict(a.counters) for a in store.list_statistics(period)}


def run_in_threads(work, threads: int) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def go(n: int) -> None:
        try:
            barrier.wait(10)
            work(n)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=go, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not errors, errors


class TestStatisticsStoreContract:
    def test_an_event_adds_its_deltas_to_the_item_in_every_period(self, store):
        assert add_statistics(store, new_id("evt_"), PERIODS, "YQ-AMR-0001", {"accepted": 1})
        assert add_statistics(store, new_id("evt_"), PERIODS, "YQ-AMR-0001",
                                    {"decided": 1, "on_time": 1, "working_days_sum": 4})
        assert add_statistics(store, new_id("evt_"), PERIODS, "YQ-RE-0010", {"accepted": 1})
        expected = {"YQ-AMR-0001": {"accepted": 1, "decided": 1, "on_time": 1, "working_days_sum": 4},
                    "YQ-RE-0010": {"accepted": 1}}
        assert counters(store, "2031-03") == expected
        assert counters(store, ALL_TIME) == expected
        assert {a.period for a in store.list_statistics("2031-03")} == {"2031-03"}

    def test_the_same_event_again_adds_nothing(self, store):
        event_id = new_id("evt_")
        assert add_statistics(store, event_id, PERIODS, "A", {"accepted": 1, "visits_sum": 2}) is True
        assert add_statistics(store, event_id, PERIODS, "A", {"accepted": 1, "visits_sum": 2}) is False
        add_statistics(store, new_id("evt_"), PERIODS, "A", {"accepted": 1})
        assert add_statistics(store, event_id, PERIODS, "A", {"accepted": 1, "visits_sum": 2}) is False
        assert counters(store, "2031-03") == {"A": {"accepted": 2, "visits_sum": 2}}

    def test_periods_are_kept_apart(self, store):
        add_statistics(store, new_id("evt_"), ("2031-03", ALL_TIME), "A", {"accepted": 1})
        add_statistics(store, new_id("evt_"), ("2031-04", ALL_TIME), "A", {"accepted": 1})
        assert counters(store, "2031-03") == {"A": {"accepted": 1}}
        assert counters(store, "2031-04") == {"A": {"accepted": 1}}
        assert counters(store, ALL_TIME) == {"A": {"accepted": 2}}
        assert store.list_statistics("2031-05") == []

    def test_a_period_is_read_whole_across_pages(self, store):
        if isinstance(store, DynamoStore):
            store._stats_page_size = 3  # real pagination on small data: LastEvaluatedKey after every 3
        codes = [f"I-{i:02d}" for i in range(10)]
        for code in codes:
            add_statistics(store, new_id("evt_"), PERIODS, code, {"accepted": 1})
        assert sorted(a.item_code for a in store.list_statistics("2031-03")) == codes

    def test_concurrent_increments_and_concurrent_redeliveries_are_all_kept_exactly_once(self, store):
        if isinstance(store, DynamoStore):
            store._db = OneRequestAtATime(store._db)
        shared = [new_id("evt_") for _ in range(5)]  # every thread redelivers these

        def work(n: int) -> None:
            for i in range(10):
                add_statistics(store, new_id("evt_"), PERIODS, "HOT", {"accepted": 1, "working_days_sum": n})
                add_statistics(store, shared[i % len(shared)], PERIODS, "HOT", {"withdrawn": 1})

        run_in_threads(work, 6)
        hot = counters(store, "2031-03")["HOT"]
        assert hot == {"accepted": 60, "working_days_sum": 10 * sum(range(6)), "withdrawn": 5}
        assert counters(store, ALL_TIME)["HOT"] == hot
