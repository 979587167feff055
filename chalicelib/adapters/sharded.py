"""Lists written across shards of one key and read back as one list: a department's inbox (gsi1) and
its event feed (table), so that no partition key takes more than its share of a big department's writes.

A page asks every shard at once for at most a page (one more when a bound already handed out has to be
dropped: DynamoDB's bounds are inclusive) and merges the answers by sort key. Every item of the true
page is among the first items of its own shard, so the merge is exact, and a page costs one small
Query per shard whatever the size of the list. The cursor is the last sort key handed out, bound to
its list: every shard continues after it.
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..domain.errors import Problem, ValidationFailed

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """Threads shared by a warm container (a boto3 client may be used from several threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="shard-read")
        return _pool


def read_shards(db: Any, table: str, partitions: list[str], *, pk: str, sk: str, limit: int,
                descending: bool, index: str | None = None, low: str | None = None, high: str | None = None,
                exclude: tuple[str, ...] = (), consistent: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The first `limit` items with low <= sort key <= high (either bound open) and not in `exclude`,
    over all `partitions`, in sort-key order; and whether more may follow."""
    if low is not None and high is not None and low > high:
        return [], False

    def one(partition: str) -> tuple[list[dict[str, Any]], bool]:
        condition, values = f"{pk} = :p", {":p": {"S": partition}}
        if low is not None and high is not None:
            condition += f" AND {sk} BETWEEN :lo AND :hi"
        elif low is not None:
            condition += f" AND {sk} >= :lo"
        elif high is not None:
            condition += f" AND {sk} <= :hi"
        if low is not None:
            values[":lo"] = {"S": low}
        if high is not None:
            values[":hi"] = {"S": high}
        kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": condition,
                                  "ExpressionAttributeValues": values, "ScanIndexForward": not descending,
                                  "Limit": limit + len(exclude)}
        if index is not None:
            kwargs["IndexName"] = index  # a GSI read is eventually consistent by definition
        else:
            kwargs["ConsistentRead"] = consistent
        resp = db.query(**kwargs)
        return resp.get("Items", []), bool(resp.get("LastEvaluatedKey"))

    answers = [one(partitions[0])] if len(partitions) == 1 else list(_executor().map(one, partitions))
    items = [i for found, _ in answers for i in found if i[sk]["S"] not in exclude]
    items.sort(key=lambda i: str(i[sk]["S"]), reverse=descending)
    more = len(items) > limit or any(truncated for _, truncated in answers)
    return items[:limit], more


def encode_after(list_name: str, sort_key: str) -> str:
    raw = json.dumps({"list": list_name, "after": sort_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_after(cursor: str | None, list_name: str) -> str | None:
    """The sort key a cursor continues after; a cursor of another list (or none at all) is refused."""
    if not cursor:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (isinstance(doc, dict) and set(doc) == {"list", "after"} and doc["list"] == list_name
              and isinstance(doc["after"], str) and 0 < len(doc["after"]) <= 256)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid",
                                                 "cursor")])
    return str(doc["after"])
