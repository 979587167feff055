"""The single-table DynamoDB implementation of `Store`.

Each record is `pk`, `sk`, optional `gsi1pk`/`gsi1sk`, a `type`, a numeric `version` for optimistic
concurrency and the entity as one JSON `doc`. Changes are conditional writes; acceptance and
decisions are transactions together with their outbox events, so a case never exists without its
events and a failed condition writes nothing.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..domain.applications import Application, DepartmentTask
from ..domain.catalogue import ServiceItem
from ..domain.departments import Department, Endpoint
from ..domain.errors import ConcurrentUpdate, Conflict, Problem, ValidationFailed
from ..domain.events import DomainEvent
from ..domain.identity import VerifiedIdentity
from ..ports import Page
from . import keys
from .records import doc as _doc

# Outbox records only need to live until the stream has carried them (24 h) plus a margin for replay.
OUTBOX_TTL_SECONDS = 30 * 24 * 3600
DONE_DELIVERY_STATES = frozenset({"delivered", "failed_permanently", "dropped"})


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _record(key: dict[str, str], type_: str, doc: str, *, version: int = 0,
            gsi: tuple[str, str] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {k: _s(v) for k, v in key.items()}
    item.update(type=_s(type_), version=_n(version), doc=_s(doc))
    if gsi is not None:
        item.update(gsi1pk=_s(gsi[0]), gsi1sk=_s(gsi[1]))
    item.update(extra or {})
    return item


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    flat = {k: v["S"] for k, v in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps(flat, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, partition: str) -> dict[str, Any] | None:
    """The cursor is opaque to clients; one that does not belong to this very list is refused."""
    if not cursor:
        return None
    try:
        flat = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = isinstance(flat, dict) and flat.get("gsi1pk") == partition and set(flat) == {
            "pk", "sk", "gsi1pk", "gsi1sk"} and all(isinstance(v, str) for v in flat.values())
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid",
                                                 "cursor")])
    return {k: _s(v) for k, v in flat.items()}


class DynamoStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- plumbing ---------------------------------------------------------------------------------
    def _get(self, key: dict[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
        resp = self._db.get_item(TableName=self._table, Key={k: _s(v) for k, v in key.items()},
                                 ConsistentRead=consistent)
        return resp.get("Item")

    def _put(self, item: dict[str, Any], condition: str | None = None,
             values: dict[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._db.put_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdate() from exc
            raise

    def _query_index(self, partition: str, limit: int, cursor: str | None, newest_first: bool) -> tuple[
            list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": "gsi1", "Limit": limit,
            "KeyConditionExpression": "gsi1pk = :p", "ExpressionAttributeValues": {":p": _s(partition)},
            "ScanIndexForward": not newest_first,
        }
        start = decode_cursor(cursor, partition)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self._db.query(**kwargs)
        return resp.get("Items", []), encode_cursor(resp.get("LastEvaluatedKey"))

    def _transact(self, puts: list[dict[str, Any]]) -> None:
        try:
            self._db.transact_write_items(TransactItems=[{"Put": {"TableName": self._table, **p}} for p in puts])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                    raise ConcurrentUpdate() from exc
            raise

    @staticmethod
    def _versioned_put(item: dict[str, Any], expected_version: int) -> dict[str, Any]:
        return {"Item": item, "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": _n(expected_version)}}

    @staticmethod
    def _new_put(item: dict[str, Any]) -> dict[str, Any]:
        return {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    # -- catalogue --------------------------------------------------------------------------------
    def put_item(self, item: ServiceItem) -> None:
        doc = item.model_dump_json()
        self._put(_record(keys.item_version(item.code, item.version), "item_version", doc, version=item.version))
        latest = self._get(keys.item_latest(item.code), consistent=True)
        if latest is not None and int(latest["version"]["N"]) > item.version:
            return  # an older version re-published: the guide keeps showing the newest
        self._put(_record(keys.item_latest(item.code), "item", doc, version=item.version,
                          gsi=(keys.CATALOGUE_INDEX, f"ITEM#{item.code}")))

    def get_item(self, code: str) -> ServiceItem | None:
        rec = self._get(keys.item_latest(code))
        return ServiceItem.model_validate(_doc(rec)) if rec else None

    def get_item_version(self, code: str, version: int) -> ServiceItem | None:
        rec = self._get(keys.item_version(code, version))
        return ServiceItem.model_validate(_doc(rec)) if rec else None

    def list_items(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.CATALOGUE_INDEX, limit, cursor, newest_first=False)
        return Page([ServiceItem.model_validate(_doc(i)) for i in items], next_cursor)

    # -- departments ------------------------------------------------------------------------------
    def put_department(self, department: Department) -> None:
        self._put(_record(keys.department(department.code), "department", department.model_dump_json()))

    def put_endpoint(self, endpoint: Endpoint) -> None:
        self._put(_record(keys.endpoint(endpoint.department, endpoint.id), "endpoint", endpoint.model_dump_json()))

    def get_endpoint(self, department: str, endpoint_id: str) -> Endpoint | None:
        rec = self._get(keys.endpoint(department, endpoint_id))
        return Endpoint.model_validate(_doc(rec)) if rec else None

    def list_endpoints(self, department: str) -> list[Endpoint]:
        resp = self._db.query(
            TableName=self._table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": _s(keys.department(department)["pk"]), ":s": _s(keys.ENDPOINT_PREFIX)},
        )
        return [Endpoint.model_validate(_doc(i)) for i in resp.get("Items", [])]

    # -- identities -------------------------------------------------------------------------------
    def put_identity(self, identity: VerifiedIdentity) -> None:
        self._put(_record(keys.identity(identity.sub), "identity", identity.model_dump_json()))

    def get_identity(self, sub: str) -> VerifiedIdentity | None:
        rec = self._get(keys.identity(sub), consistent=True)
        return VerifiedIdentity.model_validate(_doc(rec)) if rec else None

    # -- applications and cases -------------------------------------------------------------------
    def _app_record(self, app: Application) -> dict[str, Any]:
        return _record(keys.application(app.id), "application", app.model_dump_json(), version=app.version,
                       gsi=(keys.owner_index(app.owner_sub), app.id))

    def _task_record(self, task: DepartmentTask) -> dict[str, Any]:
        return _record(keys.task(task.id), "task", task.model_dump_json(), version=task.version,
                       gsi=(keys.inbox_index(task.department), task.id))

    def _event_record(self, event: DomainEvent) -> dict[str, Any]:
        return _record(keys.outbox_event(event.application_id, event.id), "event", event.model_dump_json(),
                       extra={"expires_at": _n(int(time.time()) + OUTBOX_TTL_SECONDS)})

    def create_application(self, app: Application) -> None:
        try:
            self._put(self._app_record(app), "attribute_not_exists(pk)")
        except ConcurrentUpdate as exc:
            raise Conflict(code="application_exists") from exc

    def get_application(self, app_id: str) -> Application | None:
        rec = self._get(keys.application(app_id), consistent=True)
        return Application.model_validate(_doc(rec)) if rec else None

    def save_application(self, app: Application, expected_version: int) -> Application:
        saved = app.model_copy(update={"version": expected_version + 1})
        self._put(self._app_record(saved), "version = :v", {":v": _n(expected_version)})
        return saved

    def list_applications(self, owner_sub: str, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.owner_index(owner_sub), limit, cursor, newest_first=True)
        return Page([Application.model_validate(_doc(i)) for i in items], next_cursor)

    def accept_application(self, app: Application, expected_version: int, tasks: list[DepartmentTask],
                           events: list[DomainEvent]) -> Application:
        saved = app.model_copy(update={"version": expected_version + 1})
        self._transact([
            self._versioned_put(self._app_record(saved), expected_version),
            *(self._new_put(self._task_record(t)) for t in tasks),
            *(self._new_put(self._event_record(e)) for e in events),
        ])
        return saved

    def get_task(self, task_id: str) -> DepartmentTask | None:
        rec = self._get(keys.task(task_id), consistent=True)
        return DepartmentTask.model_validate(_doc(rec)) if rec else None

    def list_tasks(self, department: str, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.inbox_index(department), limit, cursor, newest_first=True)
        return Page([DepartmentTask.model_validate(_doc(i)) for i in items], next_cursor)

    def decide_task(self, app: Application, expected_app_version: int, task: DepartmentTask,
                    expected_task_version: int, events: list[DomainEvent]) -> tuple[Application, DepartmentTask]:
        saved_app = app.model_copy(update={"version": expected_app_version + 1})
        saved_task = task.model_copy(update={"version": expected_task_version + 1})
        self._transact([
            self._versioned_put(self._app_record(saved_app), expected_app_version),
            self._versioned_put(self._task_record(saved_task), expected_task_version),
            *(self._new_put(self._event_record(e)) for e in events),
        ])
        return saved_app, saved_task

    # -- deliveries -------------------------------------------------------------------------------
    def delivery_done(self, webhook_id: str) -> bool:
        rec = self._get(keys.delivery(webhook_id), consistent=True)
        return rec is not None and _doc(rec).get("status") in DONE_DELIVERY_STATES

    def record_delivery(self, webhook_id: str, status: str, detail: dict[str, Any], now: datetime) -> None:
        doc = json.dumps({**detail, "webhook_id": webhook_id, "status": status, "at": now.isoformat()})
        self._put(_record(keys.delivery(webhook_id), "delivery", doc))
