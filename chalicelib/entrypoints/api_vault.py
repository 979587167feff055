"""Applicants' once-only routes: what can fill a draft without an upload, reuse with consent, my
e-certificates, and who used my data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params
from .schemas import ApplicationView, application_view

if TYPE_CHECKING:
    from ..services import access_log, certificates, vault
else:
    access_log = deferred("chalicelib.services.access_log")
    certificates = deferred("chalicelib.services.certificates")
    vault = deferred("chalicelib.services.vault")

vault_api = Blueprint(__name__)


class ReuseMaterial(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    source: Literal["vault", "e_certificate"]
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                               description="source vault: the content offered (GET …/offers)")
    certificate_id: str | None = Field(default=None, max_length=64, description="source e_certificate: which one")
    consent: bool = Field(description="the applicant's explicit consent; without it nothing is reused")

    @model_validator(mode="after")
    def _reference(self) -> ReuseMaterial:
        if self.source == "vault" and not self.sha256:
            raise ValueError("source vault needs sha256")
        if self.source == "e_certificate" and not self.certificate_id:
            raise ValueError("source e_certificate needs certificate_id")
        return self


class OffersView(BaseModel, defer_build=True):
    application_id: str
    offers: list[dict[str, Any]]


class ReuseView(BaseModel, defer_build=True):
    application: ApplicationView
    consent_receipt: dict[str, Any]


class AccessLogPage(BaseModel, defer_build=True):
    items: list[dict[str, Any]]
    next_cursor: str | None


class CertificateList(BaseModel, defer_build=True):
    items: list[dict[str, Any]]


def _enterprise_id() -> str | None:
    query: dict[str, str] = dict(vault_api.current_request.query_params or {})
    return query.get("enterprise_id") or None


@api_route(vault_api, "GET", "/v1/applications/{application_id}/offers",
           summary="What can fill this application's materials without an upload: vault copies and "
                   "e-certificates, each with a short-lived preview link",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer, response=OffersView)
def list_offers(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return {"application_id": application_id, "offers": vault.offers(deps(), principal, application_id)}


@api_route(vault_api, "POST", "/v1/applications/{application_id}/materials/{material_code}/reuse",
           summary="Fill a material from the vault or an e-certificate, with explicit consent (no upload); "
                   "the consent receipt goes to the access log",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer, body=ReuseMaterial,
           response=ReuseView)
def reuse_material(principal: Principal, body: ReuseMaterial, application_id: str,
                   material_code: str) -> dict[str, Any]:
    app, record = vault.reuse_material(deps(), principal, application_id, material_code, vault.Reuse(
        source=body.source, consent=body.consent, sha256=body.sha256, certificate_id=body.certificate_id))
    return {"application": application_view(app), "consent_receipt": record.public_view()}


@api_route(vault_api, "GET", "/v1/me/access-log",
           summary="Who used my data: consent receipts and every department read of my materials, newest first "
                   "(agents: ?enterprise_id= for an enterprise they act for)",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer, response=AccessLogPage,
           query=("limit", "cursor", "enterprise_id"))
def my_access_log(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(vault_api)
    page = access_log.my_access_log(deps(), principal, limit, cursor, _enterprise_id())
    return {"items": [r.public_view() for r in page.items], "next_cursor": page.cursor}


@api_route(vault_api, "GET", "/v1/me/certificates",
           summary="My e-certificates (电子证照) in the registry (agents: ?enterprise_id=)",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer, response=CertificateList,
           query=("enterprise_id",))
def my_certificates(principal: Principal, _body: None) -> dict[str, Any]:
    return {"items": [c.public_view() for c in certificates.my_certificates(deps(), principal, _enterprise_id())]}
