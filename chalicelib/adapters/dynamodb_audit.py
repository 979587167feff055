"""The audit-trail records of the single table (mixed into `DynamoStore`).

Entries `AUDIT#E#<seq>` live under the application's partition. They are written, each only if
absent, by the transaction that records their events (`DynamoStore._recorded`), and the chain's head
moves on the application record in that same transaction, conditional on its version: two changes
never fork the chain and an event never enters it twice. Nothing here expires: the trail is kept for life.
"""

from __future__ import annotations

from typing import Any

from ..domain.audit import AuditEntry
from . import keys
from .records import doc as _doc
from .records import n as _n
from .records import s as _s


class AuditRecords:
    _db: Any
    _table: str

    @staticmethod
    def _audit_entry_record(entry: AuditEntry) -> dict[str, Any]:
        return {**{k: _s(v) for k, v in keys.audit_entry(entry.application_id, entry.seq).items()},
                "type": _s("audit_entry"), "version": _n(entry.seq), "doc": _s(entry.model_dump_json())}

    def list_audit_entries(self, app_id: str) -> list[AuditEntry]:
        kwargs: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(keys.audit_entry(app_id, 0)["pk"]),
                                          ":s": _s(keys.AUDIT_ENTRY_PREFIX)}}
        entries: list[AuditEntry] = []
        while True:
            resp = self._db.query(**kwargs)
            entries += [AuditEntry.model_validate(_doc(i)) for i in resp.get("Items", [])]
            if not resp.get("LastEvaluatedKey"):
                return entries
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
