"""The service guide: the catalogue as the public sees it (no token needed to read a guide or to ask
for one's checklist)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from ..bootstrap import deps
from ..lazy import deferred
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import catalogue
    from . import catalogue_views
    from .catalogue_views import ChecklistRequest
else:
    catalogue_views = deferred("chalicelib.entrypoints.catalogue_views")
    catalogue = deferred("chalicelib.services.catalogue")

items = Blueprint(__name__)

# Guides change only when a new version is published; a short public cache spares the API, and the
# ETag lets a client revalidate for free (304).
GUIDE_CACHE_CONTROL = "public, max-age=60, must-revalidate"


@api_route(items, "GET", "/v1/items", summary="List or search the service items of the catalogue", kinds=None,
           response=lambda: catalogue_views.ServiceGuidePage, query=("q", "department", "channel", "limit", "cursor"))
def list_items(_principal: None, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(items)
    query = dict(items.current_request.query_params or {})
    q, department, channel = query.get("q"), query.get("department"), query.get("channel")
    if q is None and department is None and channel is None:
        page = catalogue.list_items(deps().store, limit, cursor)
    else:
        page = catalogue.search_items(deps().store, q, department, channel, limit, cursor)
    return {"items": [catalogue_views.service_guide(i) for i in page.items], "next_cursor": page.cursor}


@api_route(items, "GET", "/v1/items/{code}", summary="The service guide of one item, with its version and ETag",
           kinds=None, response=lambda: catalogue_views.ServiceGuide)
def get_item(_principal: None, _body: None, code: str) -> Response:
    item = catalogue.get_item(deps().store, code)
    tag = catalogue_views.etag(item)
    headers: dict[str, str | list[str]] = {"ETag": tag, "Cache-Control": GUIDE_CACHE_CONTROL}
    request_headers: Any = items.current_request.headers or {}  # Chalice's case-insensitive mapping
    asked = str(request_headers.get("if-none-match") or "")
    if tag in [t.strip() for t in asked.split(",")] or asked.strip() == "*":
        return Response(body="", status_code=304, headers=headers)
    return Response(body=json.dumps(catalogue_views.service_guide(item), ensure_ascii=False, separators=(",", ":")),
                    status_code=200, headers={"Content-Type": "application/json; charset=utf-8", **headers})


@api_route(items, "POST", "/v1/items/{code}/checklist", kinds=None, body=lambda: catalogue_views.ChecklistRequest,
           response=lambda: catalogue_views.ChecklistView,
           summary="Exactly the materials (upload or obtained by the bus) and prerequisites for these answers")
def item_checklist(_principal: None, body: ChecklistRequest, code: str) -> dict[str, Any]:
    return catalogue.item_checklist(deps().store, code, body.answers).to_dict()
