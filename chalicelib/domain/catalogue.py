"""The standardized catalogue (事项目录): service items and the materials each one needs.

A service item is a draft until it is published in a numbered version; a published version is
immutable and content-hashed, and an application is pinned to the version it was drafted under and
judged by it for life. The service guide the API serves *is* this entry. Structural rules (types,
lengths, unique codes) live in these models; the standardization rules (标准化: no catch-all
materials, committed ≤ statutory, …) are the linter's (`catalogue_lint`), so a finding can be
reported with its rule id instead of being a parse error.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Accepted material file types and the MIME type the upload must declare for each.
MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "ofd": "application/ofd",  # GB/T 33190 fixed-layout documents (a ZIP of XML)
}

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
TextZh = Annotated[str, Field(min_length=1, max_length=500)]
TextEn = Annotated[str, Field(min_length=1, max_length=500)]
Condition = Annotated[str, Field(min_length=1, max_length=500, description="a condition over form fields")]

_Frozen = ConfigDict(frozen=True, extra="forbid")


class ItemKind(StrEnum):
    ADMINISTRATIVE_LICENSE = "行政许可"
    ADMINISTRATIVE_CONFIRMATION = "行政确认"
    ADMINISTRATIVE_PAYMENT = "行政给付"
    ADMINISTRATIVE_LEVY = "行政征收"
    ADMINISTRATIVE_RULING = "行政裁决"
    PUBLIC_SERVICE = "公共服务"
    OTHER = "其他行政权力"


class ItemStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Channel(StrEnum):
    ONLINE = "online"  # app / web: zero visits
    WINDOW = "window"  # the service centre's comprehensive window
    TERMINAL = "terminal"  # 24-hour self-service terminal
    TOWN_CENTRE = "town_centre"  # a town (乡镇/街道) convenience centre the item is delegated to


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    DATE = "date"


class Choice(BaseModel, defer_build=True):
    model_config = _Frozen

    value: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    label_zh: TextZh
    label_en: TextEn


class FormField(BaseModel, defer_build=True):
    """One typed field of the application form; conditions are written over these."""

    model_config = _Frozen

    name: FieldName
    label_zh: TextZh
    label_en: TextEn
    type: FieldType
    required: bool = True
    choices: tuple[Choice, ...] = Field(default=(), max_length=50)
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = Field(default=200, ge=1, le=2000)

    @model_validator(mode="after")
    def _shape(self) -> FormField:
        if (self.type is FieldType.ENUM) != bool(self.choices):
            raise ValueError("choices are given exactly for enum fields")
        values = [c.value for c in self.choices]
        if len(values) != len(set(values)):
            raise ValueError("choice values must be unique")
        if (self.minimum is not None or self.maximum is not None) and self.type is not FieldType.INTEGER:
            raise ValueError("minimum/maximum apply to integer fields only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum must not exceed maximum")
        return self


class ObtainableFrom(BaseModel, defer_build=True):
    """Where the bus fetches a material itself (数据跑路), so the applicant need not upload it."""

    model_config = _Frozen

    e_certificate: str | None = Field(default=None, max_length=100, description="电子证照 type, e.g. 居民身份证")
    department: Code | None = Field(default=None, description="the department that issued and holds it")

    @model_validator(mode="after")
    def _one_source(self) -> ObtainableFrom:
        if not (self.e_certificate or self.department):
            raise ValueError("name an e-certificate type or a department")
        return self


class MaterialSpec(BaseModel, defer_build=True):
    """One material (材料) an item requires: exact name, form, accepted file types and size limit.

    `required` materials are always needed; a material with a `condition` is needed when the
    condition holds over the applicant's form answers (it is then not `required` itself); any other
    material is optional.
    """

    model_config = _Frozen

    code: Code
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    required: bool = True
    condition: Condition | None = None
    original: bool = Field(default=False, description="原件 (True) or 复印件/扫描件 (False)")
    copies: int = Field(default=1, ge=0, le=10)
    accepted_types: tuple[str, ...] = Field(default=("pdf",), min_length=1)
    max_size_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=100 * 1024 * 1024)
    max_pages: int | None = Field(default=None, ge=1, le=2000)
    sample_ref: str | None = Field(default=None, max_length=300, description="样表 / 示范文本")
    template_ref: str | None = Field(default=None, max_length=300, description="空白表格")
    obtainable_from: ObtainableFrom | None = None
    # Once-only (一次提交、多次复用): how long a verified copy stays usable for later applications. Set,
    # it makes the material reusable: another item's material with the same code and a validity is the
    # same document, offered from the applicant's vault for this many days after verification.
    valid_for_days: int | None = Field(default=None, ge=1, le=36500)
    note_zh: str | None = Field(default=None, max_length=500)
    note_en: str | None = Field(default=None, max_length=500)

    @field_validator("accepted_types")
    @classmethod
    def _known_types(cls, types: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(types) - MIME_TYPES.keys())
        if unknown:
            raise ValueError(f"unknown file types {unknown}; accepted: {sorted(MIME_TYPES)}")
        return types

    @model_validator(mode="after")
    def _condition_means_conditional(self) -> MaterialSpec:
        if self.condition is not None and self.required:
            raise ValueError("a material with a condition is not `required` (it is needed when the condition holds)")
        return self

    @property
    def accepted_mime_types(self) -> tuple[str, ...]:
        return tuple(MIME_TYPES[t] for t in self.accepted_types)

    @property
    def obtained_by_bus(self) -> bool:
        return self.obtainable_from is not None


class Fee(BaseModel, defer_build=True):
    model_config = _Frozen

    name_zh: TextZh
    name_en: TextEn
    amount_cny: Decimal = Field(ge=0, le=Decimal("10000000"), max_digits=12, decimal_places=2)
    basis_zh: str | None = Field(default=None, max_length=300)


class LegalBasis(BaseModel, defer_build=True):
    model_config = _Frozen

    title_zh: str = Field(min_length=1, max_length=200, description="法律法规名称")
    article: str | None = Field(default=None, max_length=100, description="条款, e.g. 第十四条")


class Prerequisite(BaseModel, defer_build=True):
    """Something that must be done first (前置条件), told up front: another item or a plain condition."""

    model_config = _Frozen

    description_zh: TextZh
    description_en: TextEn
    item_code: Code | None = Field(default=None, description="a catalogue item to complete first")
    condition: Condition | None = None


class Stage(BaseModel, defer_build=True):
    """One stage of a multi-stage item (e.g. 立项 → 供地 → 施工许可 → 竣工验收)."""

    model_config = _Frozen

    code: Code
    name_zh: TextZh
    name_en: TextEn
    item_codes: tuple[Code, ...] = Field(default=(), max_length=30)
    committed_days: int = Field(ge=1, le=365)
    public_notice_days: int = Field(default=0, ge=0, le=60, description="公示期, calendar days")


class ResultDocument(BaseModel, defer_build=True):
    model_config = _Frozen

    name_zh: TextZh
    name_en: TextEn
    e_certificate: bool = False


class NotificationText(BaseModel, defer_build=True):
    """What the applicant is told on one event, in both languages, with `{placeholder}`s (see
    `domain.notifications.PLACEHOLDERS`; the linter checks them per event)."""

    model_config = _Frozen

    text_zh: TextZh
    text_en: TextEn

    @field_validator("text_zh", "text_en")
    @classmethod
    def _well_formed(cls, text: str) -> str:
        rest = re.sub(r"\{[a-z_]+\}", "", text)
        if "{" in rest or "}" in rest:
            raise ValueError("placeholders are {name} with lowercase letters and underscores; no other braces")
        return text


class ServiceItem(BaseModel, defer_build=True):
    """One version of one service item (事项) — a draft or a published version."""

    model_config = _Frozen

    code: Code
    base_code: str = Field(default="", max_length=64, description="provincial base code 基本编码")
    version: int = Field(default=1, ge=1)
    status: ItemStatus = ItemStatus.PUBLISHED
    valid_from: date | None = None
    valid_until: date | None = None
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    aliases: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = Field(default=(), max_length=20)
    main_item: Code | None = Field(default=None, description="the main item (主项) of a sub-item (子项)")
    kind: ItemKind = ItemKind.PUBLIC_SERVICE
    lead_department: Code
    joint_departments: tuple[Code, ...] = Field(default=(), max_length=20)
    jurisdictions: tuple[Annotated[str, Field(pattern=r"^\d{6}$")], ...] = Field(
        default=(), max_length=50, description="administrative division codes where it is handled")
    delegated_to: tuple[Code, ...] = Field(default=(), max_length=50, description="town offices it is delegated to")
    channels: tuple[Channel, ...] = Field(default=(Channel.ONLINE, Channel.WINDOW), min_length=1, max_length=4)
    statutory_days: int = Field(ge=1, le=365, description="法定时限, working days")
    committed_days: int = Field(ge=1, le=365, description="承诺时限, working days")
    max_visits: int = Field(default=0, ge=0, le=1)
    # 受理审查: a window officer examines the submission (e.g. the originals) before acceptance; that
    # is the applicant's one visit. Without it, a complete submission is accepted at once.
    acceptance_review: bool = False
    # The identity assurance an applicant needs (L1 phone/e-mail, L2 real-name, L3 in person).
    min_assurance_level: Literal["L1", "L2", "L3"] = "L2"
    fees: tuple[Fee, ...] = Field(default=(), max_length=20)
    legal_basis: tuple[LegalBasis, ...] = Field(default=(), max_length=20)
    prerequisites: tuple[Prerequisite, ...] = Field(default=(), max_length=20)
    stages: tuple[Stage, ...] = Field(default=(), max_length=10)
    results: tuple[ResultDocument, ...] = Field(default=(), max_length=10)
    form: tuple[FormField, ...] = Field(default=(), max_length=60)
    materials: tuple[MaterialSpec, ...] = Field(min_length=1, max_length=50)
    # The applicant's notification texts by event type, overriding the built-in defaults.
    notifications: dict[Annotated[str, Field(pattern=r"^onetrip\.[a-z_]+\.[a-z_]+$")], NotificationText] = Field(
        default_factory=dict, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceItem:
        codes = [m.code for m in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("material codes must be unique within an item")
        names = [f.name for f in self.form]
        if len(names) != len(set(names)):
            raise ValueError("form field names must be unique within an item")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not precede valid_from")
        return self

    @property
    def departments(self) -> tuple[str, ...]:
        """Every department that reviews a case of this item: the lead first, then the joint ones (联办)."""
        # A department listed twice is a lint finding (joint-needs-two-departments); it never gets two tasks.
        return tuple(dict.fromkeys((self.lead_department, *self.joint_departments)))

    def material(self, code: str) -> MaterialSpec | None:
        return next((m for m in self.materials if m.code == code), None)

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.form if f.name == name), None)

    @property
    def content_hash(self) -> str:
        """Fingerprint of the rules of this version, stored on every case so the rules it was judged by
        are provable. Lifecycle data (version number, status, validity dates) is not content: the
        same rules re-published under another number hash the same."""
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    def content(self) -> dict[str, Any]:
        # An item without its own notification texts hashes as it did before they existed.
        exclude = set(LIFECYCLE_FIELDS) | (set() if self.notifications else {"notifications"})
        doc = self.model_dump(mode="json", exclude=exclude)
        for material in doc["materials"]:
            # Unset, an optional material field added later is no content: older versions keep their hash.
            for name in _OPTIONAL_MATERIAL_FIELDS:
                if material.get(name) is None:
                    material.pop(name, None)
        return doc


LIFECYCLE_FIELDS = frozenset({"version", "status", "valid_from", "valid_until"})
_OPTIONAL_MATERIAL_FIELDS = ("valid_for_days",)


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def is_valid_code(code: str) -> bool:
    return bool(_CODE_RE.match(code))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalogue item, for editors and for departments' own tooling."""
    schema = ServiceItem.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "OneTrip service item (事项)"
    return schema


def needed_materials(item: ServiceItem, answers: dict[str, Any]) -> tuple[MaterialSpec, ...]:
    """The materials one applicant needs given typed form answers (see `domain.checklist`)."""
    from .checklist import needed_materials as needed

    return needed(item, answers)
