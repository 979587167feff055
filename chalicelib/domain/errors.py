"""The one family of errors a user can see: a stable code plus a Chinese and an English message.

Validation failures carry every problem at once (一次性告知). The HTTP status of each error is
decided in one table, `chalicelib/entrypoints/errors.py`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (a field or material), why (a code), in both languages."""

    code: str
    message_zh: str
    message_en: str
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}
        if self.target is not None:
            out["target"] = self.target
        if self.detail:
            out["detail"] = self.detail
        return out


class OneTripError(Exception):
    code = "error"
    message_zh = "请求无法完成"
    message_en = "The request could not be completed"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        problems: list[Problem] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or type(self).code
        self.message_zh = message_zh or type(self).message_zh
        self.message_en = message_en or type(self).message_en
        self.problems = list(problems or [])
        self.detail = dict(detail or {})
        super().__init__(f"{self.code}: {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}
        if self.detail:
            out["detail"] = self.detail
        if self.problems:
            out["problems"] = [p.to_dict() for p in self.problems]
        return out


class Unauthenticated(OneTripError):
    code = "unauthenticated"
    message_zh = "身份凭证缺失或无效"
    message_en = "Missing or invalid credentials"


class Forbidden(OneTripError):
    code = "forbidden"
    message_zh = "无权执行此操作"
    message_en = "You are not allowed to do this"


class NotFound(OneTripError):
    code = "not_found"
    message_zh = "未找到该资源"
    message_en = "Not found"

    @classmethod
    def of(cls, resource: str, ident: str, *, code: str | None = None) -> NotFound:
        return cls(
            f"未找到{_RESOURCE_ZH.get(resource, resource)}：{ident}",
            f"No {resource} {ident!r}",
            code=code or f"{resource}_not_found",
            detail={"resource": resource, "id": ident},
        )


_RESOURCE_ZH = {"item": "事项", "application": "申请", "task": "部门任务", "material": "材料", "department": "部门",
               "delivery": "投递记录", "endpoint": "回调地址"}


class MalformedRequest(OneTripError):
    code = "malformed_request"
    message_zh = "请求体不是合法的 JSON"
    message_en = "The request body is not valid JSON"


class ServiceUnavailable(OneTripError):
    """A service the bus depends on did not answer; the user may retry later (503)."""

    code = "service_unavailable"
    message_zh = "依赖的服务暂时不可用，请稍后重试"
    message_en = "A service this needs is unavailable; please retry later"


class ValidationFailed(OneTripError):
    code = "validation_failed"
    message_zh = "请求有误，请按以下问题一次性修改"
    message_en = "The request has problems; all of them are listed"


class Conflict(OneTripError):
    code = "conflict"
    message_zh = "当前状态不允许此操作"
    message_en = "This is not allowed in the current state"


class ConcurrentUpdate(Conflict):
    """A conditional write lost a race; services retry it, users rarely see it."""

    code = "concurrent_update"
    message_zh = "数据已被他人修改，请重试"
    message_en = "The record changed meanwhile; please retry"
