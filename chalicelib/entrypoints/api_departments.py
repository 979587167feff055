"""The department registry (admins): departments with their town offices, and their endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.errors import NotFound, Problem, ValidationFailed
from ..domain.principals import Principal, PrincipalKind
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..domain import departments as department_models
    from ..domain.departments import Department
    from ..services import departments as service
    from . import delivery_schemas
    from .delivery_schemas import NewDepartment, NewEndpoint
else:
    department_models = deferred("chalicelib.domain.departments")
    delivery_schemas = deferred("chalicelib.entrypoints.delivery_schemas")
    service = deferred("chalicelib.services.departments")

departments = Blueprint(__name__)
ADMINS = frozenset({PrincipalKind.ADMIN})
ADMINS_AND_DEPARTMENTS = frozenset({PrincipalKind.ADMIN, PrincipalKind.DEPARTMENT})
DEFAULT_GRACE_SECONDS = 24 * 3600


def _view(department: Department) -> dict[str, Any]:
    return department.model_dump(mode="json")


@api_route(departments, "GET", "/v1/departments", summary="Every department (admins)", kinds=ADMINS,
           authorizer=jwt_authorizer, response=lambda: delivery_schemas.DepartmentPage, query=("limit", "cursor"))
def list_departments(_principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(departments)
    page = service.list_departments(deps(), limit, cursor)
    return {"items": [_view(d) for d in page.items], "next_cursor": page.cursor}


@api_route(departments, "POST", "/v1/departments", summary="Register or replace a department and its town offices",
           kinds=ADMINS, authorizer=jwt_authorizer, body=lambda: delivery_schemas.NewDepartment,
           response=lambda: delivery_schemas.DepartmentView, status=201)
def put_department(_principal: Principal, body: NewDepartment) -> dict[str, Any]:
    department = department_models.Department.model_validate(body.model_dump())
    return _view(service.register_department(deps(), department))


@api_route(departments, "GET", "/v1/departments/{department}", summary="A department, its offices and endpoints",
           kinds=ADMINS_AND_DEPARTMENTS, authorizer=jwt_authorizer, response=lambda: delivery_schemas.DepartmentDetail)
def get_department(principal: Principal, _body: None, department: str) -> dict[str, Any]:
    if principal.kind is PrincipalKind.DEPARTMENT and principal.department != department:
        raise NotFound.of("department", department)
    found, endpoints = service.get_department(deps(), department)
    return {**_view(found), "endpoints": [e.public_view() for e in endpoints]}


@api_route(departments, "POST", "/v1/endpoints",
           summary="Register a webhook endpoint: pending until it answers a signed verification event with 2xx; "
                   "the secret is shown once", kinds=ADMINS, authorizer=jwt_authorizer,
           body=lambda: delivery_schemas.NewEndpoint,
           response=lambda: delivery_schemas.EndpointCreated, status=201)
def add_endpoint(_principal: Principal, body: NewEndpoint) -> dict[str, Any]:
    return service.register_endpoint(deps(), body.department, body.url, tuple(body.event_types),
                                     tuple(body.item_codes), body.ed25519)


@api_route(departments, "POST", "/v1/departments/{department}/endpoints/{endpoint_id}/verification",
           summary="Send the signed verification event again; 2xx activates a pending endpoint",
           kinds=ADMINS, authorizer=jwt_authorizer, response=lambda: delivery_schemas.EndpointVerified)
def verify_endpoint(_principal: Principal, _body: None, department: str, endpoint_id: str) -> dict[str, Any]:
    return service.verify_endpoint(deps(), department, endpoint_id)


@api_route(departments, "POST", "/v1/departments/{department}/endpoints/{endpoint_id}/rotation",
           summary="Rotate the signing secret; the old ones keep signing for grace_seconds (default one day)",
           kinds=ADMINS, authorizer=jwt_authorizer, response=lambda: delivery_schemas.SecretRotated,
           query=("grace_seconds",))
def rotate_secret(_principal: Principal, _body: None, department: str, endpoint_id: str) -> dict[str, Any]:
    query: dict[str, str] = dict(departments.current_request.query_params or {})
    raw = query.get("grace_seconds", str(DEFAULT_GRACE_SECONDS))
    if not raw.isdigit():
        raise ValidationFailed(problems=[Problem("grace_invalid", "宽限期无效", "The grace period is invalid",
                                                 "grace_seconds")])
    return service.rotate_secret(deps(), department, endpoint_id, int(raw))


@api_route(departments, "POST", "/v1/departments/{department}/endpoints/{endpoint_id}/disable",
           summary="Stop sending to an endpoint", kinds=ADMINS, authorizer=jwt_authorizer,
           response=lambda: delivery_schemas.EndpointView)
def disable_endpoint(_principal: Principal, _body: None, department: str, endpoint_id: str) -> dict[str, Any]:
    return service.disable_endpoint(deps(), department, endpoint_id)
