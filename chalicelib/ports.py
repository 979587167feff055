"""The outside world as the use cases see it. Adapters implement these; tests use fakes.

One `Store` holds every access pattern of the single DynamoDB table, so the fake and the DynamoDB
adapter run one contract suite (tests/contract). Every method is a GetItem, a Query on a known key
or a (transactional) conditional write — never a Scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

# Annotations only: a cold start that loads this module (every function does, through its
# dependencies) must not pay for every domain model.
if TYPE_CHECKING:
    from .domain.access_log import AccessRecord
    from .domain.alert_contacts import AlertContact
    from .domain.applications import Application, CaseChange, DeadlineWatch, DepartmentTask
    from .domain.audit import AuditEntry
    from .domain.catalogue import ServiceItem
    from .domain.certificates import Certificate
    from .domain.deliveries import Delivery, DeliveryAttempt, EndpointHealth
    from .domain.departments import Department, Endpoint
    from .domain.enterprises import AgentAuthorization, Enterprise
    from .domain.events import DomainEvent
    from .domain.file_checks import ContentLimits, Finding
    from .domain.identity import VerifiedIdentity
    from .domain.notifications import Notification
    from .domain.statistics import ItemAggregate
    from .domain.task_desk import TaskComment
    from .domain.vault import VaultEntry


@dataclass(frozen=True)
class Page:
    items: list[Any]
    cursor: str | None


@dataclass(frozen=True)
class Increment:
    """One event's statistics: `deltas` added to `item_code`'s aggregate in each of `periods`."""

    event_id: str
    item_code: str
    periods: tuple[str, ...]
    deltas: dict[str, int]


@dataclass(frozen=True)
class Recorded:
    """What `record_projections` recorded now: event ids counted, notification ids recorded."""

    counted: frozenset[str]
    notified: frozenset[str]


class Store(Protocol):
    # catalogue
    def put_item(self, item: ServiceItem) -> None: ...
    def get_item(self, code: str) -> ServiceItem | None: ...
    def get_item_version(self, code: str, version: int) -> ServiceItem | None: ...
    def list_items(self, limit: int, cursor: str | None) -> Page: ...
    # catalogue drafts and the impact of a new version (issue 3)
    def put_draft(self, item: ServiceItem) -> None: ...
    def get_draft(self, code: str) -> ServiceItem | None: ...
    def list_drafts(self, limit: int, cursor: str | None) -> Page: ...
    def delete_draft(self, code: str) -> None: ...
    def open_applications(self, code: str, version: int) -> int:
        """Applications and cases not yet decided under this published version (an aggregate counter)."""
        ...
    # departments
    def put_department(self, department: Department) -> None: ...
    def put_endpoint(self, endpoint: Endpoint) -> None: ...
    def get_endpoint(self, department: str, endpoint_id: str) -> Endpoint | None: ...
    def list_endpoints(self, department: str) -> list[Endpoint]: ...
    # identities
    def put_identity(self, identity: VerifiedIdentity) -> None: ...
    def get_identity(self, sub: str) -> VerifiedIdentity | None: ...
    def bind_identity(self, identity: VerifiedIdentity) -> None:
        """Store the identity and claim its blind index for this subject, atomically; an index held
        by another subject raises Conflict(identity_already_bound)."""
        ...
    def put_registry_entry(self, entry_index: str) -> None: ...
    # enterprises and their agents
    def create_enterprise(self, enterprise: Enterprise) -> None:
        """Conflict(enterprise_exists) when the credit code is registered already."""
        ...
    def get_enterprise(self, enterprise_id: str) -> Enterprise | None: ...
    def put_authorization(self, authorization: AgentAuthorization) -> None: ...
    def get_authorization(self, agent_sub: str, enterprise_id: str) -> AgentAuthorization | None: ...
    def list_authorizations(self, agent_sub: str) -> list[AgentAuthorization]: ...
    def registry_entry_exists(self, entry_index: str) -> bool: ...
    # applications, cases, tasks
    def create_application(self, app: Application) -> None: ...
    def get_application(self, app_id: str) -> Application | None: ...
    def save_application(self, app: Application, expected_version: int) -> Application: ...
    def save_application_with_events(self, app: Application, expected_version: int,
                                     events: list[DomainEvent]) -> Application: ...
    def list_applications(self, owner_sub: str, limit: int, cursor: str | None) -> Page: ...
    def accept_application(self, app: Application, expected_version: int, tasks: list[DepartmentTask],
                           events: list[DomainEvent]) -> Application: ...
    def get_task(self, task_id: str) -> DepartmentTask | None: ...
    def list_tasks(self, department: str, limit: int, cursor: str | None, status: str | None = None) -> Page: ...
    def decide_task(self, app: Application, expected_app_version: int, task: DepartmentTask,
                    expected_task_version: int, events: list[DomainEvent]) -> tuple[Application, DepartmentTask]: ...
    def save_case(self, change: CaseChange) -> Application:
        """Write one case change atomically, conditional on `change.app.version` and each changed
        task's version (ConcurrentUpdate on a lost race); returns the saved application."""
        ...
    def list_deadline_watch(self, day: str) -> list[DeadlineWatch]:
        """Open tasks whose deadline is `day` (ISO date), as the sweep watches them."""
        ...
    # deliveries
    def delivery_done(self, webhook_id: str) -> bool: ...
    def record_delivery(self, webhook_id: str, status: str, detail: dict[str, Any], now: datetime) -> None: ...
    # department delivery (issue 5): registry, delivery state and log, due retries, feed, task desk
    def get_department(self, code: str) -> Department | None: ...
    def list_departments(self, limit: int, cursor: str | None) -> Page: ...
    def get_delivery(self, webhook_id: str) -> Delivery | None: ...
    def save_delivery(self, delivery: Delivery, expected_version: int | None) -> Delivery:
        """Conditional write: `expected_version` None means the delivery must not exist yet; a lost race
        raises ConcurrentUpdate. Returns the saved delivery with its new version."""
        ...
    def get_delivery_context(self, webhook_id: str, department: str, endpoint_id: str) -> tuple[
            Delivery | None, Endpoint | None, EndpointHealth | None]:
        """What one delivery attempt reads first — its state, its endpoint, the endpoint's circuit —
        in one request, strongly consistent."""
        ...
    def add_delivery_attempt(self, attempt: DeliveryAttempt) -> None: ...
    def list_delivery_attempts(self, webhook_id: str) -> list[DeliveryAttempt]:
        """The log in the delivery's record and any attempts added on their own, in order."""
        ...
    def list_deliveries(self, department: str, limit: int, cursor: str | None, status: str | None = None,
                        since: str | None = None, until: str | None = None) -> Page: ...
    def get_endpoint_health(self, endpoint_id: str) -> EndpointHealth | None: ...
    def put_endpoint_health(self, health: EndpointHealth) -> None: ...
    def put_due(self, message: OutboundMessage, due_at: datetime) -> None: ...
    def due_messages(self, shard: int, until: datetime, limit: int) -> list[tuple[str, OutboundMessage]]:
        """Messages of one due-time shard that are due by `until`, oldest first, with their tokens."""
        ...
    def delete_due(self, shard: int, token: str) -> None: ...
    def list_department_events(self, department: str, after: str | None, before: str, limit: int) -> list[
            DomainEvent]:
        """Events addressed to the department with after < id < before, in id (= time) order."""
        ...
    def save_task(self, task: DepartmentTask, expected_version: int) -> DepartmentTask: ...
    def add_task_comment(self, comment: TaskComment) -> None: ...
    def list_task_comments(self, task_id: str) -> list[TaskComment]: ...
    # who hears a department's delivery alerts (issue 5): one record per subscribed contact
    def get_alert_contact(self, key: str) -> AlertContact | None: ...
    def save_alert_contact(self, contact: AlertContact, expected_version: int | None) -> AlertContact:
        """Conditional write (None: must not exist yet); ConcurrentUpdate on a lost race."""
        ...
    def delete_alert_contact(self, key: str, expected_version: int) -> None:
        """Conditional delete; ConcurrentUpdate when the record changed meanwhile."""
        ...
    # the case's audit trail (issue 4): a per-case hash chain, written by every writer of events above
    # in its own transaction (the head on the application, the entries under its partition)
    def list_audit_entries(self, app_id: str) -> list[AuditEntry]:
        """Every entry of the case's chain in key (seq) order, as stored."""
        ...
    # what the stream's projections record for a batch of events (issue 4, issue 9: one request a batch)
    def record_projections(self, increments: list[Increment], notifications: list[Notification]) -> Recorded:
        """Every increment once per event id (added to its item's aggregate in each period) and every
        notification once per position, in as few transactions as the items allow (one for a usual
        stream batch). What was there before (a redelivery) is left as it is and not in the result."""
        ...
    # the applicant's notifications (issue 4)
    def get_notification(self, app_id: str, position: str) -> Notification | None: ...
    def mark_notification_sent(self, sent: Notification) -> None:
        """Replace the recorded notification with its sent copy (`delivery: sent`, `sent_at`)."""
        ...
    def list_notifications(self, app_id: str, limit: int, cursor: str | None) -> Page:
        """The application's notifications, newest first."""
        ...
    # per-principal rate limits (issue 6)
    def take_rate_slot(self, subject: str, rate_class: str, window_start: int, limit: int,
                       expires_at: int) -> bool:
        """Count one request in the subject's window if fewer than `limit` are counted there (one
        conditional write); False, counting nothing, when the window is full. The counter expires
        (TTL) at `expires_at`."""
        ...
    def rate_slots_taken(self, subject: str, rate_class: str, window_start: int) -> int:
        """How many requests the subject's window counted (0 when it counted none); one read."""
        ...
    # statistics (issue 4): aggregates the stream keeps per item and period; read without scanning
    def list_statistics(self, period: str) -> list[ItemAggregate]:
        """Every item's aggregate of one period (one Query on the period's partition)."""
        ...
    # once-only (issue 7): the material vault, e-certificates and the access log ("who used my data")
    def save_application_with_evidence(self, app: Application, expected_version: int, events: list[DomainEvent],
                                       vault: list[VaultEntry], access: list[AccessRecord]) -> Application:
        """The application, its events, its vault entries and access records in one transaction (a lost
        race writes none). A vault entry already kept (owner, code, SHA-256) is left as it was: the
        first verification's validity stands."""
        ...
    def get_vault_entry(self, owner: str, material: str, sha256: str) -> VaultEntry | None: ...
    def list_vault(self, owner: str) -> list[VaultEntry]:
        """The owner's whole vault (one partition, bounded), by material code."""
        ...
    def create_certificate(self, certificate: Certificate) -> Certificate:
        """Register it once per number index; when that index is registered already, the certificate
        registered under it is returned instead (and nothing is written)."""
        ...
    def get_certificate(self, certificate_id: str) -> Certificate | None: ...
    def revoke_certificate(self, certificate: Certificate) -> bool:
        """Store `certificate` (carrying its revocation) over the registered one, only if that one is
        registered and not revoked yet: one conditional write, so of two concurrent revocations one
        wins. False, writing nothing, otherwise."""
        ...
    def list_certificates(self, holder_index: str) -> list[Certificate]:
        """The holder's certificates (one Query on the holder's blind index, bounded)."""
        ...
    def add_access_record(self, record: AccessRecord) -> None: ...
    def list_access_records(self, owner: str, limit: int, cursor: str | None) -> Page:
        """The owner's consent receipts and access records, newest first."""
        ...


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
    # The whole content, only when asked for and not larger than the caller's bound.
    data: bytes | None = None
    # The object's entity tag when it was read: sealing copies only that exact version.
    etag: str = ""


class FileStore(Protocol):
    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int,
                       key_prefix: str | None = None) -> PresignedPost: ...
    def inspect(self, key: str, head_bytes: int, keep_bytes: int = 0) -> StoredObject | None: ...
    def quarantine(self, key: str) -> bool: ...
    def presigned_get(self, key: str, expires_in: int) -> str: ...
    def seal(self, key: str, etag: str) -> str | None:
        """Copy the object, only if it is still the version read (`etag`), to a key no upload policy
        can target; the sealed key, or None when the object changed or vanished meanwhile."""
        ...


class ContentInspector(Protocol):
    """Runs the deep content checks of one file (chalicelib.domain.file_checks) within a time and
    memory budget; a file that exceeds it gets a `verification_budget_exceeded` finding."""

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]: ...


class Cipher(Protocol):
    """Envelope for personal data and secrets; the encryption context binds a ciphertext to its owner."""

    def encrypt(self, plaintext: str, context: dict[str, str]) -> str: ...
    def decrypt(self, ciphertext: str, context: dict[str, str]) -> str: ...


@dataclass(frozen=True)
class OutboundMessage:
    id: str
    body: str
    delay_seconds: int = 0  # SQS DelaySeconds (at most 900)


class Notifier(Protocol):
    """Tells people about something that needs them (SNS in AWS): here, exhausted deliveries."""

    def notify(self, kind: str, department: str, subject: str, detail: dict[str, Any]) -> None: ...


class AlertSubscriptions(Protocol):
    """Contacts subscribed to the delivery-alerts topic, each filtered to the departments it serves."""

    def subscribe(self, protocol: str, endpoint: str, departments: tuple[str, ...]) -> str:
        """Subscribe with a filter policy on these departments; the subscription's id (ARN)."""
        ...
    def refilter(self, subscription: str, departments: tuple[str, ...]) -> bool:
        """Change the departments it hears; False when that subscription cannot be changed (gone)."""
        ...
    def unsubscribe(self, subscription: str) -> None: ...


class ApplicantNotifier(Protocol):
    """Sends an applicant a notification about their case (SNS in AWS, addressed by the subject)."""

    def send(self, notification: Notification) -> None: ...


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
    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float | None = None) -> SendOutcome:
        """One POST; `timeout` (default: the transport's own) bounds the whole exchange."""
        ...
    def check_url(self, url: str) -> str | None:
        """Why this endpoint URL is refused (SSRF guard at registration), or None."""
        ...


@dataclass(frozen=True)
class IdentityCheck:
    """The authority's answer on a name + ID number pair (never the data itself)."""

    matched: bool
    method: str


class IdentityVerifier(Protocol):
    def verify(self, name: str, id_number: str) -> IdentityCheck: ...


class BlindIndex(Protocol):
    """A keyed hash for finding personal data without storing it readable."""

    def index(self, purpose: str, value: str) -> str: ...


class UserDirectory(Protocol):
    """The identity provider's user records (Cognito): where the assurance level is written."""

    def set_assurance(self, username: str, level: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
