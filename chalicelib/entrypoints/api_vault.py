"""Applicants' once-only routes: what can fill a draft without an upload, reuse with consent, my
e-certificates, and who used my data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import access_log, certificates, vault
    from . import schemas, vault_schemas
    from .vault_schemas import ReuseMaterial
else:
    vault_schemas = deferred("chalicelib.entrypoints.vault_schemas")
    schemas = deferred("chalicelib.entrypoints.schemas")
    access_log = deferred("chalicelib.services.access_log")
    certificates = deferred("chalicelib.services.certificates")
    vault = deferred("chalicelib.services.vault")

vault_api = Blueprint(__name__)


def _enterprise_id() -> str | None:
    query: dict[str, str] = dict(vault_api.current_request.query_params or {})
    return query.get("enterprise_id") or None


@api_route(vault_api, "GET", "/v1/applications/{application_id}/offers",
           summary="What can fill this application's materials without an upload: vault copies and "
                   "e-certificates, each with a short-lived preview link",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           response=lambda: vault_schemas.OffersView)
def list_offers(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return {"application_id": application_id, "offers": vault.offers(deps(), principal, application_id)}


@api_route(vault_api, "POST", "/v1/applications/{application_id}/materials/{material_code}/reuse",
           summary="Fill a material from the vault or an e-certificate, with explicit consent (no upload); "
                   "the consent receipt goes to the access log",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           body=lambda: vault_schemas.ReuseMaterial,
           response=lambda: vault_schemas.ReuseView)
def reuse_material(principal: Principal, body: ReuseMaterial, application_id: str,
                   material_code: str) -> dict[str, Any]:
    app, record = vault.reuse_material(deps(), principal, application_id, material_code, vault.Reuse(
        source=body.source, consent=body.consent, sha256=body.sha256, certificate_id=body.certificate_id))
    return {"application": schemas.application_view(app), "consent_receipt": record.public_view()}


@api_route(vault_api, "GET", "/v1/me/access-log",
           summary="Who used my data: consent receipts and every department read of my materials, newest first "
                   "(agents: ?enterprise_id= for an enterprise they act for)",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer,
           response=lambda: vault_schemas.AccessLogPage,
           query=("limit", "cursor", "enterprise_id"))
def my_access_log(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(vault_api)
    page = access_log.my_access_log(deps(), principal, limit, cursor, _enterprise_id())
    return {"items": [r.public_view() for r in page.items], "next_cursor": page.cursor}


@api_route(vault_api, "GET", "/v1/me/certificates",
           summary="My e-certificates (电子证照) in the registry (agents: ?enterprise_id=)",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer,
           response=lambda: vault_schemas.CertificateList,
           query=("enterprise_id",))
def my_certificates(principal: Principal, _body: None) -> dict[str, Any]:
    return {"items": [c.public_view() for c in certificates.my_certificates(deps(), principal, _enterprise_id())]}
