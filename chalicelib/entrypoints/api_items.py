"""The service guide: the catalogue as the public sees it (no token needed to read a guide)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import deps
from ..services import catalogue
from .http import api_route, page_params
from .schemas import ItemGuide, ItemPage, item_guide

items = Blueprint(__name__)


@api_route(items, "GET", "/v1/items", summary="List the service items of the catalogue", kinds=None,
           response=ItemPage, query=("limit", "cursor"))
def list_items(_principal: None, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(items)
    page = catalogue.list_items(deps().store, limit, cursor)
    return {"items": [item_guide(i) for i in page.items], "next_cursor": page.cursor}


@api_route(items, "GET", "/v1/items/{code}", summary="The service guide of one item: materials, limits, time",
           kinds=None, response=ItemGuide)
def get_item(_principal: None, _body: None, code: str) -> dict[str, Any]:
    return item_guide(catalogue.get_item(deps().store, code))
