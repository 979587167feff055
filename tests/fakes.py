"""In-memory fakes of every port, asserted on their recorded state (no mocks). The fake store obeys
the same contract suite as the DynamoDB adapter (tests/contract), so it cannot drift from it."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.sandbox import SandboxedInspector
from chalicelib.config import Settings
from chalicelib.domain.applications import Application, CaseChange, DeadlineWatch, DepartmentTask
from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.departments import Department, Endpoint
from chalicelib.domain.enterprises import AgentAuthorization, Enterprise
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, Problem, ValidationFailed
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.identity import VerifiedIdentity
from chalicelib.ports import OutboundMessage, Page, PresignedPost, StoredObject
from chalicelib.services.deps import Deps
from tests.fake_alerts import FakeAlertContactRecords
from tests.fake_case_records import FakeCaseRecords
from tests.fake_delivery import FakeDeliveryRecords
from tests.fake_rate_limits import FakeRateCounters
from tests.fake_statistics import FakeStatisticsRecords
from tests.fake_vault import FakeVaultRecords


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid", "cursor")])


def _page(partition: str, rows: list[tuple[str, Any]], limit: int, cursor: str | None, newest_first: bool) -> Page:
    """Like the DynamoDB adapter: the cursor names its list and is refused anywhere else."""
    rows = sorted(rows, key=lambda r: r[0], reverse=newest_first)
    if cursor:
        try:
            doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, TypeError) as exc:
            raise _bad_cursor() from exc
        if not isinstance(doc, dict) or doc.get("list") != partition or not isinstance(doc.get("after"), str):
            raise _bad_cursor()
        last = doc["after"]
        rows = [r for r in rows if (r[0] < last if newest_first else r[0] > last)]
    chunk = rows[:limit]
    more = len(rows) > limit
    next_cursor = None
    if more:
        raw = json.dumps({"list": partition, "after": chunk[-1][0]}).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return Page([r[1] for r in chunk], next_cursor)


class FakeStore(FakeDeliveryRecords, FakeRateCounters, FakeStatisticsRecords, FakeCaseRecords, FakeVaultRecords,
                FakeAlertContactRecords):
    def __init__(self) -> None:
        self.items: dict[tuple[str, int], ServiceItem] = {}
        self.latest: dict[str, int] = {}
        self.drafts: dict[str, ServiceItem] = {}
        self.departments: dict[str, Department] = {}
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.identities: dict[str, VerifiedIdentity] = {}
        self.identity_index: dict[str, str] = {}
        self.registry: set[str] = set()
        self.enterprises: dict[str, Enterprise] = {}
        self.credit_codes: dict[str, str] = {}
        self.authorizations: dict[tuple[str, str], AgentAuthorization] = {}
        self.applications: dict[str, Application] = {}
        self.tasks: dict[str, DepartmentTask] = {}
        self.outbox: list[DomainEvent] = []
        self.deadline_watch: dict[tuple[str, str], DeadlineWatch] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}

    def put_item(self, item: ServiceItem) -> None:
        existing = self.items.get((item.code, item.version))
        if existing is not None and existing.content_hash != item.content_hash:
            raise ConcurrentUpdate()  # like the adapter's condition: a published version is immutable
        self.items[(item.code, item.version)] = item
        self.latest[item.code] = max(self.latest.get(item.code, 0), item.version)

    def get_item(self, code: str) -> ServiceItem | None:
        return self.items.get((code, self.latest[code])) if code in self.latest else None

    def get_item_version(self, code: str, version: int) -> ServiceItem | None:
        return self.items.get((code, version))

    def list_items(self, limit: int, cursor: str | None) -> Page:
        rows = [(f"ITEM#{code}", self.items[(code, v)]) for code, v in self.latest.items()]
        return _page("CATALOGUE", rows, limit, cursor, newest_first=False)

    def put_draft(self, item: ServiceItem) -> None:
        # Like the adapter: only what the author set survives the round trip (the linter relies on it).
        self.drafts[item.code] = ServiceItem.model_validate(item.model_dump(mode="json", exclude_unset=True))

    def get_draft(self, code: str) -> ServiceItem | None:
        return self.drafts.get(code)

    def list_drafts(self, limit: int, cursor: str | None) -> Page:
        return _page("DRAFTS", [(f"ITEM#{c}", d) for c, d in self.drafts.items()], limit, cursor, newest_first=False)

    def delete_draft(self, code: str) -> None:
        self.drafts.pop(code, None)

    def open_applications(self, code: str, version: int) -> int:
        from chalicelib.domain.lifecycle import OPEN

        return sum(1 for a in self.applications.values()
                   if a.item_code == code and a.item_version == version and a.status in OPEN)

    def put_department(self, department: Department) -> None:
        self.departments[department.code] = department

    def put_endpoint(self, endpoint: Endpoint) -> None:
        self.endpoints[(endpoint.department, endpoint.id)] = endpoint

    def get_endpoint(self, department: str, endpoint_id: str) -> Endpoint | None:
        return self.endpoints.get((department, endpoint_id))

    def list_endpoints(self, department: str) -> list[Endpoint]:
        return [e for (d, _), e in sorted(self.endpoints.items()) if d == department]

    def put_identity(self, identity: VerifiedIdentity) -> None:
        self.identities[identity.sub] = identity

    def get_identity(self, sub: str) -> VerifiedIdentity | None:
        return self.identities.get(sub)

    def bind_identity(self, identity: VerifiedIdentity) -> None:
        holder = self.identity_index.get(identity.id_number_index)
        if holder is not None and holder != identity.sub:
            raise Conflict(code="identity_already_bound")
        self.identity_index[identity.id_number_index] = identity.sub
        self.identities[identity.sub] = identity

    def create_enterprise(self, enterprise: Enterprise) -> None:
        if enterprise.credit_code_index in self.credit_codes or enterprise.id in self.enterprises:
            raise Conflict(code="enterprise_exists")
        self.credit_codes[enterprise.credit_code_index] = enterprise.id
        self.enterprises[enterprise.id] = enterprise

    def get_enterprise(self, enterprise_id: str) -> Enterprise | None:
        return self.enterprises.get(enterprise_id)

    def put_authorization(self, authorization: AgentAuthorization) -> None:
        self.authorizations[(authorization.agent_sub, authorization.enterprise_id)] = authorization

    def get_authorization(self, agent_sub: str, enterprise_id: str) -> AgentAuthorization | None:
        return self.authorizations.get((agent_sub, enterprise_id))

    def list_authorizations(self, agent_sub: str) -> list[AgentAuthorization]:
        return [a for (sub, _), a in sorted(self.authorizations.items()) if sub == agent_sub]

    def put_registry_entry(self, entry_index: str) -> None:
        self.registry.add(entry_index)

    def registry_entry_exists(self, entry_index: str) -> bool:
        return entry_index in self.registry

    def create_application(self, app: Application) -> None:
        if app.id in self.applications:
            raise Conflict(code="application_exists")
        self.applications[app.id] = copy.deepcopy(app)

    def get_application(self, app_id: str) -> Application | None:
        app = self.applications.get(app_id)
        return copy.deepcopy(app) if app else None

    def _check_app(self, app_id: str, expected: int) -> None:
        current = self.applications.get(app_id)
        if current is None or current.version != expected:
            raise ConcurrentUpdate()

    def save_application(self, app: Application, expected_version: int) -> Application:
        self._check_app(app.id, expected_version)
        saved = app.model_copy(update={"version": expected_version + 1})
        self.applications[app.id] = saved
        return copy.deepcopy(saved)

    def save_application_with_events(self, app: Application, expected_version: int,
                                     events: list[DomainEvent]) -> Application:
        self._check_app(app.id, expected_version)
        saved = self._record_events(app, expected_version + 1, events)
        self.applications[app.id] = saved
        return copy.deepcopy(saved)

    def list_applications(self, owner_sub: str, limit: int, cursor: str | None) -> Page:
        rows = [(a.id, copy.deepcopy(a)) for a in self.applications.values() if a.owner_sub == owner_sub]
        return _page(f"OWNER#{owner_sub}", rows, limit, cursor, newest_first=True)

    def accept_application(self, app: Application, expected_version: int, tasks: list[DepartmentTask],
                           events: list[DomainEvent]) -> Application:
        self._check_app(app.id, expected_version)
        if any(t.id in self.tasks for t in tasks):
            raise ConcurrentUpdate()
        saved = self._record_events(app, expected_version + 1, events)
        self.applications[app.id] = saved
        self.tasks.update({t.id: t for t in tasks})
        return copy.deepcopy(saved)

    def save_case(self, change: CaseChange) -> Application:
        app = change.app
        self._check_app(app.id, app.version)
        for t in change.changed_tasks:
            current = self.tasks.get(t.id)
            if current is None or current.version != t.version:
                raise ConcurrentUpdate()
        if any(t.id in self.tasks for t in change.new_tasks) or {e.id for e in change.events} & self.outbox_ids:
            raise ConcurrentUpdate()
        saved = self._record_events(app, app.version + 1, change.events)
        self.applications[app.id] = saved
        for t in change.changed_tasks:
            self.tasks[t.id] = t.model_copy(update={"version": t.version + 1})
        self.tasks.update({t.id: copy.deepcopy(t) for t in change.new_tasks})
        for w in change.unwatch:
            self.deadline_watch.pop((w.deadline, w.task_id), None)
        for w in change.watch:
            self.deadline_watch[(w.deadline, w.task_id)] = w
        return copy.deepcopy(saved)

    @property
    def outbox_ids(self) -> set[str]:
        return {e.id for e in self.outbox}

    def list_deadline_watch(self, day: str) -> list[DeadlineWatch]:
        return [w for (d, _), w in sorted(self.deadline_watch.items()) if d == day]

    def get_task(self, task_id: str) -> DepartmentTask | None:
        return copy.deepcopy(self.tasks.get(task_id))

    def list_tasks(self, department: str, limit: int, cursor: str | None, status: str | None = None) -> Page:
        from chalicelib.adapters.keys import inbox_sort

        rows = [(inbox_sort(t.status.value, t.id), copy.deepcopy(t)) for t in self.tasks.values()
                if t.department == department and (status is None or t.status.value == status)]
        return _page(f"INBOX#{department}", rows, limit, cursor, newest_first=True)

    def decide_task(self, app: Application, expected_app_version: int, task: DepartmentTask,
                    expected_task_version: int, events: list[DomainEvent]) -> tuple[Application, DepartmentTask]:
        self._check_app(app.id, expected_app_version)
        current = self.tasks.get(task.id)
        if current is None or current.version != expected_task_version:
            raise ConcurrentUpdate()
        saved_app = self._record_events(app, expected_app_version + 1, events)
        saved_task = task.model_copy(update={"version": expected_task_version + 1})
        self.applications[app.id] = saved_app
        self.tasks[task.id] = saved_task
        return copy.deepcopy(saved_app), copy.deepcopy(saved_task)

    def delivery_done(self, webhook_id: str) -> bool:
        state = self.get_delivery(webhook_id)
        if state is not None:
            return state.finished and state.status.value != "dead"
        return self.deliveries.get(webhook_id, {}).get("status") in {"delivered", "failed_permanently", "dropped"}

    def record_delivery(self, webhook_id: str, status: str, detail: dict[str, Any], now: datetime) -> None:
        self.deliveries[webhook_id] = {**detail, "status": status}


@dataclass
class FakeFiles:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)

    quarantined: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int,
                       key_prefix: str | None = None) -> PresignedPost:
        self.posts.append({"key": key, "content_type": content_type, "max_size": max_size, "expires_in": expires_in,
                           "key_prefix": key_prefix})
        return PresignedPost(url="https://uploads.example/", fields={"key": key, "Content-Type": content_type},
                             key=key, expires_at="2030-01-01T00:00:00+00:00", max_size=max_size)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def inspect(self, key: str, head_bytes: int, keep_bytes: int = 0) -> StoredObject | None:
        if key not in self.objects:
            return None
        data, content_type = self.objects[key]
        return StoredObject(size=len(data), head=data[:head_bytes], content_type=content_type,
                            sha256=hashlib.sha256(data).hexdigest(),
                            data=data if 0 < len(data) <= keep_bytes else None,
                            etag=hashlib.md5(data).hexdigest())

    def seal(self, key: str, etag: str) -> str | None:
        """Like S3's conditional copy: only the version that was read reaches `verified/`."""
        if key not in self.objects or hashlib.md5(self.objects[key][0]).hexdigest() != etag:
            return None
        sealed = "verified/" + key.removeprefix("materials/")
        self.objects[sealed] = self.objects[key]
        return sealed

    def quarantine(self, key: str) -> bool:
        """Like the S3 adapter: move to `quarantine/<key>`; True if it moved now (idempotent)."""
        if key not in self.objects:
            return False
        self.quarantined["quarantine/" + key] = self.objects.pop(key)
        return True

    def presigned_get(self, key: str, expires_in: int) -> str:
        return f"https://downloads.example/{key}?expires={expires_in}"


class FakeCipher:
    """Reversible but context-bound, so a test notices a ciphertext used under the wrong owner."""

    def encrypt(self, plaintext: str, context: dict[str, str]) -> str:
        return base64.b64encode(json.dumps([plaintext, context], sort_keys=True).encode()).decode()

    def decrypt(self, ciphertext: str, context: dict[str, str]) -> str:
        plaintext, bound = json.loads(base64.b64decode(ciphertext))
        if bound != context:
            raise ValueError("encryption context mismatch")
        return str(plaintext)


@dataclass
class FakeQueue:
    sent: list[OutboundMessage] = field(default_factory=list)
    delayed: list[tuple[str, int]] = field(default_factory=list)

    def send(self, messages: list[OutboundMessage]) -> None:
        self.sent.extend(messages)

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.delayed.append((receipt_handle, delay_seconds))


@dataclass
class FakeSendResult:
    status: int | None
    error: str | None = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 409, 429)


@dataclass
class FakeWebhooks:
    """Answers with the scripted statuses in order (then 204), recording every request."""

    script: list[int | None] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float | None = None) -> FakeSendResult:
        self.requests.append({"url": url, "headers": headers, "body": body, "timeout": timeout})
        status = self.script.pop(0) if self.script else 204
        return FakeSendResult(status, None if status else "connection_error")

    def check_url(self, url: str) -> str | None:
        return None


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # a Friday

    def __call__(self) -> datetime:
        return self.current


def fake_deps(**settings: Any) -> Deps:
    # The content checks are the real ones in their real sandbox (local, deterministic): not faked.
    return Deps(settings=Settings(**settings), store=FakeStore(), files=FakeFiles(), cipher=FakeCipher(),
                queue=FakeQueue(), webhooks=FakeWebhooks(), now=FixedClock(), inspector=SandboxedInspector())
