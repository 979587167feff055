"""The audit-trail access patterns of the single table (mixed into `DynamoStore`).

Under the application's partition: entries `AUDIT#E#<seq>`, the head `AUDIT#HEAD` (a copy of the
last entry, `version` = its seq) and a marker `AUDIT#EVT#<event id>` per event in the chain. One
append is one transaction of all three, each conditional: entry n must not exist, the head must be
at n-1 and the event's marker must not exist — so two appenders never fork the chain and a
redelivered event never enters it twice. Nothing here expires: the trail is kept for life.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..domain.audit import AuditEntry
from ..domain.errors import ConcurrentUpdate
from . import keys
from .records import doc as _doc
from .records import key_of as _key
from .records import n as _n
from .records import s as _s

# A cancelled append names these for the item(s) that stopped it; any of them means "lost a race".
_LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})





class AuditRecords:
    _db: Any
    _table: str

    def audit_head(self, app_id: str) -> AuditEntry | None:
        rec = self._db.get_item(TableName=self._table, Key=_key(keys.audit_head(app_id)),
                                ConsistentRead=True).get("Item")
        return AuditEntry.model_validate(_doc(rec)) if rec else None

    def audit_has_event(self, app_id: str, event_id: str) -> bool:
        rec = self._db.get_item(TableName=self._table, Key=_key(keys.audit_event(app_id, event_id)),
                                ConsistentRead=True, ProjectionExpression="pk").get("Item")
        return rec is not None

    def append_audit_entry(self, entry: AuditEntry) -> None:
        doc = _s(entry.model_dump_json())
        head_condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"} if entry.seq == 1 else
            {"ConditionExpression": "version = :prev", "ExpressionAttributeValues": {":prev": _n(entry.seq - 1)}})
        items = [
            {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
                **_key(keys.audit_entry(entry.application_id, entry.seq)), "type": _s("audit_entry"),
                "version": _n(entry.seq), "doc": doc}}},
            {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
                **_key(keys.audit_event(entry.application_id, entry.event_id)), "type": _s("audit_event"),
                "version": _n(entry.seq), "doc": _s(f'{{"seq":{entry.seq}}}')}}},
            {"Put": {"TableName": self._table, **head_condition, "Item": {
                **_key(keys.audit_head(entry.application_id)), "type": _s("audit_head"),
                "version": _n(entry.seq), "doc": doc}}},
        ]
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and any(
                    r.get("Code") in _LOST_RACE for r in reasons):
                raise ConcurrentUpdate() from exc
            raise

    def list_audit_entries(self, app_id: str) -> list[AuditEntry]:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(keys.audit_head(app_id)["pk"]), ":s": _s(keys.AUDIT_ENTRY_PREFIX)}}
        entries: list[AuditEntry] = []
        while True:
            resp = self._db.query(**kwargs)
            entries += [AuditEntry.model_validate(_doc(i)) for i in resp.get("Items", [])]
            if not resp.get("LastEvaluatedKey"):
                return entries
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
