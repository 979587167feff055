"""The department-delivery access patterns of the single table (mixed into `DynamoStore`).

Delivery state `DLV#<webhook-id>/DLV` (conditional on `version`, listed per department on gsi1
`DLVS#<dept>` by creation time) with its attempt log inside (attempts beyond the record's share in
`DLV#<webhook-id>/LOG#<gen>#<n>`), endpoint health `EPH#<endpoint>`, due-time retries
`DUE#<shard>/<due ms>#<message>`, the department's event feed `FEED#<dept>#<shard>/<event id>` (written
in the transaction of the event itself, read across its shards), departments on gsi1 `DEPARTMENTS`, and task comments
`TASK#<id>/CMT#<id>`. Every read is a GetItem, a BatchGetItem of known keys or a Query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.applications import DepartmentTask
from ..domain.errors import ConcurrentUpdate
from ..domain.events import DomainEvent
from ..lazy import deferred
from ..ports import OutboundMessage, Page
from . import keys
from .records import compressed_doc
from .records import doc as _doc
from .records import n as _n
from .records import s as _s

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import deliveries as deliveries_models
    from ..domain import departments as departments_models
    from ..domain import task_desk as task_desk_models
    from ..domain.deliveries import Delivery, DeliveryAttempt, EndpointHealth
    from ..domain.departments import Department, Endpoint
    from ..domain.task_desk import TaskComment
else:
    deliveries_models = deferred("chalicelib.domain.deliveries")
    departments_models = deferred("chalicelib.domain.departments")
    task_desk_models = deferred("chalicelib.domain.task_desk")


# The pull API promises at least 30 days; the feed copies live a little longer.
FEED_TTL_SECONDS = 35 * 24 * 3600
# Attempt logs and finished deliveries are kept for a year (the department's audit of what it got).
DELIVERY_TTL_SECONDS = 366 * 24 * 3600
_FILL_ROUNDS = 5  # a status-filtered page reads at most this many key ranges to fill itself
_BATCH_GET_ROUNDS = 5  # BatchGetItem keys DynamoDB handed back unprocessed are asked for again




class DeliveryRecords:
    _db: Any
    _table: str

    # Provided by DynamoStore.
    _get: Callable[..., dict[str, Any] | None]
    _put: Callable[..., None]
    _task_record: Callable[[DepartmentTask], dict[str, Any]]

    def _item(self, key: dict[str, str], type_: str, doc: str, **extra: dict[str, str]) -> dict[str, Any]:
        return {**{k: _s(v) for k, v in key.items()}, "type": _s(type_), "version": _n(0), "doc": _s(doc), **extra}

    # -- feed: written inside the event's own transaction -------------------------------------------
    def _feed_puts(self, events: list[DomainEvent]) -> list[dict[str, Any]]:
        expires = _n(int(time.time()) + FEED_TTL_SECONDS)
        return [{"Item": self._item(keys.feed(department, event.id), "feed_event", event.model_dump_json(),
                                    expires_at=expires),
                 "ConditionExpression": "attribute_not_exists(pk)"}
                for event in events for department in dict.fromkeys(event.recipients)]

    def list_department_events(self, department: str, after: str | None, before: str,
                               limit: int) -> list[DomainEvent]:
        """Every feed shard read at once (one small Query each) and merged in id order."""
        from .sharded import read_shards

        items, _ = read_shards(self._db, self._table, keys.feed_shards(department), pk="pk", sk="sk", limit=limit,
                               descending=False, low=(after or "") + "\x00", high=before, exclude=(before,),
                               consistent=True)
        return [DomainEvent.model_validate(_doc(i)) for i in items]

    # -- departments --------------------------------------------------------------------------------
    def get_department(self, code: str) -> Department | None:
        rec = self._get(keys.department(code), consistent=True)
        return departments_models.Department.model_validate(_doc(rec)) if rec else None

    def list_departments(self, limit: int, cursor: str | None) -> Page:
        from .dynamodb import decode_cursor, encode_cursor

        kwargs: dict[str, Any] = {"TableName": self._table, "IndexName": "gsi1", "Limit": limit,
                                  "KeyConditionExpression": "gsi1pk = :p",
                                  "ExpressionAttributeValues": {":p": _s(keys.DEPARTMENTS_INDEX)}}
        start = decode_cursor(cursor, keys.DEPARTMENTS_INDEX)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._db.query(**kwargs)
        return Page([departments_models.Department.model_validate(_doc(i)) for i in resp.get("Items", [])],
                     encode_cursor(resp.get("LastEvaluatedKey")))

    # -- delivery state and log ---------------------------------------------------------------------
    @staticmethod
    def _delivery_from(rec: dict[str, Any] | None) -> Delivery | None:
        if rec is None or rec.get("type", {}).get("S") != "delivery_state":
            return None
        return deliveries_models.Delivery.model_validate({**_doc(rec), "version": int(rec["version"]["N"])})

    def get_delivery(self, webhook_id: str) -> Delivery | None:
        return self._delivery_from(self._get(keys.delivery(webhook_id), consistent=True))

    def get_delivery_context(self, webhook_id: str, department: str, endpoint_id: str) -> tuple[
            Delivery | None, Endpoint | None, EndpointHealth | None]:
        """One BatchGetItem (strongly consistent) instead of three GetItems: the attempt's first read."""
        wanted = (keys.delivery(webhook_id), keys.endpoint(department, endpoint_id), keys.endpoint_health(endpoint_id))
        found = {(i["pk"]["S"], i["sk"]["S"]): i for i in self._batch_get(list(wanted))}
        state, endpoint, health = (found.get((k["pk"], k["sk"])) for k in wanted)
        return (self._delivery_from(state),
                departments_models.Endpoint.model_validate(_doc(endpoint)) if endpoint else None,
                deliveries_models.EndpointHealth.model_validate(_doc(health)) if health else None)

    def _batch_get(self, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
        pending: list[dict[str, Any]] = [{k: _s(v) for k, v in key.items()} for key in wanted]
        items: list[dict[str, Any]] = []
        for round_ in range(_BATCH_GET_ROUNDS):
            resp = self._db.batch_get_item(RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}})
            items += resp.get("Responses", {}).get(self._table, [])
            pending = resp.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if not pending:
                return items
            time.sleep(0.02 * 2 ** round_)  # throttled: DynamoDB handed back part of the batch
        raise RuntimeError("dynamodb_batch_get_unprocessed")  # the message fails and comes back later

    def save_delivery(self, delivery: Delivery, expected_version: int | None) -> Delivery:
        saved = delivery.model_copy(update={"version": 0 if expected_version is None else expected_version + 1})
        # `status` at the top level: the delivery log's `?status=` filter reads it. A PutItem of the whole
        # record (its attempt log inside) is one write per attempt's outcome; compressed, because the
        # record is written into the department's delivery-log index too and billed per started KB.
        item = {**{k: _s(v) for k, v in keys.delivery(delivery.webhook_id).items()},
                "type": _s("delivery_state"), "version": _n(saved.version),
                **compressed_doc(saved.model_dump_json(exclude={"version"})),
                "status": _s(saved.status.value), "gsi1pk": _s(keys.deliveries_index(saved.department)),
                "gsi1sk": _s(f"{saved.created_at}#{saved.webhook_id}"),
                "expires_at": _n(int(time.time()) + DELIVERY_TTL_SECONDS)}
        if expected_version is None:
            self._put(item, "attribute_not_exists(pk)")
        else:
            self._put(item, "version = :v", {":v": _n(expected_version)})
        return saved

    def add_delivery_attempt(self, attempt: DeliveryAttempt) -> None:
        key = keys.delivery_attempt(attempt.webhook_id, attempt.generation, attempt.attempt)
        self._put(self._item(key, "delivery_attempt", attempt.model_dump_json(),
                             expires_at=_n(int(time.time()) + DELIVERY_TTL_SECONDS)))

    def list_delivery_attempts(self, webhook_id: str) -> list[DeliveryAttempt]:
        """The log in the state record plus any attempts kept in their own items: one Query."""
        kwargs: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True,
                                  "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": _s(keys.delivery(webhook_id)["pk"])}}
        found: dict[tuple[int, int], DeliveryAttempt] = {}
        while True:
            resp = self._db.query(**kwargs)
            for item in resp.get("Items", []):
                if item["sk"]["S"].startswith(keys.ATTEMPT_PREFIX):
                    logged = [deliveries_models.DeliveryAttempt.model_validate(_doc(item))]
                else:
                    state = self._delivery_from(item)
                    logged = list(state.attempts) if state else []
                for a in logged:
                    found.setdefault((a.generation, a.attempt), a)
            if not resp.get("LastEvaluatedKey"):
                return [found[k] for k in sorted(found)]
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def list_deliveries(self, department: str, limit: int, cursor: str | None, status: str | None = None,
                        since: str | None = None, until: str | None = None) -> Page:
        """Newest first; `status` filters (reading on until the page is full or the range ends)."""
        from .dynamodb import decode_cursor, encode_cursor

        partition = keys.deliveries_index(department)
        condition = "gsi1pk = :p"
        values: dict[str, Any] = {":p": _s(partition)}
        if since or until:
            condition += " AND gsi1sk BETWEEN :lo AND :hi"
            values.update({":lo": _s(since or ""), ":hi": _s((until or "9999") + "~")})
        kwargs: dict[str, Any] = {"TableName": self._table, "IndexName": "gsi1",
                                  "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                                  "ScanIndexForward": False}
        if status:
            kwargs["FilterExpression"] = "#st = :st"
            kwargs["ExpressionAttributeNames"] = {"#st": "status"}
            values[":st"] = _s(status)
        start = decode_cursor(cursor, partition)
        found: list[Delivery] = []
        last: dict[str, Any] | None = None
        for _ in range(_FILL_ROUNDS):
            if start:
                kwargs["ExclusiveStartKey"] = start
            kwargs["Limit"] = limit - len(found)
            resp = self._db.query(**kwargs)
            found += [deliveries_models.Delivery.model_validate({**_doc(i), "version": int(i["version"]["N"])})
                      for i in resp.get("Items", [])]
            last = start = resp.get("LastEvaluatedKey")
            if not last or len(found) >= limit:
                break
        return Page(found, encode_cursor(last))

    # -- circuit breaker ----------------------------------------------------------------------------
    def get_endpoint_health(self, endpoint_id: str) -> EndpointHealth | None:
        rec = self._get(keys.endpoint_health(endpoint_id), consistent=True)
        return deliveries_models.EndpointHealth.model_validate(_doc(rec)) if rec else None

    def put_endpoint_health(self, health: EndpointHealth) -> None:
        self._put(self._item(keys.endpoint_health(health.endpoint_id), "endpoint_health", health.model_dump_json()))

    # -- retries due later than SQS can delay -------------------------------------------------------
    def put_due(self, message: OutboundMessage, due_at: datetime) -> None:
        token = keys.due_token(int(due_at.timestamp() * 1000), message.id)
        doc = json.dumps({"id": message.id, "body": message.body})
        self._put(self._item(keys.due(keys.due_shard(message.id), token), "due_delivery", doc))

    def due_messages(self, shard: int, until: datetime, limit: int) -> list[tuple[str, OutboundMessage]]:
        upper = keys.due_token(int(until.timestamp() * 1000), "~")
        resp = self._db.query(
            TableName=self._table, Limit=limit, ConsistentRead=True,
            KeyConditionExpression="pk = :p AND sk <= :u",
            ExpressionAttributeValues={":p": _s(keys.due(shard, "")["pk"]), ":u": _s(upper)})
        out = []
        for item in resp.get("Items", []):
            doc = _doc(item)
            out.append((item["sk"]["S"], OutboundMessage(id=doc["id"], body=doc["body"])))
        return out

    def delete_due(self, shard: int, token: str) -> None:
        self._db.delete_item(TableName=self._table, Key={k: _s(v) for k, v in keys.due(shard, token).items()})

    # -- the department's work on a task ------------------------------------------------------------
    def save_task(self, task: DepartmentTask, expected_version: int) -> DepartmentTask:
        saved = task.model_copy(update={"version": expected_version + 1})
        self._put(self._task_record(saved), "version = :v", {":v": _n(expected_version)})
        return saved

    def add_task_comment(self, comment: TaskComment) -> None:
        self._put(self._item(keys.task_comment(comment.task_id, comment.id), "task_comment",
                             comment.model_dump_json()), "attribute_not_exists(pk)")

    def list_task_comments(self, task_id: str) -> list[TaskComment]:
        resp = self._db.query(
            TableName=self._table, ConsistentRead=True, Limit=200,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": _s(keys.task(task_id)["pk"]), ":s": _s(keys.COMMENT_PREFIX)})
        return [task_desk_models.TaskComment.model_validate(_doc(i)) for i in resp.get("Items", [])]


__all__ = ["ConcurrentUpdate", "DeliveryRecords"]
