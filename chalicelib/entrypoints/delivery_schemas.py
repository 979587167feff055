"""Edge models of the department registry, the delivery log and the missed-events pull."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..domain.certificate_signatures import MAX_KEYS, CertificateKey, distinct_key_ids
from ..domain.departments import SUBSCRIBABLE_EVENT_TYPES, Office

Strict = ConfigDict(extra="forbid", str_strip_whitespace=True)
EventType = Literal[SUBSCRIBABLE_EVENT_TYPES]  # type: ignore[valid-type]


class NewDepartment(BaseModel, defer_build=True):
    model_config = Strict
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$",
                                      description="duty line for SMS alerts, E.164 (+86…)")
    offices: list[Office] = Field(default_factory=list, max_length=200)
    certificate_keys: Annotated[list[CertificateKey], AfterValidator(distinct_key_ids)] = Field(
        default_factory=list, max_length=MAX_KEYS,
        description="public keys (SM2-with-SM3 or Ed25519) it signs its e-certificates with; "
                    "with any, it must sign them")


class NewEndpoint(BaseModel, defer_build=True):
    model_config = Strict
    department: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=8, max_length=2048)
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    item_codes: list[str] = Field(default_factory=list, max_length=100)
    ed25519: bool = Field(default=False, description="also sign with Standard Webhooks v1a (ed25519)")


class ReplayRange(BaseModel, defer_build=True):
    model_config = Strict
    department: str | None = Field(default=None, max_length=64, description="admins only; departments: their own")
    since: str = Field(min_length=10, max_length=40, description="ISO 8601, inclusive")
    until: str = Field(min_length=10, max_length=40, description="ISO 8601, inclusive")
    status: str | None = Field(default=None, max_length=32)


class CommentBody(BaseModel, defer_build=True):
    model_config = Strict
    text: str = Field(min_length=1, max_length=2000)


# -- responses ----------------------------------------------------------------------------------------
class EndpointView(BaseModel, defer_build=True):
    id: str
    department: str
    url: str
    event_types: list[str]
    item_codes: list[str]
    state: str
    secrets: int
    retiring_secrets_until: list[str]
    ed25519_public_key: str | None
    created_at: str | None
    verified_at: str | None
    disabled_reason: str | None


class DepartmentView(BaseModel, defer_build=True):
    code: str
    name_zh: str
    name_en: str
    contact_email: str | None
    contact_phone: str | None = None
    offices: list[dict[str, Any]]
    certificate_keys: list[dict[str, Any]] = Field(default_factory=list)


class DepartmentPage(BaseModel, defer_build=True):
    items: list[DepartmentView]
    next_cursor: str | None


class DepartmentDetail(DepartmentView):
    endpoints: list[EndpointView]


class VerificationResult(BaseModel, defer_build=True):
    webhook_id: str
    ok: bool
    http_status: int | None
    error: str | None


class EndpointCreated(BaseModel, defer_build=True):
    endpoint: EndpointView
    secret: str = Field(description="shown once: store it now; it is kept only encrypted")
    public_key: str | None = None
    verification: VerificationResult


class EndpointVerified(BaseModel, defer_build=True):
    endpoint: EndpointView
    verification: VerificationResult


class SecretRotated(BaseModel, defer_build=True):
    endpoint: EndpointView
    secret: str = Field(description="shown once; the previous secrets keep signing until their grace ends")


class DeliveryView(BaseModel, defer_build=True):
    webhook_id: str
    department: str
    endpoint_id: str
    event_type: str
    event_id: str | None
    item_code: str | None
    status: str
    attempt: int
    generation: int
    created_at: str
    updated_at: str
    next_attempt_at: str | None
    last_status: int | None
    last_error: str | None


class DeliveryPage(BaseModel, defer_build=True):
    items: list[DeliveryView]
    next_cursor: str | None


class AttemptView(BaseModel, defer_build=True):
    generation: int
    attempt: int
    started_at: str
    latency_ms: int | None
    http_status: int | None
    error_class: str | None
    outcome: str


class DeliveryDetail(DeliveryView):
    attempts: list[AttemptView]
    payload: dict[str, Any]


class Replayed(BaseModel, defer_build=True):
    replayed: list[str]


class PulledEvent(BaseModel, defer_build=True):
    event: dict[str, Any]
    webhook_ids: list[str]


class EventPage(BaseModel, defer_build=True):
    items: list[PulledEvent]
    next_cursor: str | None
    has_more: bool


class CommentView(BaseModel, defer_build=True):
    id: str
    task_id: str
    author: str
    text: str
    created_at: str


class CommentPage(BaseModel, defer_build=True):
    items: list[CommentView]
