"""The material vault (材料库, 一次提交、多次复用): verified materials kept for their owner's later applications.

A material whose spec gives a validity (`valid_for_days`) enters its owner's vault when it is verified:
the citizen's (by subject) or, for an enterprise agent's application, the enterprise's. A later draft
whose item needs a reusable material of the same code is offered the entries still valid for it; only
with the applicant's explicit consent is the slot filled — with the very bytes verified before (same
SHA-256, same sealed copy) — and a consent receipt recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .applications import Application, MaterialSlot, MaterialStatus
from .catalogue import MaterialSpec
from .errors import Problem, ValidationFailed
from .events import DomainEvent

MATERIAL_REUSED = "onetrip.material.reused"


def owner_of(app: Application) -> str:
    """Whose materials these are: the enterprise an agent applied for, else the applicant."""
    if app.enterprise and app.enterprise.get("id"):
        return f"ent:{app.enterprise['id']}"
    return f"sub:{app.owner_sub}"


class VaultEntry(BaseModel, defer_build=True):
    """One verified content of one material, kept for its owner (idempotent per owner, code and SHA-256)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str
    material: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sealed_key: str
    content_type: str
    size: int = Field(ge=0)
    file_name: str | None = None
    notices: list[dict[str, Any]] = Field(default_factory=list)
    # Where it was verified: the application, its item (version) and the upload.
    application_id: str
    item_code: str
    item_version: int
    upload_id: str | None = None
    verified_at: str
    valid_until: date

    def usable_until(self, spec: MaterialSpec) -> date:
        """The last day it may serve this spec: its own validity, and the spec's own (a spec may want
        a fresher document than the one it was verified for)."""
        verified_on = datetime.fromisoformat(self.verified_at).date()
        own = verified_on + timedelta(days=spec.valid_for_days or 0)
        return min(self.valid_until, own)

    def problems_for(self, spec: MaterialSpec, today: date) -> list[Problem]:
        """Why this entry cannot fill a slot of `spec` (every reason at once); empty when it can."""
        problems = []
        if spec.valid_for_days is None or spec.code != self.material:
            problems.append(Problem("material_not_reusable", f"材料“{spec.name_zh}”不接受材料库中的材料",
                                    f"Material {spec.code!r} cannot be filled from the vault", spec.code))
            return problems
        if self.usable_until(spec) < today:
            problems.append(Problem("vault_entry_expired", f"材料库中的“{spec.name_zh}”已超过有效期",
                                    f"The vault copy of {spec.code!r} is past its validity", spec.code,
                                    {"valid_until": self.usable_until(spec).isoformat()}))
        if self.content_type not in spec.accepted_mime_types:
            problems.append(Problem("content_type_not_accepted",
                                    f"材料“{spec.name_zh}”只接受 {', '.join(spec.accepted_types)} 文件",
                                    f"Material {spec.code!r} accepts only {', '.join(spec.accepted_types)} files",
                                    spec.code, {"accepted": list(spec.accepted_mime_types)}))
        if self.size > spec.max_size_bytes:
            problems.append(Problem("file_too_large", f"材料“{spec.name_zh}”超过大小限制",
                                    f"Material {spec.code!r} is over its size limit", spec.code,
                                    {"max_size_bytes": spec.max_size_bytes}))
        return problems


def entry_for(app: Application, spec: MaterialSpec, now: datetime) -> VaultEntry | None:
    """The vault entry of a material just verified in `app`, or None when the spec is not reusable or
    the slot holds no verified, sealed upload."""
    slot = app.materials.get(spec.code)
    if spec.valid_for_days is None or slot is None or slot.status is not MaterialStatus.VERIFIED:
        return None
    if not slot.sealed_key or not slot.sha256 or slot.size is None or not slot.content_type:
        return None
    return VaultEntry(
        owner=owner_of(app), material=spec.code, sha256=slot.sha256, sealed_key=slot.sealed_key,
        content_type=slot.content_type, size=slot.size, file_name=slot.file_name, notices=list(slot.notices),
        application_id=app.id, item_code=app.item_code, item_version=app.item_version, upload_id=slot.upload_id,
        verified_at=now.isoformat(timespec="milliseconds"),
        valid_until=now.date() + timedelta(days=spec.valid_for_days),
    )


def obtained_slot(slot: MaterialSlot, now: datetime, **update: Any) -> MaterialSlot:
    """A slot filled without an upload: verified, no upload key, no earlier problems."""
    base: dict[str, Any] = {
        "status": MaterialStatus.VERIFIED, "upload_id": None, "key": None, "problems": [], "notices": [],
        "verdict_reused_from": None, "content_type": None, "file_name": None, "size": None, "sha256": None,
        "sealed_key": None, "reused_from": None, "certificate_id": None,
        "updated_at": now.isoformat(timespec="milliseconds"),
    }
    return slot.model_copy(update={**base, **update})


def reuse_entry(app: Application, spec: MaterialSpec, entry: VaultEntry, now: datetime) -> Application:
    """Fill the slot of `spec` with the vault entry (the rules of who may edit are the caller's)."""
    problems = entry.problems_for(spec, now.date())
    if entry.owner != owner_of(app):
        problems.append(Problem("vault_entry_not_owned", "只能复用本人（本企业）材料库中的材料",
                                "Only the applicant's own vault can be used", spec.code))
    if problems:
        raise ValidationFailed("无法复用该材料", "The material cannot be reused", code="reuse_refused",
                               problems=problems)
    slot = obtained_slot(
        app.materials[spec.code], now, sealed_key=entry.sealed_key, sha256=entry.sha256, size=entry.size,
        content_type=entry.content_type, file_name=entry.file_name, notices=list(entry.notices),
        reused_from=entry.application_id)
    return app.model_copy(update={"materials": {**app.materials, spec.code: slot},
                                  "updated_at": now.isoformat(timespec="milliseconds")})


def reused_event(app: Application, material: str, source: str, now: datetime, actor: dict[str, str],
                 **data: Any) -> DomainEvent:
    """`onetrip.material.reused`: a slot was filled from the vault or an e-certificate, with consent.
    Codes, hashes and ids only."""
    slot = app.materials[material]
    return DomainEvent.raised(
        MATERIAL_REUSED, now, application_id=app.id, recipients=[], actor=actor,
        subject=f"applications/{app.id}/materials/{material}",
        data={"application_id": app.id, "item_code": app.item_code, "material": material, "source": source,
              "sha256": slot.sha256, **data},
    )
