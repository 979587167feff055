"""One stream batch's projections in one transaction (mixed into `DynamoStore`).

A batch's statistics increments and the applicant notifications go together: each event's statistics
marker and each notification are put only if absent, and the increments are summed per aggregate (a
transaction may touch an item once). A redelivered event's marker or notification cancels the
transaction; the cancellation names which, so those leave the batch and the rest is written again.
A batch larger than one transaction allows (100 items) is cut into as few as needed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..ports import Increment, Recorded
from .dynamodb_notifications import notification_put
from .dynamodb_statistics import stats_marker, stats_update

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain.notifications import Notification


TRANSACTION_ITEMS = 100
# Two stream batches adding to one aggregate at the same instant cancel one transaction with
# TransactionConflict; nothing was written, so it is simply tried again after a short pause.
_CONFLICT_ROUNDS = 6


@dataclass(frozen=True)
class _Part:
    """One thing to record: an event's increments or a notification."""

    increment: Increment | None = None
    notification: Notification | None = None

    def aggregates(self) -> set[tuple[str, str]]:
        inc = self.increment
        return {(period, inc.item_code) for period in inc.periods} if inc is not None else set()


def _chunks(parts: list[_Part]) -> list[list[_Part]]:
    """Consecutive runs of parts whose items (one put each, plus the distinct aggregates) fit one
    transaction."""
    chunks: list[list[_Part]] = []
    current: list[_Part] = []
    aggregates: set[tuple[str, str]] = set()
    for part in parts:
        merged = aggregates | part.aggregates()
        if current and len(current) + 1 + len(merged) > TRANSACTION_ITEMS:
            chunks.append(current)
            current, merged = [], part.aggregates()
        current.append(part)
        aggregates = merged
    if current:
        chunks.append(current)
    return chunks


class ProjectionRecords:
    _db: Any
    _table: str

    def record_projections(self, increments: list[Increment], notifications: list[Notification]) -> Recorded:
        parts = [_Part(increment=i) for i in increments if i.deltas] + [_Part(notification=n) for n in notifications]
        counted: set[str] = set()
        notified: set[str] = set()
        for chunk in _chunks(parts):
            for part in self._record_chunk(chunk):
                if part.increment is not None:
                    counted.add(part.increment.event_id)
                elif part.notification is not None:
                    notified.add(part.notification.id)
        return Recorded(frozenset(counted), frozenset(notified))

    def _record_chunk(self, parts: list[_Part]) -> list[_Part]:
        """The parts written now; those recorded before are dropped one cancellation at a time."""
        conflicts = 0
        while parts:
            try:
                self._db.transact_write_items(TransactItems=self._items(parts))
                return parts
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                seen = {i for i, code in enumerate(reasons[:len(parts)]) if code == "ConditionalCheckFailed"}
                if seen:
                    parts = [p for i, p in enumerate(parts) if i not in seen]
                    continue
                conflicts += 1
                if "TransactionConflict" not in reasons or conflicts == _CONFLICT_ROUNDS:
                    raise
                time.sleep(random.uniform(0, 0.02 * 2 ** conflicts))  # noqa: S311 (jitter, not security)
        return []

    def _items(self, parts: list[_Part]) -> list[dict[str, Any]]:
        """One put per part, in the parts' order (a cancellation reason's index names its part), then
        one update per aggregate with the parts' deltas summed."""
        puts: list[dict[str, Any]] = []
        sums: dict[tuple[str, str], dict[str, int]] = {}
        for part in parts:
            if part.notification is not None:
                puts.append(notification_put(self._table, part.notification))
            elif part.increment is not None:
                inc = part.increment
                puts.append(stats_marker(self._table, inc.event_id))
                for period in inc.periods:
                    total = sums.setdefault((period, inc.item_code), {})
                    for name, delta in inc.deltas.items():
                        total[name] = total.get(name, 0) + delta
        return puts + [stats_update(self._table, period, code, deltas) for (period, code), deltas in sums.items()]
