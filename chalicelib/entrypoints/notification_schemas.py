"""Response models of the applicant notification routes (chalicelib/entrypoints/api_case_events.py),
imported on the first request that needs them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..domain.notifications import Notification


class NotificationView(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    id: str
    event_id: str
    type: str
    occurred_at: str
    case_number: str | None
    text_zh: str
    text_en: str
    delivery: str


class NotificationPage(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    items: list[NotificationView]
    next_cursor: str | None


def notification_view(notification: Notification) -> dict[str, Any]:
    return notification.model_dump(mode="json", include=set(NotificationView.model_fields))
