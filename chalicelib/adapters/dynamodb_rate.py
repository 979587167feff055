"""Request counters of the per-principal rate limits (mixed into `DynamoStore`).

`RATE#<subject>/<class>#<window start>`: one UpdateItem per request, `ADD n 1` under the condition
that the window still has room, so concurrent requests can never admit more than the limit and a
refused request writes nothing. The counter carries `expires_at` and is deleted by the table's TTL.
A sliding class also reads the previous window's counter (one GetItem, eventually consistent: a
request counted a moment ago there may be missed, which errs towards admitting).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from . import keys


class RateCounterRecords:
    _db: Any
    _table: str

    def take_rate_slot(self, subject: str, rate_class: str, window_start: int, limit: int,
                       expires_at: int) -> bool:
        key = keys.rate_counter(subject, rate_class, window_start)
        try:
            self._db.update_item(
                TableName=self._table, Key={k: {"S": v} for k, v in key.items()},
                UpdateExpression="ADD #n :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)},
                                           ":exp": {"N": str(expires_at)}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def rate_slots_taken(self, subject: str, rate_class: str, window_start: int) -> int:
        key = keys.rate_counter(subject, rate_class, window_start)
        item = self._db.get_item(TableName=self._table, Key={k: {"S": v} for k, v in key.items()},
                                 ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"}).get("Item")
        return int(item["n"]["N"]) if item and "n" in item else 0
