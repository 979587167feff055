"""Edge models of the catalogue API: the full service guide, a page of guides, the checklist."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.catalogue import (
    Channel,
    Fee,
    FormField,
    LegalBasis,
    MaterialSpec,
    ObtainableFrom,
    Prerequisite,
    ResultDocument,
    ServiceItem,
    Stage,
)


class ChecklistRequest(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any] = Field(default_factory=dict, max_length=60,
                                    description="form field name → answer (typed as the item's form says)")


class GuideMaterial(MaterialSpec):
    accepted_content_types: tuple[str, ...]
    source: Literal["upload", "bus"]


class ServiceGuide(BaseModel, defer_build=True):
    code: str
    base_code: str
    version: int
    status: str
    valid_from: date | None
    valid_until: date | None
    content_hash: str
    name_zh: str
    name_en: str
    aliases: list[str]
    main_item: str | None
    kind: str
    lead_department: str
    departments: list[str]
    jurisdictions: list[str]
    delegated_to: list[str]
    channels: list[Channel]
    statutory_days: int
    committed_days: int
    max_visits: int
    fees: list[Fee]
    legal_basis: list[LegalBasis]
    prerequisites: list[Prerequisite]
    stages: list[Stage]
    results: list[ResultDocument]
    form: list[FormField]
    materials: list[GuideMaterial]


class ServiceGuidePage(BaseModel, defer_build=True):
    items: list[ServiceGuide]
    next_cursor: str | None


class ChecklistMaterial(BaseModel, defer_build=True):
    code: str
    name_zh: str
    name_en: str
    source: Literal["upload", "bus"]
    conditional: bool
    original: bool
    copies: int
    obtainable_from: ObtainableFrom | None = None
    accepted_types: list[str] | None = None
    accepted_content_types: list[str] | None = None
    max_size_bytes: int | None = None
    max_pages: int | None = None
    sample_ref: str | None = None


class ChecklistPrerequisite(BaseModel, defer_build=True):
    description_zh: str
    description_en: str
    item_code: str | None


class ChecklistView(BaseModel, defer_build=True):
    item_code: str
    item_version: int
    name_zh: str
    name_en: str
    max_visits: int
    committed_days: int
    materials: list[ChecklistMaterial]
    prerequisites: list[ChecklistPrerequisite]


def service_guide(item: ServiceItem) -> dict[str, Any]:
    doc = item.model_dump(mode="json", exclude={"joint_departments", "materials"})
    doc["departments"] = list(item.departments)
    doc["content_hash"] = item.content_hash
    doc["materials"] = [
        {**m.model_dump(mode="json"), "accepted_content_types": list(m.accepted_mime_types),
         "source": "bus" if m.obtained_by_bus else "upload"}
        for m in item.materials
    ]
    return doc


def etag(item: ServiceItem) -> str:
    """Strong validator of one published version: same code, version and content → same tag."""
    return f'"{item.code}.v{item.version}.{item.content_hash[:20]}"'
