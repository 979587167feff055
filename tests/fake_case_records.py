"""The audit-trail and applicant-notification part of the fake store (mixed into `tests.fakes.FakeStore`);
tests/contract/test_case_records_contract.py holds it to the DynamoDB adapter's behaviour. Appends are
atomic under a lock, like the adapter's transaction, so thread tests against the fake mean something."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.notifications import Notification
from chalicelib.ports import Page

_LOCK = threading.Lock()


class FakeCaseRecords:
    def _case_tables(self) -> dict[str, Any]:
        with _LOCK:
            if not hasattr(self, "_cr"):
                self._cr: dict[str, Any] = {"entries": {}, "heads": {}, "markers": set(), "notifications": {}}
            return self._cr

    # -- audit trail --------------------------------------------------------------------------------
    def audit_head(self, app_id: str) -> AuditEntry | None:
        head: AuditEntry | None = self._case_tables()["heads"].get(app_id)
        return head

    def audit_has_event(self, app_id: str, event_id: str) -> bool:
        return (app_id, event_id) in self._case_tables()["markers"]

    def append_audit_entry(self, entry: AuditEntry) -> None:
        tables = self._case_tables()
        with _LOCK:
            chain: dict[int, AuditEntry] = tables["entries"].setdefault(entry.application_id, {})
            head = tables["heads"].get(entry.application_id)
            if (entry.seq in chain or (entry.application_id, entry.event_id) in tables["markers"]
                    or (head.seq if head else 0) != entry.seq - 1):
                raise ConcurrentUpdate()
            chain[entry.seq] = entry
            tables["markers"].add((entry.application_id, entry.event_id))
            tables["heads"][entry.application_id] = entry

    def list_audit_entries(self, app_id: str) -> list[AuditEntry]:
        chain = self._case_tables()["entries"].get(app_id, {})
        return [chain[seq] for seq in sorted(chain)]

    # -- applicant notifications ----------------------------------------------------------------------
    def put_notification(self, notification: Notification) -> bool:
        tables = self._case_tables()
        with _LOCK:
            key = (notification.application_id, notification.position)
            if key in tables["notifications"]:
                return False
            tables["notifications"][key] = notification
            return True

    def get_notification(self, app_id: str, position: str) -> Notification | None:
        found: Notification | None = self._case_tables()["notifications"].get((app_id, position))
        return found

    def mark_notification_sent(self, app_id: str, position: str, sent_at: str) -> None:
        tables = self._case_tables()
        with _LOCK:
            current = tables["notifications"].get((app_id, position))
            if current is not None:
                tables["notifications"][(app_id, position)] = current.model_copy(
                    update={"delivery": "sent", "sent_at": sent_at})

    def list_notifications(self, app_id: str, limit: int, cursor: str | None) -> Page:
        from tests.fakes import _page

        rows = [(f"NTF#{position}", n) for (a, position), n in self._case_tables()["notifications"].items()
                if a == app_id]
        return _page(f"NTF#{app_id}", rows, limit, cursor, newest_first=True)
