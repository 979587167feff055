"""`GET /v1/applications/{application_id}/events`: what the applicant was told about their case, newest
first (the owner only; anyone else's application, like a missing one, is not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import applicant_notifications
    from . import notification_schemas
else:
    notification_schemas = deferred("chalicelib.entrypoints.notification_schemas")
    applicant_notifications = deferred("chalicelib.services.applicant_notifications")

case_events = Blueprint(__name__)


@api_route(case_events, "GET", "/v1/applications/{application_id}/events",
           summary="Notifications about my application (zh/en, the catalogue's text), newest first",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           response=lambda: notification_schemas.NotificationPage, query=("limit", "cursor"))
def list_case_events(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    limit, cursor = page_params(case_events)
    page = applicant_notifications.list_own_notifications(deps(), principal, application_id, limit, cursor)
    return {"items": [notification_schemas.notification_view(n) for n in page.items], "next_cursor": page.cursor}
