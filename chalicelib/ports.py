"""The outside world as the use cases see it. Adapters implement these; tests use fakes.

One `Store` holds every access pattern of the single DynamoDB table, so the fake and the DynamoDB
adapter run one contract suite (tests/contract). Every method is a GetItem, a Query on a known key
or a (transactional) conditional write — never a Scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .domain.applications import Application, DepartmentTask
from .domain.catalogue import ServiceItem
from .domain.departments import Department, Endpoint
from .domain.events import DomainEvent
from .domain.identity import VerifiedIdentity


@dataclass(frozen=True)
class Page:
    items: list[Any]
    cursor: str | None


class Store(Protocol):
    # catalogue
    def put_item(self, item: ServiceItem) -> None: ...
    def get_item(self, code: str) -> ServiceItem | None: ...
    def get_item_version(self, code: str, version: int) -> ServiceItem | None: ...
    def list_items(self, limit: int, cursor: str | None) -> Page: ...
    # departments
    def put_department(self, department: Department) -> None: ...
    def put_endpoint(self, endpoint: Endpoint) -> None: ...
    def get_endpoint(self, department: str, endpoint_id: str) -> Endpoint | None: ...
    def list_endpoints(self, department: str) -> list[Endpoint]: ...
    # identities
    def put_identity(self, identity: VerifiedIdentity) -> None: ...
    def get_identity(self, sub: str) -> VerifiedIdentity | None: ...
    # applications, cases, tasks
    def create_application(self, app: Application) -> None: ...
    def get_application(self, app_id: str) -> Application | None: ...
    def save_application(self, app: Application, expected_version: int) -> Application: ...
    def list_applications(self, owner_sub: str, limit: int, cursor: str | None) -> Page: ...
    def accept_application(self, app: Application, expected_version: int, tasks: list[DepartmentTask],
                           events: list[DomainEvent]) -> Application: ...
    def get_task(self, task_id: str) -> DepartmentTask | None: ...
    def list_tasks(self, department: str, limit: int, cursor: str | None) -> Page: ...
    def decide_task(self, app: Application, expected_app_version: int, task: DepartmentTask,
                    expected_task_version: int, events: list[DomainEvent]) -> tuple[Application, DepartmentTask]: ...
    # deliveries
    def delivery_done(self, webhook_id: str) -> bool: ...
    def record_delivery(self, webhook_id: str, status: str, detail: dict[str, Any], now: datetime) -> None: ...


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    key: str
    expires_at: str
    max_size: int


@dataclass(frozen=True)
class StoredObject:
    size: int
    head: bytes
    content_type: str
    sha256: str


class FileStore(Protocol):
    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int) -> PresignedPost: ...
    def inspect(self, key: str, head_bytes: int) -> StoredObject | None: ...
    def presigned_get(self, key: str, expires_in: int) -> str: ...


class Cipher(Protocol):
    """Envelope for personal data and secrets; the encryption context binds a ciphertext to its owner."""

    def encrypt(self, plaintext: str, context: dict[str, str]) -> str: ...
    def decrypt(self, ciphertext: str, context: dict[str, str]) -> str: ...


@dataclass(frozen=True)
class OutboundMessage:
    id: str
    body: str


class DeliveryQueue(Protocol):
    def send(self, messages: list[OutboundMessage]) -> None: ...
    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None: ...


class SendOutcome(Protocol):
    status: int | None
    error: str | None
    retry_after: int | None

    @property
    def ok(self) -> bool: ...
    @property
    def permanent(self) -> bool: ...


class WebhookTransport(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendOutcome: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
