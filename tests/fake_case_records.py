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
from chalicelib.ports import Increment, Page, Recorded

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
        saved, stamped, entries = with_events(app, version, events)
        tables = self._case_tables()
        with _LOCK:
            chain: dict[int, AuditEntry] = tables["entries"].setdefault(app.id, {})
            if any(e.seq in chain for e in entries):
                raise ConcurrentUpdate()
            chain.update({e.seq: e for e in entries})
        self.outbox.extend(stamped)
        return saved

    def list_audit_entries(self, app_id: str) -> list[AuditEntry]:
        chain = self._case_tables()["entries"].get(app_id, {})
        return [chain[seq] for seq in sorted(chain)]

    # -- a stream batch's projections: statistics and notifications, atomically ----------------------
    def record_projections(self, increments: list[Increment], notifications: list[Notification]) -> Recorded:
        tables = self._case_tables()
        stats_lock, _, _ = self._stats_tables()  # type: ignore[attr-defined]  # FakeStatisticsRecords'
        with _LOCK, stats_lock:
            counted = {i.event_id for i in increments if i.deltas and self._add_increment(i)}  # type: ignore[attr-defined]
            notified = {n.id for n in notifications if self._put_notification(tables, n)}
        return Recorded(frozenset(counted), frozenset(notified))

    # -- applicant notifications ----------------------------------------------------------------------
    def _put_notification(self, tables: dict[str, Any], notification: Notification) -> bool:
        key = (notification.application_id, notification.position)
        if key in tables["notifications"]:
            return False
        tables["notifications"][key] = notification
        return True

    def get_notification(self, app_id: str, position: str) -> Notification | None:
        found: Notification | None = self._case_tables()["notifications"].get((app_id, position))
        return found

    def mark_notification_sent(self, sent: Notification) -> None:
        tables = self._case_tables()
        with _LOCK:
            if (sent.application_id, sent.position) in tables["notifications"]:
                tables["notifications"][(sent.application_id, sent.position)] = sent

    def list_notifications(self, app_id: str, limit: int, cursor: str | None) -> Page:
        from tests.fakes import _page

        rows = [(f"NTF#{position}", n) for (a, position), n in self._case_tables()["notifications"].items()
                if a == app_id]
        return _page(f"NTF#{app_id}", rows, limit, cursor, newest_first=True)
