"""Edge models: what the API accepts (strict: unknown or server-owned fields are refused) and what
it answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.applications import Application, CaseRecord, DepartmentTask, Reason, TaskRef

Strict = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateApplication(BaseModel, defer_build=True):
    model_config = Strict
    item_code: str = Field(min_length=1, max_length=64)
    region_code: str | None = Field(default=None, pattern=r"^\d{6}(\d{3})?$",
                                    description="the jurisdiction (county or town code) the matter belongs to")
    enterprise_id: str | None = Field(default=None, max_length=64,
                                      description="enterprise agents: the enterprise applied for")
    answers: dict[str, Any] = Field(default_factory=dict, max_length=100,
                                    description="answers to the item's form; conditional materials follow them")


class UpdateAnswers(BaseModel, defer_build=True):
    model_config = Strict
    answers: dict[str, Any] = Field(max_length=100)


class RequestUpload(BaseModel, defer_build=True):
    model_config = Strict
    content_type: Literal["application/pdf", "image/jpeg", "image/png", "application/ofd"]
    file_name: str | None = Field(default=None, max_length=1024,
                                  description="shown to the applicant only; never part of the storage key")


class Decision(BaseModel, defer_build=True):
    model_config = Strict
    outcome: Literal["approved", "rejected"]
    reasons: list[Reason] = Field(default_factory=list, max_length=50)
    result_upload_id: str | None = Field(default=None, max_length=64,
                                         description="the result document uploaded via /result-uploads, if any")


# -- responses --------------------------------------------------------------------------------------
class MaterialView(BaseModel, defer_build=True):
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
    # Obtained without an upload, with consent: the application whose vault copy was reused, or the
    # e-certificate used (POST …/materials/{code}/reuse).
    reused_from: str | None = None
    certificate_id: str | None = None


class ApplicationView(BaseModel, defer_build=True):
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
    region_code: str | None = None
    submitted_at: str | None = None
    trips: dict[str, int] | None = None
    visits: list[dict[str, Any]] = []
    refusal: list[Reason] = []
    withdrawn_at: str | None = None


class ApplicationPage(BaseModel, defer_build=True):
    items: list[ApplicationView]
    next_cursor: str | None


class PresignedUpload(BaseModel, defer_build=True):
    """Where and how to POST one file straight to S3, and until when."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: str
    max_size_bytes: int


class UploadTicket(PresignedUpload, defer_build=True):
    content_type: str
    application: ApplicationView


class TaskView(BaseModel, defer_build=True):
    id: str
    kind: str = "review"
    office: str | None = None
    warned_at: str | None = None
    breached_at: str | None = None
    note: str | None = None
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


class TaskPage(BaseModel, defer_build=True):
    items: list[TaskView]
    next_cursor: str | None


class TaskDetail(TaskView):
    case: CaseRecord | None
    materials: list[dict[str, Any]]


class ErrorBody(BaseModel, defer_build=True):
    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None
    problems: list[dict[str, Any]] | None = None


def application_view(app: Application) -> dict[str, Any]:
    """The applicant's view: no owner id, no storage keys."""
    doc = app.model_dump(mode="json", exclude={"owner_sub", "owner_kind", "version", "materials",
                                               "counter_pass_hash", "trail"})
    # The verdict history by content stays internal: it is how re-uploads are recognised.
    doc["materials"] = [s.model_dump(mode="json", exclude={"key", "judged"}) for s in app.materials.values()]
    if app.case is not None:
        doc["case"] = app.case.model_dump(mode="json", exclude={"issuance": {"address_ciphertext"}})
        # Trips and rounds (最多跑一次) against the item's promise.
        doc["trips"] = {"visits": len(app.visits), "max_visits": app.case.max_visits,
                        "supplement_rounds": app.case.supplement_rounds}
    return doc


def task_view(task: DepartmentTask) -> dict[str, Any]:
    return task.model_dump(mode="json", exclude={"version"})
