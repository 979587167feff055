"""Enterprises and their agents: admins register enterprises; an admin or the enterprise's legal
representative authorizes agents; an agent sees whom it may act for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import enterprises as service
    from . import enterprise_schemas
    from .enterprise_schemas import AuthorizeAgent, RegisterEnterprise
else:
    enterprise_schemas = deferred("chalicelib.entrypoints.enterprise_schemas")
    service = deferred("chalicelib.services.enterprises")

enterprises = Blueprint(__name__)
ADMINS = frozenset({PrincipalKind.ADMIN})
AGENTS = frozenset({PrincipalKind.ENTERPRISE_AGENT})
GRANTORS = frozenset({PrincipalKind.ADMIN, PrincipalKind.CITIZEN})


@api_route(enterprises, "POST", "/v1/enterprises", summary="Register an enterprise by its credit code (admin)",
           kinds=ADMINS, scope=Scope.ENTERPRISES_ADMIN, authorizer=jwt_authorizer,
           body=lambda: enterprise_schemas.RegisterEnterprise,
           response=lambda: enterprise_schemas.EnterpriseView, status=201)
def register_enterprise(_principal: Principal, body: RegisterEnterprise) -> dict[str, Any]:
    enterprise = service.register_enterprise(deps(), body.credit_code, body.name_zh,
                                             body.legal_representative_id_number)
    return enterprise.public_view()


@api_route(enterprises, "POST", "/v1/enterprises/{enterprise_id}/agents",
           summary="Authorize an agent for some items until a date (admin or the legal representative)",
           kinds=GRANTORS, authorizer=jwt_authorizer, body=lambda: enterprise_schemas.AuthorizeAgent,
           response=lambda: enterprise_schemas.AuthorizationView, status=201)
def authorize_agent(principal: Principal, body: AuthorizeAgent, enterprise_id: str) -> dict[str, Any]:
    granted = service.authorize_agent(deps(), principal, enterprise_id, body.agent_sub, tuple(body.items),
                                      body.valid_until)
    return granted.model_dump(mode="json", exclude={"granted_by"})


@api_route(enterprises, "GET", "/v1/me/enterprises", summary="The enterprises I may act for, and for what",
           kinds=AGENTS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           response=lambda: enterprise_schemas.MyEnterprises)
def my_enterprises(principal: Principal, _body: None) -> dict[str, Any]:
    d = deps()
    rows = []
    for authorization in d.store.list_authorizations(principal.sub):
        enterprise = d.store.get_enterprise(authorization.enterprise_id)
        if enterprise is not None:
            rows.append({"enterprise": enterprise.public_view(), "items": list(authorization.items),
                         "valid_until": authorization.valid_until.isoformat(),
                         "current": authorization.valid_until >= d.now().date()})
    return {"items": rows}
