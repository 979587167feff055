"""The e-certificate registry (电子证照): a department registers the certificates it issued, an admin
those issued outside the bus (also `onetrip certificates register`); either revokes one (注销/吊销)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import certificates as service
    from . import certificate_schemas
    from .certificate_schemas import RegisterCertificate, RevokeCertificate
else:
    certificate_schemas = deferred("chalicelib.entrypoints.certificate_schemas")
    service = deferred("chalicelib.services.certificates")

certificates_api = Blueprint(__name__)
ISSUERS = frozenset({PrincipalKind.DEPARTMENT, PrincipalKind.ADMIN})


@api_route(certificates_api, "POST", "/v1/certificates",
           summary="Register an e-certificate: a department its own, an admin one issued outside the bus",
           kinds=ISSUERS, authorizer=jwt_authorizer, body=lambda: certificate_schemas.RegisterCertificate,
           response=lambda: certificate_schemas.CertificateView, status=201)
def register_certificate(principal: Principal, body: RegisterCertificate) -> dict[str, Any]:
    cert = service.register_certificate(
        deps(), principal, type_=body.type, number=body.number, document_sha256=body.document_sha256,
        holder_id_number=body.holder_id_number, holder_credit_code=body.holder_credit_code, issuer=body.issuer,
        issued_on=body.issued_on, valid_until=body.valid_until, signature=body.signature,
        signature_algorithm=body.signature_algorithm)
    return cert.public_view()


@api_route(certificates_api, "GET", "/v1/certificates/{certificate_id}",
           summary="One registered e-certificate (the issuing department or an admin)",
           kinds=ISSUERS, authorizer=jwt_authorizer, response=lambda: certificate_schemas.CertificateView)
def get_certificate(principal: Principal, _body: None, certificate_id: str) -> dict[str, Any]:
    return service.get_certificate(deps(), principal, certificate_id).public_view()


@api_route(certificates_api, "POST", "/v1/certificates/{certificate_id}/revocation",
           summary="Revoke an e-certificate (注销/吊销), once: its issuing department or an admin",
           kinds=ISSUERS, authorizer=jwt_authorizer, body=lambda: certificate_schemas.RevokeCertificate,
           response=lambda: certificate_schemas.CertificateView)
def revoke_certificate(principal: Principal, body: RevokeCertificate, certificate_id: str) -> dict[str, Any]:
    return service.revoke_certificate(deps(), principal, certificate_id, body.reason).public_view()
