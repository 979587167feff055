"""The one table from domain errors to HTTP, and pydantic validation errors as a full problem list."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..domain.calendar import CalendarYearUnknown
from ..domain.errors import (
    Conflict,
    Forbidden,
    MalformedRequest,
    NotFound,
    OneTripError,
    Problem,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from ..domain.rate_limits import RateLimited

HTTP_STATUS: dict[type[OneTripError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MalformedRequest: 400,
    Conflict: 409,
    ValidationFailed: 422,
    RateLimited: 429,  # with Retry-After (entrypoints/http.py)
    CalendarYearUnknown: 503,  # an operator must import the year's holiday schedule; not the user's fault
    ServiceUnavailable: 503,  # e.g. the identity authority's service did not answer
}


def status_for(error: OneTripError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 400


INTERNAL_ERROR = {"code": "internal_error", "message_zh": "服务暂时不可用，请稍后重试",
                  "message_en": "The service failed; please retry later"}

_PYDANTIC_CODES = {
    "extra_forbidden": ("field_not_allowed", "不允许的字段", "This field is not allowed"),
    "missing": ("field_required", "缺少必填字段", "This field is required"),
}


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    """Every field problem at once. Input values are not echoed back (they may be personal data)."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        target = ".".join(str(p) for p in err["loc"]) or "body"
        code, zh, en = _PYDANTIC_CODES.get(err["type"], ("field_invalid", "字段值无效", err["msg"]))
        problems.append(Problem(code, zh, en if code != "field_invalid" else f"Invalid value: {en}", target))
    return problems


def error_body(error: OneTripError) -> dict[str, Any]:
    return error.to_dict()
