"""Request and response models of the case routes (chalicelib/entrypoints/api_cases.py), imported on
the first request that needs them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..domain.applications import Reason, SupplementItem
from ..domain.cases import VISIT_REASONS
from .schemas import ApplicationView, PresignedUpload, Strict


class SupplementRequestBody(BaseModel, defer_build=True):
    model_config = Strict
    items: list[SupplementItem] = Field(min_length=1, max_length=50,
                                        description="everything needed, at once (一次性告知)")


class IssueResultBody(BaseModel, defer_build=True):
    model_config = Strict
    method: Literal["download", "mail", "pickup"]
    address: str | None = Field(default=None, min_length=5, max_length=300, description="mail only; kept encrypted")
    office: str | None = Field(default=None, max_length=64, description="pick-up only")


class RatingBody(BaseModel, defer_build=True):
    model_config = Strict
    level: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意; ≤ 2 opens a rectification")
    comment: str | None = Field(default=None, max_length=500)


PASS_CODE = Field(pattern=r"^[A-Za-z0-9]{8}$", description="the counter pass the applicant shows")


class CounterBody(BaseModel, defer_build=True):
    model_config = Strict
    pass_code: str = PASS_CODE


class VisitBody(BaseModel, defer_build=True):
    model_config = Strict
    pass_code: str = PASS_CODE
    reason: Literal[VISIT_REASONS]  # type: ignore[valid-type]


class RefusalBody(BaseModel, defer_build=True):
    model_config = Strict
    pass_code: str = PASS_CODE
    reasons: list[Reason] = Field(min_length=1, max_length=50)


class CounterPass(BaseModel, defer_build=True):
    code: str
    expires_at: str


class RectificationBody(BaseModel, defer_build=True):
    model_config = Strict
    note: str = Field(min_length=1, max_length=2000)


class ResultUploadBody(BaseModel, defer_build=True):
    model_config = Strict
    content_type: Literal["application/pdf"]


class ResultUploadTicket(PresignedUpload, defer_build=True):
    """The department's presigned POST for a task's result document."""


class ResultView(BaseModel, defer_build=True):
    application: ApplicationView
    documents: list[dict[str, Any]]
