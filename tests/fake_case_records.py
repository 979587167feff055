"""The audit-trail and applicant-notification part of the fake store (mixed into `tests.fakes.FakeStore`);
tests/contract/test_case_records_contract.py holds it to the DynamoDB adapter's behaviour. Appends are
written with their events (the application's version check guards the chain, as in the adapter)."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.domain.applications import Application, with_events
from chalicelib.domain.audit import AuditEntry
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.notifications import Notification
from chalicelib.ports import Page

_LOCK = threading.Lock()


class FakeCaseRecords:
    def _case_tables(self) -> dict[str, Any]:
        with _LOCK:
            if not hasattr(self, "_cr"):
                self._cr: dict[str, Any] = {"entries": {}, "notifications": {}}
            return self._cr

    # -- audit trail --------------------------------------------------------------------------------
    outbox: list[DomainEvent]

    def _record_events(self, app: Application, version: int, events: list[DomainEvent]) -> Application:
        """What every writer of events does inside its change (the adapter's `_recorded`): the events
        join the outbox and their entries the case's chain; the saved application carries the head."""
        saved, entries = with_events(app, version, events)
        tables = self._case_tables()
        with _LOCK:
            chain: dict[int, AuditEntry] = tables["entries"].setdefault(app.id, {})
            if any(e.seq in chain for e in entries):
                raise ConcurrentUpdate()
            chain.update({e.seq: e for e in entries})
        self.outbox.extend(events)
        return saved

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
