"""The delivery log (a department's own, or any department's for admins) and replay."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import delivery_log as service
    from . import delivery_schemas
    from .delivery_schemas import ReplayRange
else:
    delivery_schemas = deferred("chalicelib.entrypoints.delivery_schemas")
    service = deferred("chalicelib.services.delivery_log")

deliveries_api = Blueprint(__name__)
READERS = frozenset({PrincipalKind.DEPARTMENT, PrincipalKind.ADMIN})


@api_route(deliveries_api, "GET", "/v1/deliveries",
           summary="Webhook deliveries, newest first, optionally by status (admins name the department)",
           kinds=READERS, authorizer=jwt_authorizer, response=lambda: delivery_schemas.DeliveryPage,
           query=("status", "department", "limit", "cursor"))
def list_deliveries(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(deliveries_api)
    query: dict[str, str] = dict(deliveries_api.current_request.query_params or {})
    page = service.list_deliveries(deps(), principal, query.get("department"), query.get("status") or None,
                                   limit, cursor)
    return {"items": [d.summary() for d in page.items], "next_cursor": page.cursor}


@api_route(deliveries_api, "GET", "/v1/deliveries/{webhook_id}", summary="One delivery with every attempt",
           kinds=READERS, authorizer=jwt_authorizer, response=lambda: delivery_schemas.DeliveryDetail)
def get_delivery(principal: Principal, _body: None, webhook_id: str) -> dict[str, Any]:
    delivery, attempts = service.get_delivery(deps(), principal, webhook_id)
    return {**delivery.summary(), "attempts": attempts, "payload": json.loads(delivery.payload)}


@api_route(deliveries_api, "POST", "/v1/deliveries/{webhook_id}/replay",
           summary="Send one delivery again, same webhook-id and body", kinds=READERS,
           authorizer=jwt_authorizer, response=lambda: delivery_schemas.DeliveryView, status=202)
def replay_delivery(principal: Principal, _body: None, webhook_id: str) -> dict[str, Any]:
    return service.replay(deps(), principal, webhook_id).summary()


@api_route(deliveries_api, "POST", "/v1/replays",
           summary="Send every delivery of a time range again (optionally only one status)", kinds=READERS,
           authorizer=jwt_authorizer, body=lambda: delivery_schemas.ReplayRange,
           response=lambda: delivery_schemas.Replayed, status=202)
def replay_range(principal: Principal, body: ReplayRange) -> dict[str, Any]:
    return {"replayed": service.replay_range(deps(), principal, body.department, body.since, body.until,
                                             body.status)}
