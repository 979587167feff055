"""E-certificates (电子证照): certificates issued by departments, kept in a registry the bus reads itself.

A certificate has a type (营业执照, 不动产权证书, …), a holder found by blind index (the HMAC of the
person's ID number or the enterprise's credit code — never the number itself), the issuing
department, its number (kept as ciphertext and masked text: a resident ID card's number *is* the ID
number), its validity and the issuer's SHA-256 of the document with its signature (required, and checked,
once the issuer has registered signing keys: certificate_signatures.py). A material whose spec is
`obtainable_from.e_certificate` of that type is satisfied from the registry, with the holder's consent:
no upload.

A certificate is valid until it expires or is revoked (注销/吊销): its issuing department or an admin
revokes it once, with a reason; a revoked certificate no longer satisfies a material.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .applications import Application
from .catalogue import MaterialSpec
from .errors import Conflict, Problem, ValidationFailed
from .vault import obtained_slot


class HolderKind(StrEnum):
    PERSON = "person"  # by the blind index of the ID number (purpose `id_number`, as identities)
    ENTERPRISE = "enterprise"  # by the blind index of the credit code (purpose `credit_code`)


class CertificateSource(StrEnum):
    DEPARTMENT = "department"  # registered by the issuing department through the API
    ADMIN = "admin"  # registered by an admin (the CLI): certificates issued outside the bus
    CASE_RESULT = "case_result"  # the result document of a decided case, marked e_certificate


REVOCATION_REASON_MAX = 500


class Revocation(BaseModel, defer_build=True):
    """注销/吊销: when, by whom (the issuing department's code, or "admin") and why; once per certificate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    by: str
    reason: str = Field(min_length=1, max_length=REVOCATION_REASON_MAX)
    actor: dict[str, str] = Field(default_factory=dict)  # who acted (opaque ids), not shown


class Certificate(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: str = Field(min_length=1, max_length=100)
    holder_kind: HolderKind
    holder_index: str
    holder_masked: str
    issuer: str
    number_masked: str
    number_ciphertext: str
    # Blind index of issuer, type and number: one certificate is registered once.
    number_index: str
    issued_on: date | None = None
    valid_until: date | None = None  # None: valid until revoked
    document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str | None = Field(default=None, max_length=8192)
    signature_algorithm: str | None = Field(default=None, max_length=40)
    # The issuer's key that verified the signature at registration (certificate_signatures.py).
    signature_key_id: str | None = None
    # The sealed document itself, when the bus holds it (result documents of its own cases).
    document_key: str | None = None
    document_content_type: str | None = None
    document_size: int | None = None
    source: CertificateSource
    application_id: str | None = None
    case_number: str | None = None
    registered_at: str
    registered_by: dict[str, str] = Field(default_factory=dict)
    revocation: Revocation | None = None

    def valid_on(self, day: date) -> bool:
        """Not expired on `day` (revocation aside: see `usable_on`)."""
        return self.valid_until is None or day <= self.valid_until

    def usable_on(self, day: date) -> bool:
        """Neither expired nor revoked: it can satisfy a material."""
        return self.revocation is None and self.valid_on(day)

    def public_view(self) -> dict[str, Any]:
        """What the holder and the departments see: no ciphertext, no blind index."""
        view = self.model_dump(mode="json", exclude={"number_ciphertext", "number_index", "holder_index",
                                                     "document_key", "registered_by", "revocation"})
        view["revocation"] = ({"at": self.revocation.at, "reason": self.revocation.reason}
                              if self.revocation else None)
        return view


def mask_number(number: str) -> str:
    """First 3 and last 4 characters of a certificate number; shorter numbers keep only the last 2."""
    if len(number) <= 8:
        return "*" * max(0, len(number) - 2) + number[-2:]
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def number_key(issuer: str, type_: str, number: str) -> str:
    """What the number's blind index is computed over (the same certificate number may exist at two
    issuers or for two types)."""
    return f"{issuer}\u241f{type_}\u241f{number.strip()}"


def registration_problems(type_: str, number: str, issued_on: date | None, valid_until: date | None,
                          today: date) -> list[Problem]:
    problems = []
    if not type_.strip():
        problems.append(Problem("certificate_type_required", "须填写证照类型", "The certificate type is required",
                                "type"))
    if not number.strip():
        problems.append(Problem("certificate_number_required", "须填写证照编号",
                                "The certificate number is required", "number"))
    if issued_on is not None and issued_on > today:
        problems.append(Problem("issued_on_in_future", "发证日期不能晚于今天", "issued_on is in the future",
                                "issued_on"))
    if valid_until is not None and issued_on is not None and valid_until < issued_on:
        problems.append(Problem("valid_until_before_issue", "有效期截止日不能早于发证日期",
                                "valid_until precedes issued_on", "valid_until"))
    return problems


def use_problems(cert: Certificate, spec: MaterialSpec, today: date) -> list[Problem]:
    """Why this certificate cannot satisfy `spec` (every reason at once)."""
    wanted = spec.obtainable_from.e_certificate if spec.obtainable_from else None
    problems = []
    if wanted is None:
        problems.append(Problem("material_not_obtainable", f"材料“{spec.name_zh}”不能由电子证照提供",
                                f"Material {spec.code!r} is not obtainable from an e-certificate", spec.code))
    elif cert.type != wanted:
        problems.append(Problem("certificate_type_mismatch", f"材料“{spec.name_zh}”需要电子证照“{wanted}”",
                                f"Material {spec.code!r} needs an e-certificate of type {wanted!r}", spec.code,
                                {"wanted": wanted, "given": cert.type}))
    if cert.revocation is not None:
        problems.append(Problem("certificate_revoked", f"电子证照“{cert.type}”已被注销或吊销",
                                f"The e-certificate {cert.type!r} has been revoked", spec.code,
                                {"revoked_at": cert.revocation.at, "reason": cert.revocation.reason}))
    if not cert.valid_on(today):
        problems.append(Problem("certificate_expired", f"电子证照“{cert.type}”已过有效期",
                                f"The e-certificate {cert.type!r} has expired", spec.code,
                                {"valid_until": cert.valid_until.isoformat() if cert.valid_until else None}))
    return problems


def use_certificate(app: Application, spec: MaterialSpec, cert: Certificate, now: datetime) -> Application:
    """Fill the slot of `spec` from the certificate (holder and editing rules are the caller's)."""
    problems = use_problems(cert, spec, now.date())
    if problems:
        raise ValidationFailed("无法使用该电子证照", "The e-certificate cannot be used", code="certificate_refused",
                               problems=problems)
    slot = obtained_slot(app.materials[spec.code], now, certificate_id=cert.id, sha256=cert.document_sha256,
                         sealed_key=cert.document_key, content_type=cert.document_content_type,
                         size=cert.document_size)
    return app.model_copy(update={"materials": {**app.materials, spec.code: slot},
                                  "updated_at": now.isoformat(timespec="milliseconds")})


def already_revoked(cert: Certificate) -> Conflict:
    at = cert.revocation.at if cert.revocation else None
    return Conflict("该电子证照已被注销或吊销", "The e-certificate has already been revoked",
                    code="certificate_already_revoked", detail={"certificate_id": cert.id, "revoked_at": at})


def revoke(cert: Certificate, by: str, reason: str, actor: dict[str, str], now: datetime) -> Certificate:
    """The certificate revoked by `by` (its issuer's code or "admin") for `reason`; once only. Who may
    revoke is the caller's."""
    reason = reason.strip()
    if not reason or len(reason) > REVOCATION_REASON_MAX:
        raise ValidationFailed(problems=[Problem(
            "revocation_reason_invalid", f"须填写注销或吊销理由（1–{REVOCATION_REASON_MAX} 字）",
            f"A reason of 1 to {REVOCATION_REASON_MAX} characters is required", "reason",
            {"max_length": REVOCATION_REASON_MAX})])
    if cert.revocation is not None:
        raise already_revoked(cert)
    revocation = Revocation(at=now.isoformat(timespec="seconds"), by=by, reason=reason, actor=actor)
    return cert.model_copy(update={"revocation": revocation})
