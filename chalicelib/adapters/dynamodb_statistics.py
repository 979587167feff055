"""The statistics access patterns of the single table (mixed into `DynamoStore`).

Aggregates `STATS#<period>/ITEM#<code>` hold one numeric attribute per counter, changed only by
`ADD` (atomic in DynamoDB, so concurrent stream batches never lose an increment). Each event's
increments go in one transaction with the marker `PROJ#<event id>/STATS` (put only if absent): a
redelivered event cancels on the marker and adds nothing. A period's items are one partition, read
by one paginated Query; its size is bounded by the catalogue (one record per item with events).
"""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import ClientError

from ..domain.statistics import COUNTERS, ItemAggregate
from . import keys
from .records import key_of as _key
from .records import n as _n
from .records import s as _s

# Markers must outlive every redelivery: the stream keeps records 24 h; outbox records live 30 days.
STATS_MARKER_TTL_SECONDS = 35 * 24 * 3600
# Two stream batches adding to one item at the same instant cancel one transaction with
# TransactionConflict; nothing was written, so it is simply tried again after a short pause.
_CONFLICT_ROUNDS = 6





class StatisticsRecords:
    _db: Any
    _table: str
    _stats_page_size = 500  # records per Query page (~150 KB): a 2k-item catalogue is four pages

    def add_statistics(self, event_id: str, periods: tuple[str, ...], item_code: str,
                       deltas: dict[str, int]) -> bool:
        counters = sorted(deltas)
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
        names = {"#t": "type", "#p": "period", "#i": "item_code", **{f"#c{i}": c for i, c in enumerate(counters)}}
        marker = {**_key(keys.stats_applied(event_id)), "type": _s("stats_applied"),
                  "expires_at": _n(int(time.time()) + STATS_MARKER_TTL_SECONDS)}
        items: list[dict[str, Any]] = [{"Put": {"TableName": self._table, "Item": marker,
                                                "ConditionExpression": "attribute_not_exists(pk)"}}]
        for period in periods:
            items.append({"Update": {
                "TableName": self._table, "Key": _key(keys.stats(period, item_code)),
                "UpdateExpression": "SET #t = :t, #p = :p, #i = :i" + (f" ADD {adds}" if adds else ""),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":t": _s("stats"), ":p": _s(period), ":i": _s(item_code),
                                              **{f":c{i}": _n(deltas[c]) for i, c in enumerate(counters)}}}})
        for attempt in range(_CONFLICT_ROUNDS):
            try:
                self._db.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False  # the marker exists: this event was counted before
                if "TransactionConflict" not in reasons or attempt == _CONFLICT_ROUNDS - 1:
                    raise
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))  # noqa: S311 (jitter, not security)
        raise AssertionError("unreachable")  # pragma: no cover

    def list_statistics(self, period: str) -> list[ItemAggregate]:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True, "Limit": self._stats_page_size,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(keys.stats(period, "")["pk"]), ":s": _s(keys.STATS_ITEM_PREFIX)},
        }
        out: list[ItemAggregate] = []
        while True:
            resp = self._db.query(**kwargs)
            for item in resp.get("Items", []):
                out.append(ItemAggregate(period=period, item_code=item["item_code"]["S"],
                                         counters={c: int(item[c]["N"]) for c in COUNTERS if c in item}))
            if not resp.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
