"""The department-delivery part of the fake store (mixed into `tests.fakes.FakeStore`); the contract
suite tests/contract/test_delivery_store_contract.py holds it to the DynamoDB adapter's behaviour."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from chalicelib.domain.applications import DepartmentTask
from chalicelib.domain.deliveries import Delivery, DeliveryAttempt, EndpointHealth
from chalicelib.domain.departments import Department, Endpoint
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.task_desk import TaskComment
from chalicelib.ports import OutboundMessage, Page


class FakeDeliveryRecords:
    departments: dict[str, Department]
    endpoints: dict[tuple[str, str], Endpoint]
    tasks: dict[str, DepartmentTask]
    outbox: list[DomainEvent]

    def _delivery_tables(self) -> dict[str, Any]:
        if not hasattr(self, "_dt"):
            self._dt: dict[str, Any] = {"state": {}, "attempts": {}, "health": {}, "due": {}, "comments": {}}
        return self._dt

    # -- feed ---------------------------------------------------------------------------------------
    def list_department_events(self, department: str, after: str | None, before: str,
                               limit: int) -> list[DomainEvent]:
        seen: dict[str, DomainEvent] = {}
        for event in self.outbox:
            if department in event.recipients and (after or "") < event.id < before:
                seen[event.id] = event
        return [seen[k] for k in sorted(seen)][:limit]

    # -- departments --------------------------------------------------------------------------------
    def get_department(self, code: str) -> Department | None:
        return self.departments.get(code)

    def list_departments(self, limit: int, cursor: str | None) -> Page:
        from tests.fakes import _page

        rows = [(code, d) for code, d in self.departments.items()]
        return _page("DEPARTMENTS", rows, limit, cursor, newest_first=False)

    # -- deliveries ---------------------------------------------------------------------------------
    def get_delivery(self, webhook_id: str) -> Delivery | None:
        return copy.deepcopy(self._delivery_tables()["state"].get(webhook_id))

    def save_delivery(self, delivery: Delivery, expected_version: int | None) -> Delivery:
        table = self._delivery_tables()["state"]
        current = table.get(delivery.webhook_id)
        if (expected_version is None) != (current is None):
            raise ConcurrentUpdate()
        if current is not None and current.version != expected_version:
            raise ConcurrentUpdate()
        saved = delivery.model_copy(update={"version": 0 if expected_version is None else expected_version + 1})
        table[delivery.webhook_id] = saved
        return copy.deepcopy(saved)

    def get_delivery_context(self, webhook_id: str, department: str, endpoint_id: str) -> tuple[
            Delivery | None, Endpoint | None, EndpointHealth | None]:
        return (self.get_delivery(webhook_id), self.endpoints.get((department, endpoint_id)),
                self.get_endpoint_health(endpoint_id))

    def add_delivery_attempt(self, attempt: DeliveryAttempt) -> None:
        self._delivery_tables()["attempts"][(attempt.webhook_id, attempt.generation, attempt.attempt)] = attempt

    def list_delivery_attempts(self, webhook_id: str) -> list[DeliveryAttempt]:
        found = {(a.generation, a.attempt): a for (w, _, _), a in self._delivery_tables()["attempts"].items()
                 if w == webhook_id}
        state = self._delivery_tables()["state"].get(webhook_id)
        for a in state.attempts if state is not None else ():
            found.setdefault((a.generation, a.attempt), a)
        return [found[k] for k in sorted(found)]

    def list_deliveries(self, department: str, limit: int, cursor: str | None, status: str | None = None,
                        since: str | None = None, until: str | None = None) -> Page:
        from tests.fakes import _page

        rows = [(f"{d.created_at}#{d.webhook_id}", copy.deepcopy(d))
                for d in self._delivery_tables()["state"].values()
                if d.department == department and (status is None or d.status.value == status)
                and (since is None or d.created_at >= since) and (until is None or d.created_at <= until + "~")]
        return _page(f"DLVS#{department}", rows, limit, cursor, newest_first=True)

    def get_endpoint_health(self, endpoint_id: str) -> EndpointHealth | None:
        return self._delivery_tables()["health"].get(endpoint_id)

    def put_endpoint_health(self, health: EndpointHealth) -> None:
        self._delivery_tables()["health"][health.endpoint_id] = health

    # -- due-time retries ---------------------------------------------------------------------------
    def put_due(self, message: OutboundMessage, due_at: datetime) -> None:
        from chalicelib.adapters import keys

        token = keys.due_token(int(due_at.timestamp() * 1000), message.id)
        self._delivery_tables()["due"][(keys.due_shard(message.id), token)] = OutboundMessage(message.id, message.body)

    def due_messages(self, shard: int, until: datetime, limit: int) -> list[tuple[str, OutboundMessage]]:
        from chalicelib.adapters import keys

        upper = keys.due_token(int(until.timestamp() * 1000), "~")
        due = self._delivery_tables()["due"]
        return [(token, due[(s, token)]) for s, token in sorted(due) if s == shard and token <= upper][:limit]

    def delete_due(self, shard: int, token: str) -> None:
        self._delivery_tables()["due"].pop((shard, token), None)

    # -- task desk ----------------------------------------------------------------------------------
    def save_task(self, task: DepartmentTask, expected_version: int) -> DepartmentTask:
        current = self.tasks.get(task.id)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate()
        saved = task.model_copy(update={"version": expected_version + 1})
        self.tasks[task.id] = saved
        return copy.deepcopy(saved)

    def add_task_comment(self, comment: TaskComment) -> None:
        self._delivery_tables()["comments"][(comment.task_id, comment.id)] = comment

    def list_task_comments(self, task_id: str) -> list[TaskComment]:
        comments = self._delivery_tables()["comments"]
        return [comments[k] for k in sorted(comments) if k[0] == task_id]
