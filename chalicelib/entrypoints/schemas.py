"""Edge models: what the API accepts (strict: unknown or server-owned fields are refused) and what
it answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.applications import Application, CaseRecord, DepartmentTask, Reason, TaskRef
from ..domain.catalogue import ServiceItem

Strict = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateApplication(BaseModel):
    model_config = Strict
    item_code: str = Field(min_length=1, max_length=64)
    enterprise_id: str | None = Field(default=None, max_length=64,
                                      description="enterprise agents: the enterprise applied for")
    answers: dict[str, Any] = Field(default_factory=dict, max_length=100,
                                    description="answers to the item's form; conditional materials follow them")


class UpdateAnswers(BaseModel):
    model_config = Strict
    answers: dict[str, Any] = Field(max_length=100)


class RequestUpload(BaseModel):
    model_config = Strict
    content_type: Literal["application/pdf", "image/jpeg", "image/png", "application/ofd"]
    file_name: str | None = Field(default=None, max_length=1024,
                                  description="shown to the applicant only; never part of the storage key")


class Decision(BaseModel):
    model_config = Strict
    outcome: Literal["approved", "rejected"]
    reasons: list[Reason] = Field(default_factory=list, max_length=50)


# -- responses --------------------------------------------------------------------------------------
class MaterialGuide(BaseModel):
    code: str
    name_zh: str
    name_en: str
    required: bool
    accepted_types: list[str]
    accepted_content_types: list[str]
    max_size_bytes: int


class ItemGuide(BaseModel):
    code: str
    base_code: str
    version: int
    name_zh: str
    name_en: str
    kind: str
    lead_department: str
    departments: list[str]
    statutory_days: int
    committed_days: int
    max_visits: int
    materials: list[MaterialGuide]


class ItemPage(BaseModel):
    items: list[ItemGuide]
    next_cursor: str | None


class MaterialView(BaseModel):
    code: str
    required: bool
    source: str
    status: str
    upload_id: str | None
    content_type: str | None
    file_name: str | None
    size: int | None
    sha256: str | None
    problems: list[dict[str, Any]]
    updated_at: str | None
    # Non-blocking findings of the verifier (e.g. a photo's GPS location), told at once.
    notices: list[dict[str, Any]] = Field(default_factory=list)
    verdict_reused_from: str | None = None


class ApplicationView(BaseModel):
    id: str
    item_code: str
    item_version: int
    status: str
    materials: list[MaterialView]
    case: CaseRecord | None
    tasks: list[TaskRef]
    outcome: str | None
    decided_at: str | None
    created_at: str
    updated_at: str
    enterprise: dict[str, str] | None = None
    answers: dict[str, Any] = {}


class ApplicationPage(BaseModel):
    items: list[ApplicationView]
    next_cursor: str | None


class UploadTicket(BaseModel):
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: str
    max_size_bytes: int
    content_type: str
    application: ApplicationView


class TaskView(BaseModel):
    id: str
    application_id: str
    case_number: str
    item_code: str
    item_version: int
    department: str
    status: str
    outcome: str | None
    reasons: list[Reason]
    created_at: str
    deadline: str
    decided_at: str | None
    claimed_by: str | None = None
    claimed_at: str | None = None


class TaskPage(BaseModel):
    items: list[TaskView]
    next_cursor: str | None


class TaskDetail(TaskView):
    case: CaseRecord | None
    materials: list[dict[str, Any]]


class ErrorBody(BaseModel):
    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None
    problems: list[dict[str, Any]] | None = None


def item_guide(item: ServiceItem) -> dict[str, Any]:
    doc = item.model_dump(mode="json", include={
        "code", "base_code", "version", "name_zh", "name_en", "kind", "lead_department", "statutory_days",
        "committed_days", "max_visits"})
    doc["departments"] = list(item.departments)
    doc["materials"] = [
        {**m.model_dump(mode="json", include={"code", "name_zh", "name_en", "required", "max_size_bytes"}),
         "accepted_types": list(m.accepted_types), "accepted_content_types": list(m.accepted_mime_types)}
        for m in item.materials
    ]
    return doc


def application_view(app: Application) -> dict[str, Any]:
    """The applicant's view: no owner id, no storage keys."""
    doc = app.model_dump(mode="json", exclude={"owner_sub", "owner_kind", "version", "materials"})
    # The verdict history by content stays internal: it is how re-uploads are recognised.
    doc["materials"] = [s.model_dump(mode="json", exclude={"key", "judged"}) for s in app.materials.values()]
    return doc


def task_view(task: DepartmentTask) -> dict[str, Any]:
    return task.model_dump(mode="json", exclude={"version"})
