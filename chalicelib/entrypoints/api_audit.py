"""`GET /v1/admin/cases/{application_id}/audit`: any case's audit trail and whether its hash chain is
intact — for the admins who supervise cases (scope `cases:supervise`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import audit
    from . import audit_schemas
else:
    audit_schemas = deferred("chalicelib.entrypoints.audit_schemas")
    audit = deferred("chalicelib.services.audit")

audit_api = Blueprint(__name__)


@api_route(audit_api, "GET", "/v1/admin/cases/{application_id}/audit",
           summary="A case's audit trail (who, kind, when, what, catalogue version) and its hash-chain check",
           kinds=frozenset({PrincipalKind.ADMIN}), scope=Scope.CASES_SUPERVISE, authorizer=jwt_authorizer,
           response=lambda: audit_schemas.CaseAuditTrail)
def get_case_audit(_principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    trail = audit.read_trail(deps().store, application_id)
    app = trail.application
    return audit_schemas.CaseAuditTrail(application_id=app.id, item_code=app.item_code,
                          case_number=app.case.case_number if app.case else None, entries=trail.entries,
                          verification=trail.verification).model_dump(mode="json")
