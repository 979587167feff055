"""Departments (部门), their town offices, and the webhook endpoints through which they receive work.

An endpoint is `pending` until it answered a signed `onetrip.endpoint.verification` event with 2xx,
then `active`; `disabled` after `410 Gone` or by an admin. It receives the event types it subscribes
to, optionally only for some catalogue items. Secrets are kept only as KMS ciphertexts: the current
ones sign every attempt, and during a rotation the retired ones keep signing until their grace ends.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .catalogue import Code
from .certificate_signatures import MAX_KEYS, CertificateKey, distinct_key_ids

# Every type a department may subscribe to (documented with its schema in domain/event_types.py).
SUBSCRIBABLE_EVENT_TYPES = ("onetrip.task.assigned", "onetrip.task.supplemented", "onetrip.case.withdrawn",
                            "onetrip.case.decided", "onetrip.task.deadline_warning", "onetrip.task.deadline_breached",
                            "onetrip.case.accepted", "onetrip.case.result_issued", "onetrip.case.closed",
                            "onetrip.case.rated")
VERIFICATION_EVENT_TYPE = "onetrip.endpoint.verification"
MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600


class EndpointState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class Office(BaseModel, defer_build=True):
    """A town office (乡镇便民服务中心) of a department: where applicants can also be served."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    # The jurisdictions it serves: 9-digit town codes (统计用区划代码) or 6-digit county codes; a
    # delegated item's task goes to the office whose code the application's region code falls under.
    region_codes: tuple[Annotated[str, Field(pattern=r"^\d{6}(\d{3})?$")], ...] = Field(default=(), max_length=100)

    def serves(self, region_code: str) -> bool:
        return any(region_code.startswith(code) for code in self.region_codes)


class Department(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    # A duty mailbox (never a person's name or phone): told when a delivery is exhausted.
    contact_email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    # The department's duty line (值班电话, E.164; an office's number, not a person's), told by SMS.
    contact_phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    offices: tuple[Office, ...] = Field(default=(), max_length=200)
    # The public keys it signs its e-certificates with; with any, it must sign (certificate_signatures.py).
    certificate_keys: Annotated[tuple[CertificateKey, ...], AfterValidator(distinct_key_ids)] = Field(
        default=(), max_length=MAX_KEYS)


class RetiringSecret(BaseModel, defer_build=True):
    """A replaced signing secret that still signs until `until` (rotation without downtime)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ciphertext: str
    until: str  # ISO 8601, UTC


class Endpoint(BaseModel, defer_build=True):
    """A department's webhook endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    department: str
    url: str = Field(max_length=2048)
    event_types: tuple[str, ...] = ("onetrip.task.assigned", "onetrip.case.decided")
    # Catalogue item codes this endpoint wants; empty means every item.
    item_codes: tuple[str, ...] = ()
    secret_ciphertexts: tuple[str, ...] = Field(min_length=1)
    retiring_secrets: tuple[RetiringSecret, ...] = ()
    # Standard Webhooks v1a: the ed25519 private key (ciphertext) and its public key `whpk_…`.
    ed25519_ciphertext: str | None = None
    ed25519_public_key: str | None = None
    state: EndpointState = EndpointState.ACTIVE
    created_at: str | None = None
    verified_at: str | None = None
    disabled_reason: str | None = None

    def wants(self, event_type: str, item_code: str | None = None) -> bool:
        if self.state is not EndpointState.ACTIVE or event_type not in self.event_types:
            return False
        return not self.item_codes or item_code is None or item_code in self.item_codes

    def signing_ciphertexts(self, now: datetime) -> list[str]:
        """The current secrets, then the retired ones still inside their grace period."""
        stamp = now.isoformat()
        return [*self.secret_ciphertexts, *(r.ciphertext for r in self.retiring_secrets if r.until > stamp)]

    def rotated(self, new_ciphertext: str, now: datetime, grace_seconds: int) -> Endpoint:
        """The new secret becomes current; every current secret keeps signing for `grace_seconds`."""
        from datetime import timedelta

        until = (now + timedelta(seconds=grace_seconds)).isoformat()
        still = tuple(r for r in self.retiring_secrets if r.until > now.isoformat())
        retiring = still + tuple(RetiringSecret(ciphertext=c, until=until) for c in self.secret_ciphertexts)
        return self.model_copy(update={"secret_ciphertexts": (new_ciphertext,), "retiring_secrets": retiring})

    def public_view(self) -> dict[str, object]:
        """What admins and the department see: never a secret, not even encrypted."""
        return self.model_dump(mode="json", exclude={"secret_ciphertexts", "retiring_secrets",
                                                     "ed25519_ciphertext"}) | {
            "secrets": len(self.secret_ciphertexts),
            "retiring_secrets_until": [r.until for r in self.retiring_secrets],
        }
