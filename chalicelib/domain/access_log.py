"""Who used my data (数据使用记录): consent receipts and access records, kept for the data's owner.

Every reuse of a vault material and every use of an e-certificate is a consent receipt (who agreed,
to what, when); every department read of a case's materials is an access record (which department,
which materials, which case, why). The owner — the citizen, or the enterprise an agent acts for —
reads them newest first at `GET /v1/me/access-log`. Records carry codes, hashes and opaque ids only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .ids import new_id


class AccessAction(StrEnum):
    VAULT_REUSE = "vault_reuse"  # the applicant reused a verified material from the vault (consent)
    CERTIFICATE_USE = "certificate_use"  # the applicant let the bus use an e-certificate (consent)
    DEPARTMENT_READ = "department_read"  # a department read the case's materials (links issued)


class AccessedMaterial(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    source: str  # upload, vault or e_certificate
    sha256: str | None = None
    certificate_id: str | None = None
    reused_from: str | None = None


class ConsentReceipt(BaseModel, defer_build=True):
    """What the applicant agreed to, in the words shown, and when (PIPL Art. 14: informed, explicit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    given_by: dict[str, str]
    given_at: str
    statement_zh: str
    statement_en: str


class AccessRecord(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    owner: str  # vault owner key: `sub:<subject>` or `ent:<enterprise id>`
    at: str
    action: AccessAction
    actor: dict[str, str]
    application_id: str
    item_code: str
    case_number: str | None = None
    materials: list[AccessedMaterial] = Field(min_length=1)
    purpose_zh: str
    purpose_en: str
    consent: ConsentReceipt | None = None

    def public_view(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"owner"})


def consent_statement(item_name_zh: str, item_code: str, material_name_zh: str, material_code: str,
                      source: str) -> tuple[str, str]:
    what_zh = "材料库中已核验的材料" if source == "vault" else "电子证照"
    what_en = "a verified copy from my vault" if source == "vault" else "an e-certificate"
    return (f"本人同意在申请“{item_name_zh}”时使用{what_zh}作为“{material_name_zh}”，并同意受理部门查阅。",
            f"I agree that {what_en} serves as {material_code!r} in my application for {item_code} and may be "
            "read by the departments handling it.")


def consent_record(owner: str, actor: dict[str, str], now: datetime, *, application_id: str, item_code: str,
                   item_name_zh: str, material: AccessedMaterial, material_name_zh: str,
                   case_number: str | None = None) -> AccessRecord:
    """The receipt of one consent: the applicant's own use of their data for one material of one case."""
    vault = material.source == "vault"
    statement_zh, statement_en = consent_statement(item_name_zh, item_code, material_name_zh, material.code,
                                                   material.source)
    at = now.isoformat(timespec="milliseconds")
    return AccessRecord(
        id=new_id("acc_"), owner=owner, at=at,
        action=AccessAction.VAULT_REUSE if vault else AccessAction.CERTIFICATE_USE, actor=actor,
        application_id=application_id, item_code=item_code, case_number=case_number, materials=[material],
        purpose_zh=f"申请“{item_name_zh}”，{'复用已核验的材料' if vault else '使用电子证照'}“{material_name_zh}”",
        purpose_en=f"Application for {item_code}: {'reused a verified' if vault else 'used an e-certificate for'} "
                   f"material {material.code!r}",
        consent=ConsentReceipt(given_by=actor, given_at=at, statement_zh=statement_zh, statement_en=statement_en),
    )


def department_read(owner: str, actor: dict[str, str], now: datetime, *, application_id: str, item_code: str,
                    case_number: str | None, task_id: str, materials: list[AccessedMaterial]) -> AccessRecord:
    department = actor.get("binding", "")
    return AccessRecord(
        id=new_id("acc_"), owner=owner, at=now.isoformat(timespec="milliseconds"),
        action=AccessAction.DEPARTMENT_READ, actor=actor, application_id=application_id, item_code=item_code,
        case_number=case_number, materials=materials,
        purpose_zh=f"部门 {department} 审查办件 {case_number or application_id} 的材料（任务 {task_id}）",
        purpose_en=f"Department {department} reviewed the materials of case {case_number or application_id} "
                   f"(task {task_id})",
    )
