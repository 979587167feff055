"""`GET /v1/events?after=`: a department catches up on every event addressed to it, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import events_feed
    from . import delivery_schemas
else:
    delivery_schemas = deferred("chalicelib.entrypoints.delivery_schemas")
    events_feed = deferred("chalicelib.services.events_feed")

events_api = Blueprint(__name__)


@api_route(events_api, "GET", "/v1/events",
           summary="Events addressed to my department after a cursor (an event id), oldest first, 30 days",
           kinds=frozenset({PrincipalKind.DEPARTMENT}), authorizer=jwt_authorizer,
           response=lambda: delivery_schemas.EventPage,
           query=("after", "limit"))
def list_events(principal: Principal, _body: None) -> dict[str, Any]:
    limit, _ = page_params(events_api)
    query: dict[str, str] = dict(events_api.current_request.query_params or {})
    after = query.get("after") or None
    return events_feed.pull_events(deps(), principal, after, limit)
