"""`GET /v1/applications/{application_id}/events`: what the applicant was told about their case, newest
first (the owner only; anyone else's application, like a missing one, is not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..domain.notifications import Notification
    from ..services import applicant_notifications
else:
    applicant_notifications = deferred("chalicelib.services.applicant_notifications")

case_events = Blueprint(__name__)


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


@api_route(case_events, "GET", "/v1/applications/{application_id}/events",
           summary="Notifications about my application (zh/en, the catalogue's text), newest first",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           response=NotificationPage, query=("limit", "cursor"))
def list_case_events(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    limit, cursor = page_params(case_events)
    page = applicant_notifications.list_own_notifications(deps(), principal, application_id, limit, cursor)
    return {"items": [notification_view(n) for n in page.items], "next_cursor": page.cursor}
