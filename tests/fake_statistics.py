"""The statistics part of the fake store (mixed into `tests.fakes.FakeStore`); the contract suite
tests/contract/test_statistics_store_contract.py holds it to the DynamoDB adapter's behaviour.

A lock stands for DynamoDB's atomic transaction (`record_projections` in fake_case_records.py holds
it): the marker check and every increment happen as one step, so threads adding at once lose nothing
and a redelivered event adds nothing."""

from __future__ import annotations

import threading

from chalicelib.domain.statistics import COUNTERS, ItemAggregate
from chalicelib.ports import Increment

_CREATE = threading.Lock()


class FakeStatisticsRecords:
    def _stats_tables(self) -> tuple[threading.Lock, dict[tuple[str, str], dict[str, int]], set[str]]:
        with _CREATE:  # the first callers may be several threads at once
            if not hasattr(self, "_stats"):
                self._stats: tuple[threading.Lock, dict[tuple[str, str], dict[str, int]], set[str]] = (
                    threading.Lock(), {}, set())
        return self._stats

    def _add_increment(self, increment: Increment) -> bool:
        """Once per event id; the caller holds the statistics lock (record_projections)."""
        _, aggregates, applied = self._stats_tables()
        if increment.event_id in applied:
            return False
        applied.add(increment.event_id)
        for period in increment.periods:
            counters = aggregates.setdefault((period, increment.item_code), {})
            for name, delta in increment.deltas.items():
                counters[name] = counters.get(name, 0) + delta
        return True

    def list_statistics(self, period: str) -> list[ItemAggregate]:
        lock, aggregates, _ = self._stats_tables()
        with lock:
            return [ItemAggregate(period=p, item_code=code, counters={c: v for c, v in counters.items() if c in COUNTERS})
                    for (p, code), counters in sorted(aggregates.items()) if p == period]
