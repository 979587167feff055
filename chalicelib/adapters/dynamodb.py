"""The single-table DynamoDB implementation of `Store`.

Each record is `pk`, `sk`, optional `gsi1pk`/`gsi1sk`, a `type`, a numeric `version` for optimistic
concurrency and the entity as one JSON `doc`. Changes are conditional writes; acceptance and
decisions are transactions together with their outbox events, so a case never exists without its
events and a failed condition writes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..domain.applications import (
    Application,
    ApplicationStatus,
    CaseChange,
    DeadlineWatch,
    DepartmentTask,
    with_events,
)
from ..domain.catalogue import ServiceItem
from ..domain.errors import ConcurrentUpdate, Conflict, Problem, ValidationFailed
from ..domain.events import DomainEvent
from ..domain.lifecycle import OPEN
from ..lazy import deferred
from ..ports import Page
from . import keys
from .dynamodb_alerts import AlertContactRecords
from .dynamodb_audit import AuditRecords
from .dynamodb_delivery import DeliveryRecords
from .dynamodb_notifications import NotificationRecords
from .dynamodb_projections import ProjectionRecords
from .dynamodb_rate import RateCounterRecords
from .dynamodb_statistics import StatisticsRecords
from .dynamodb_vault import VaultRecords
from .records import compressed_doc
from .records import doc as _doc
from .records import n as _n
from .records import s as _s

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import departments as departments_models
    from ..domain import enterprises as enterprises_models
    from ..domain import identity as identity_models
    from ..domain.departments import Department, Endpoint
    from ..domain.enterprises import AgentAuthorization, Enterprise
    from ..domain.identity import VerifiedIdentity
else:
    departments_models = deferred("chalicelib.domain.departments")
    enterprises_models = deferred("chalicelib.domain.enterprises")
    identity_models = deferred("chalicelib.domain.identity")


# Outbox records only need to live until the stream has carried them (24 h) plus a margin for replay.
OUTBOX_TTL_SECONDS = 30 * 24 * 3600
DONE_DELIVERY_STATES = frozenset({"delivered", "failed_permanently", "dropped"})
_VERSION_CACHE_MAX = 512  # pinned catalogue versions kept by a warm container




def _record(key: dict[str, str], type_: str, doc: str, *, version: int = 0,
            gsi: tuple[str, str] | None = None, extra: dict[str, Any] | None = None,
            compress: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {k: _s(v) for k, v in key.items()}
    item.update(type=_s(type_), version=_n(version), **(compressed_doc(doc) if compress else {"doc": _s(doc)}))
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


class DynamoStore(DeliveryRecords, RateCounterRecords, StatisticsRecords, AuditRecords, NotificationRecords,
                  ProjectionRecords,
                  VaultRecords, AlertContactRecords):
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name
        # Published catalogue versions are immutable (put_item refuses other content under the same
        # number), so a warm container reads each pinned version once, not on every upload and submit.
        self._versions: dict[tuple[str, int], ServiceItem] = {}

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

    def _transact(self, puts: list[dict[str, Any]], updates: list[dict[str, Any]] | None = None,
                  deletes: list[dict[str, Any]] | None = None) -> None:
        try:
            self._db.transact_write_items(TransactItems=[
                *({"Put": {"TableName": self._table, **p}} for p in puts),
                *({"Update": {"TableName": self._table, **u}} for u in updates or ()),
                *({"Delete": {"TableName": self._table, **d}} for d in deletes or ())])
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
        # A published version is immutable: the same number with other content is refused.
        self._put(_record(keys.item_version(item.code, item.version), "item_version", doc, version=item.version,
                          extra={"content_hash": _s(item.content_hash)}),
                  "attribute_not_exists(pk) OR content_hash = :h", {":h": _s(item.content_hash)})
        latest = self._get(keys.item_latest(item.code), consistent=True)
        if latest is not None and int(latest["version"]["N"]) > item.version:
            return  # an older version re-published: the guide keeps showing the newest
        self._put(_record(keys.item_latest(item.code), "item", doc, version=item.version,
                          gsi=(keys.CATALOGUE_INDEX, f"ITEM#{item.code}")))

    def get_item(self, code: str) -> ServiceItem | None:
        rec = self._get(keys.item_latest(code))
        return ServiceItem.model_validate(_doc(rec)) if rec else None

    def get_item_version(self, code: str, version: int) -> ServiceItem | None:
        cached = self._versions.get((code, version))
        if cached is not None:
            return cached
        rec = self._get(keys.item_version(code, version))
        if rec is None:
            return None
        item = ServiceItem.model_validate(_doc(rec))
        if len(self._versions) >= _VERSION_CACHE_MAX:
            self._versions.clear()
        self._versions[(code, version)] = item
        return item

    def list_items(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.CATALOGUE_INDEX, limit, cursor, newest_first=False)
        return Page([ServiceItem.model_validate(_doc(i)) for i in items], next_cursor)

    def put_draft(self, item: ServiceItem) -> None:
        # exclude_unset: the linter sees which limits the author really wrote (no-file-limits).
        self._put(_record(keys.item_draft(item.code), "item_draft", item.model_dump_json(exclude_unset=True),
                          gsi=(keys.DRAFTS_INDEX, f"ITEM#{item.code}")))

    def get_draft(self, code: str) -> ServiceItem | None:
        rec = self._get(keys.item_draft(code), consistent=True)
        return ServiceItem.model_validate(_doc(rec)) if rec else None

    def list_drafts(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.DRAFTS_INDEX, limit, cursor, newest_first=False)
        return Page([ServiceItem.model_validate(_doc(i)) for i in items], next_cursor)

    def delete_draft(self, code: str) -> None:
        self._db.delete_item(TableName=self._table, Key={k: _s(v) for k, v in keys.item_draft(code).items()})

    def open_applications(self, code: str, version: int) -> int:
        rec = self._get(keys.item_open_counter(code, version), consistent=True)
        return int(rec["open"]["N"]) if rec and "open" in rec else 0

    def _open_counter(self, code: str, version: int, delta: int) -> dict[str, Any]:
        return {"Key": {k: _s(v) for k, v in keys.item_open_counter(code, version).items()},
                "UpdateExpression": "ADD #o :d SET #t = :t", "ExpressionAttributeNames": {"#o": "open", "#t": "type"},
                "ExpressionAttributeValues": {":d": _n(delta), ":t": _s("item_open_counter")}}

    # -- departments ------------------------------------------------------------------------------
    def put_department(self, department: Department) -> None:
        self._put(_record(keys.department(department.code), "department", department.model_dump_json(),
                          gsi=(keys.DEPARTMENTS_INDEX, department.code)))

    def put_endpoint(self, endpoint: Endpoint) -> None:
        self._put(_record(keys.endpoint(endpoint.department, endpoint.id), "endpoint", endpoint.model_dump_json()))

    def get_endpoint(self, department: str, endpoint_id: str) -> Endpoint | None:
        rec = self._get(keys.endpoint(department, endpoint_id))
        return departments_models.Endpoint.model_validate(_doc(rec)) if rec else None

    def list_endpoints(self, department: str) -> list[Endpoint]:
        resp = self._db.query(
            TableName=self._table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": _s(keys.department(department)["pk"]), ":s": _s(keys.ENDPOINT_PREFIX)},
        )
        return [departments_models.Endpoint.model_validate(_doc(i)) for i in resp.get("Items", [])]

    # -- identities -------------------------------------------------------------------------------
    def put_identity(self, identity: VerifiedIdentity) -> None:
        self._put(_record(keys.identity(identity.sub), "identity", identity.model_dump_json()))

    def get_identity(self, sub: str) -> VerifiedIdentity | None:
        rec = self._get(keys.identity(sub), consistent=True)
        return identity_models.VerifiedIdentity.model_validate(_doc(rec)) if rec else None

    def bind_identity(self, identity: VerifiedIdentity) -> None:
        claim = _record(keys.identity_index("id_number", identity.id_number_index), "identity_index",
                        json.dumps({"sub": identity.sub}), extra={"owner": _s(identity.sub)})
        try:
            self._transact([
                {"Item": _record(keys.identity(identity.sub), "identity", identity.model_dump_json())},
                {"Item": claim, "ConditionExpression": "attribute_not_exists(pk) OR #o = :sub",
                 "ExpressionAttributeNames": {"#o": "owner"},
                 "ExpressionAttributeValues": {":sub": _s(identity.sub)}},
            ])
        except ConcurrentUpdate as exc:
            raise Conflict("该身份证号已绑定其他账号", "This ID number is bound to another account",
                           code="identity_already_bound") from exc

    def create_enterprise(self, enterprise: Enterprise) -> None:
        claim = _record(keys.identity_index("credit_code", enterprise.credit_code_index), "identity_index",
                        json.dumps({"enterprise_id": enterprise.id}), extra={"owner": _s(enterprise.id)})
        try:
            self._transact([
                self._new_put(_record(keys.enterprise(enterprise.id), "enterprise", enterprise.model_dump_json())),
                self._new_put(claim),
            ])
        except ConcurrentUpdate as exc:
            raise Conflict("该统一社会信用代码已登记", "This credit code is registered already",
                           code="enterprise_exists") from exc

    def get_enterprise(self, enterprise_id: str) -> Enterprise | None:
        rec = self._get(keys.enterprise(enterprise_id))
        return enterprises_models.Enterprise.model_validate(_doc(rec)) if rec else None

    def put_authorization(self, authorization: AgentAuthorization) -> None:
        self._put(_record(keys.authorization(authorization.agent_sub, authorization.enterprise_id),
                          "authorization", authorization.model_dump_json()))

    def get_authorization(self, agent_sub: str, enterprise_id: str) -> AgentAuthorization | None:
        rec = self._get(keys.authorization(agent_sub, enterprise_id), consistent=True)
        return enterprises_models.AgentAuthorization.model_validate(_doc(rec)) if rec else None

    def list_authorizations(self, agent_sub: str) -> list[AgentAuthorization]:
        resp = self._db.query(
            TableName=self._table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": _s(keys.identity(agent_sub)["pk"]),
                                       ":s": _s(keys.AUTHORIZATION_PREFIX)})
        return [enterprises_models.AgentAuthorization.model_validate(_doc(i)) for i in resp.get("Items", [])]

    def put_registry_entry(self, entry_index: str) -> None:
        self._put(_record(keys.registry_entry(entry_index), "registry_entry", "{}"))

    def registry_entry_exists(self, entry_index: str) -> bool:
        return self._get(keys.registry_entry(entry_index)) is not None

    # -- applications and cases -------------------------------------------------------------------
    def _app_record(self, app: Application) -> dict[str, Any]:
        return _record(keys.application(app.id), "application", app.model_dump_json(), version=app.version,
                       gsi=(keys.owner_index(app.owner_sub), app.id), compress=True)

    def _task_record(self, task: DepartmentTask) -> dict[str, Any]:
        return _record(keys.task(task.id), "task", task.model_dump_json(), version=task.version,
                       gsi=(keys.inbox_shard(task.department, task.id), keys.inbox_sort(task.status.value, task.id)),
                       compress=True)

    def _event_record(self, event: DomainEvent) -> dict[str, Any]:
        return _record(keys.outbox_event(event.application_id, event.id), "event", event.model_dump_json(),
                       extra={"expires_at": _n(int(time.time()) + OUTBOX_TTL_SECONDS)})

    def _recorded(self, app: Application, expected_version: int,
                  events: list[DomainEvent]) -> tuple[Application, list[dict[str, Any]]]:
        """The application as this change saves it (next version, its audit chain's new head) and the
        puts recording the change's events: each joins the outbox and, as its entry, the case's chain."""
        saved, stamped, entries = with_events(app, expected_version + 1, events)
        return saved, [*(self._new_put(self._event_record(e)) for e in stamped),
                       *(self._new_put(self._audit_entry_record(x)) for x in entries)]

    def create_application(self, app: Application) -> None:
        try:  # with the open-applications counter of its item version (catalogue diff impact)
            self._transact([self._new_put(self._app_record(app))],
                           [self._open_counter(app.item_code, app.item_version, 1)])
        except ConcurrentUpdate as exc:
            raise Conflict(code="application_exists") from exc

    def get_application(self, app_id: str) -> Application | None:
        rec = self._get(keys.application(app_id), consistent=True)
        return Application.model_validate(_doc(rec)) if rec else None

    def save_application(self, app: Application, expected_version: int) -> Application:
        saved = app.model_copy(update={"version": expected_version + 1})
        self._put(self._app_record(saved), "version = :v", {":v": _n(expected_version)})
        return saved

    def save_application_with_events(self, app: Application, expected_version: int,
                                     events: list[DomainEvent]) -> Application:
        """The application and its outbox events in one transaction: a lost race writes neither."""
        if not events:
            return self.save_application(app, expected_version)
        saved, recorded = self._recorded(app, expected_version, events)
        self._transact([self._versioned_put(self._app_record(saved), expected_version), *recorded])
        return saved

    def list_applications(self, owner_sub: str, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_index(keys.owner_index(owner_sub), limit, cursor, newest_first=True)
        return Page([Application.model_validate(_doc(i)) for i in items], next_cursor)

    def accept_application(self, app: Application, expected_version: int, tasks: list[DepartmentTask],
                           events: list[DomainEvent]) -> Application:
        saved, recorded = self._recorded(app, expected_version, events)
        self._transact([
            self._versioned_put(self._app_record(saved), expected_version),
            *(self._new_put(self._task_record(t)) for t in tasks),
            *recorded,
            *self._feed_puts(events),
        ])
        return saved

    def get_task(self, task_id: str) -> DepartmentTask | None:
        rec = self._get(keys.task(task_id), consistent=True)
        return DepartmentTask.model_validate(_doc(rec)) if rec else None

    def list_tasks(self, department: str, limit: int, cursor: str | None, status: str | None = None) -> Page:
        """Open work first, newest first; `status` narrows it by key prefix. The inbox is sharded: every
        shard is read at once (one small Query each) and merged (adapters/sharded.py)."""
        from .sharded import decode_after, encode_after, read_shards

        name = keys.inbox_index(department)
        after = decode_after(cursor, name)
        low = high = None
        if status is not None:
            prefix = keys.inbox_sort(status, "")
            low, high = prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)  # every key starting with the prefix
        if after is not None:
            high = after if high is None else min(high, after)
        items, more = read_shards(self._db, self._table, keys.inbox_shards(department), pk="gsi1pk", sk="gsi1sk",
                                  index="gsi1", low=low, high=high, exclude=(after,) if after else (),
                                  descending=True, limit=limit)
        return Page([DepartmentTask.model_validate(_doc(i)) for i in items],
                    encode_after(name, items[-1]["gsi1sk"]["S"]) if more and items else None)

    def decide_task(self, app: Application, expected_app_version: int, task: DepartmentTask,
                    expected_task_version: int, events: list[DomainEvent]) -> tuple[Application, DepartmentTask]:
        saved_app, recorded = self._recorded(app, expected_app_version, events)
        saved_task = task.model_copy(update={"version": expected_task_version + 1})
        closed = saved_app.status is ApplicationStatus.DECIDED  # no longer open under its catalogue version
        self._transact([
            self._versioned_put(self._app_record(saved_app), expected_app_version),
            self._versioned_put(self._task_record(saved_task), expected_task_version),
            *recorded,
            *self._feed_puts(events),
        ], [self._open_counter(app.item_code, app.item_version, -1)] if closed else None)
        return saved_app, saved_task

    def save_case(self, change: CaseChange) -> Application:
        """One case change in one transaction: every version read is checked, the events join the
        outbox, the deadline watch moves, and the open counter drops when the case leaves `OPEN`."""
        app = change.app
        saved, recorded = self._recorded(app, app.version, change.events)
        watched = {(w.deadline, w.task_id) for w in change.watch}
        puts = [
            self._versioned_put(self._app_record(saved), app.version),
            *(self._versioned_put(self._task_record(t.model_copy(update={"version": t.version + 1})), t.version)
              for t in change.changed_tasks),
            *(self._new_put(self._task_record(t)) for t in change.new_tasks),
            *recorded,
            *self._feed_puts(change.events),
            *({"Item": _record(keys.deadline_watch(w.deadline, w.task_id), "deadline_watch",
                               json.dumps(dataclasses.asdict(w)))} for w in change.watch),
        ]
        deletes = [{"Key": {k: _s(v) for k, v in keys.deadline_watch(w.deadline, w.task_id).items()}}
                   for w in change.unwatch if (w.deadline, w.task_id) not in watched]
        left_open = change.previous_status in OPEN and saved.status not in OPEN
        self._transact(puts, [self._open_counter(app.item_code, app.item_version, -1)] if left_open else None,
                       deletes)
        return saved

    def list_deadline_watch(self, day: str) -> list[DeadlineWatch]:
        pk = keys.deadline_watch(day, "")["pk"]
        kwargs: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": _s(pk)}}
        found: list[DeadlineWatch] = []
        while True:
            resp = self._db.query(**kwargs)
            found += [DeadlineWatch(**_doc(i)) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return found
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # -- deliveries -------------------------------------------------------------------------------
    def delivery_done(self, webhook_id: str) -> bool:
        rec = self._get(keys.delivery(webhook_id), consistent=True)
        return rec is not None and _doc(rec).get("status") in DONE_DELIVERY_STATES

    def record_delivery(self, webhook_id: str, status: str, detail: dict[str, Any], now: datetime) -> None:
        doc = json.dumps({**detail, "webhook_id": webhook_id, "status": status, "at": now.isoformat()})
        self._put(_record(keys.delivery(webhook_id), "delivery", doc))
