"""The rate-counter part of the fake store (mixed into `tests.fakes.FakeStore`); the contract suite
tests/contract/test_rate_counter_contract.py holds it to the DynamoDB adapter's behaviour."""

from __future__ import annotations


class FakeRateCounters:
    def _rate_counters(self) -> dict[tuple[str, str, int], tuple[int, int]]:
        if not hasattr(self, "_rc"):
            self._rc: dict[tuple[str, str, int], tuple[int, int]] = {}
        return self._rc

    def take_rate_slot(self, subject: str, rate_class: str, window_start: int, limit: int,
                       expires_at: int) -> bool:
        counters = self._rate_counters()
        count, _ = counters.get((subject, rate_class, window_start), (0, 0))
        if count >= limit:
            return False
        counters[(subject, rate_class, window_start)] = (count + 1, expires_at)
        return True

    def rate_slots_taken(self, subject: str, rate_class: str, window_start: int) -> int:
        return self._rate_counters().get((subject, rate_class, window_start), (0, 0))[0]
