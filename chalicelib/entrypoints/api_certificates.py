"""The e-certificate registry (电子证照): a department registers the certificates it issued, an admin
those issued outside the bus (also `onetrip certificates register`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import certificates as service
else:
    service = deferred("chalicelib.services.certificates")

certificates_api = Blueprint(__name__)
ISSUERS = frozenset({PrincipalKind.DEPARTMENT, PrincipalKind.ADMIN})


class RegisterCertificate(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: str = Field(max_length=100, description="the certificate type material specs name, e.g. 营业执照")
    number: str = Field(max_length=100, description="the certificate's number (kept encrypted, shown masked)")
    holder_id_number: str | None = Field(default=None, max_length=32, description="a person holder")
    holder_credit_code: str | None = Field(default=None, max_length=32, description="an enterprise holder")
    issuer: str | None = Field(default=None, max_length=64,
                               description="admins: the issuing department; departments: itself (may be omitted)")
    issued_on: date | None = None
    valid_until: date | None = Field(default=None, description="omitted: valid until revoked")
    document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="the issuer's SHA-256 of the document")
    signature: str | None = Field(default=None, max_length=8192, description="the issuer's signature, base64")
    signature_algorithm: str | None = Field(default=None, max_length=40, description="e.g. SM2-with-SM3")


class CertificateView(BaseModel, defer_build=True):
    id: str
    type: str
    holder_kind: str
    holder_masked: str
    issuer: str
    number_masked: str
    issued_on: date | None
    valid_until: date | None
    document_sha256: str
    signature: str | None
    signature_algorithm: str | None
    document_content_type: str | None
    document_size: int | None
    source: str
    application_id: str | None
    case_number: str | None
    registered_at: str


@api_route(certificates_api, "POST", "/v1/certificates",
           summary="Register an e-certificate: a department its own, an admin one issued outside the bus",
           kinds=ISSUERS, authorizer=jwt_authorizer, body=RegisterCertificate, response=CertificateView, status=201)
def register_certificate(principal: Principal, body: RegisterCertificate) -> dict[str, Any]:
    cert = service.register_certificate(
        deps(), principal, type_=body.type, number=body.number, document_sha256=body.document_sha256,
        holder_id_number=body.holder_id_number, holder_credit_code=body.holder_credit_code, issuer=body.issuer,
        issued_on=body.issued_on, valid_until=body.valid_until, signature=body.signature,
        signature_algorithm=body.signature_algorithm)
    return cert.public_view()


@api_route(certificates_api, "GET", "/v1/certificates/{certificate_id}",
           summary="One registered e-certificate (the issuing department or an admin)",
           kinds=ISSUERS, authorizer=jwt_authorizer, response=CertificateView)
def get_certificate(principal: Principal, _body: None, certificate_id: str) -> dict[str, Any]:
    return service.get_certificate(deps(), principal, certificate_id).public_view()
