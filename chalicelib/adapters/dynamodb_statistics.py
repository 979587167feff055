"""The statistics access patterns of the single table (mixed into `DynamoStore`).

Aggregates `STATS#<period>/ITEM#<code>` hold one numeric attribute per counter, changed only by
`ADD` (atomic in DynamoDB, so concurrent stream batches never lose an increment). Each event's
increments go in one transaction with the marker `PROJ#<event id>/STATS` (put only if absent): a
redelivered event cancels on the marker and adds nothing. The transactions themselves are built in
`dynamodb_projections`, with a stream batch's notifications. A period's items are one partition, read
by one paginated Query; its size is bounded by the catalogue (one record per item with events).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..lazy import deferred
from . import keys
from .records import key_of as _key
from .records import n as _n
from .records import s as _s

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import statistics as statistics_models
    from ..domain.statistics import ItemAggregate
else:
    statistics_models = deferred("chalicelib.domain.statistics")


# Markers must outlive every redelivery: the stream keeps records 24 h; outbox records live 30 days.
STATS_MARKER_TTL_SECONDS = 35 * 24 * 3600





def stats_marker(table: str, event_id: str) -> dict[str, Any]:
    """The put that claims an event's increments: it cancels its transaction when the event was counted."""
    return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
        **_key(keys.stats_applied(event_id)), "type": _s("stats_applied"),
        "expires_at": _n(int(time.time()) + STATS_MARKER_TTL_SECONDS)}}}


def stats_update(table: str, period: str, item_code: str, deltas: dict[str, int]) -> dict[str, Any]:
    """ADD every counter's delta to one aggregate (created by the first update)."""
    counters = sorted(deltas)
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
    return {"Update": {
        "TableName": table, "Key": _key(keys.stats(period, item_code)),
        "UpdateExpression": "SET #t = :t, #p = :p, #i = :i" + (f" ADD {adds}" if adds else ""),
        "ExpressionAttributeNames": {"#t": "type", "#p": "period", "#i": "item_code",
                                     **{f"#c{i}": c for i, c in enumerate(counters)}},
        "ExpressionAttributeValues": {":t": _s("stats"), ":p": _s(period), ":i": _s(item_code),
                                      **{f":c{i}": _n(deltas[c]) for i, c in enumerate(counters)}}}}


class StatisticsRecords:
    _db: Any
    _table: str
    _stats_page_size = 500  # records per Query page (~150 KB): a 2k-item catalogue is four pages

    def list_statistics(self, period: str) -> list[ItemAggregate]:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True, "Limit": self._stats_page_size,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(keys.stats(period, "")["pk"]), ":s": _s(keys.STATS_ITEM_PREFIX)},
        }
        out: list[ItemAggregate] = []
        aggregate, names = statistics_models.ItemAggregate, statistics_models.COUNTERS
        while True:
            resp = self._db.query(**kwargs)
            for item in resp.get("Items", []):
                out.append(aggregate(period=period, item_code=item["item_code"]["S"],
                                     counters={c: int(item[c]["N"]) for c in names if c in item}))
            if not resp.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
