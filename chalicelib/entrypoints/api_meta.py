"""`GET /v1/openapi.json`: the OpenAPI 3.1 document, generated from the route table and edge models."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from .http import ROUTES, api_route

meta = Blueprint(__name__)

_ERROR_STATUSES = {"400": "Malformed JSON", "401": "Missing or invalid token", "403": "Not allowed for this kind",
                   "404": "Not found (or not yours)", "409": "Not allowed in the current state",
                   "422": "Validation failed: every problem listed", "500": "Internal error"}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    # Built once per container, on the first request for it: every schema module is imported here.
    from pydantic.json_schema import models_json_schema

    from ..domain.event_types import openapi_webhooks
    from .schemas import ErrorBody

    models: set[type[BaseModel]] = {ErrorBody}
    for spec in ROUTES:
        models.update(m for m in (spec.body, spec.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema([(m, "validation" if _is_body(m) else "serialization") for m in ordered],
                                    ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        op: dict[str, Any] = {
            "operationId": f"{spec.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', spec.path.lower()).strip('_')}",
            "summary": spec.summary,
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                           for n in re.findall(r"{(\w+)}", spec.path)]
            + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in spec.query],
            "responses": {str(spec.status): {"description": "OK", "content": {"application/json": {
                "schema": ref(spec.response) if spec.response else {"type": "object"}}}}},
        }
        if spec.kinds is not None:
            op["security"] = [{"bearer": []}]
            op["x-principal-kinds"] = sorted(k.value for k in spec.kinds)
            if spec.scope is not None:
                op["x-scope"] = spec.scope.value
            op["x-rate-limit-class"] = spec.rate_class
            op["responses"]["429"] = {"description": "Rate limited: retry after Retry-After seconds",
                                      "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                                      "content": {"application/json": {"schema": ref(ErrorBody)}}}
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(spec.body)}}}
        for status, description in _ERROR_STATUSES.items():
            if status == "401" and spec.kinds is None:
                continue
            op["responses"][status] = {"description": description,
                                       "content": {"application/json": {"schema": ref(ErrorBody)}}}
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "OneTrip API (最多跑一次)", "version": "1",
                 "description": "One front door for applicants, departments and admins. Every error has a stable "
                                "code, a Chinese and an English message; validation lists every problem at once."},
        "paths": paths,
        "webhooks": openapi_webhooks(),  # what departments receive: one signed CloudEvent type each
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _is_body(model: type[BaseModel]) -> bool:
    return any(spec.body is model for spec in ROUTES)


@api_route(meta, "GET", "/v1/openapi.json", summary="This OpenAPI document", kinds=None)
def get_openapi(_principal: None, _body: None) -> dict[str, Any]:
    return openapi_document()
