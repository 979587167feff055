"""The e-certificate registry (电子证照库): registration by the issuing department or an admin, the
result documents of decided cases, and the holder's own certificates.

A holder is named by ID number or credit code on registration and kept only as its blind index (the
same HMAC an identity or an enterprise is found by), a masked form, and nothing else. The number is
kept as ciphertext, its blind index makes one certificate register once: registering it again
returns the first registration, and a different registration under the same number is refused.
Its issuing department or an admin revokes it (注销/吊销) once, with a reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from ..domain import certificate_signatures as signatures
from ..domain.applications import Application
from ..domain.certificates import (
    Certificate,
    CertificateSource,
    HolderKind,
    already_revoked,
    mask_number,
    number_key,
    registration_problems,
    revoke,
)
from ..domain.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from ..domain.identity import credit_code_is_valid, id_number_is_valid, mask_credit_code, mask_id_number
from ..domain.ids import is_id, new_id
from ..domain.principals import Principal, PrincipalKind
from ..observability import logger
from .deps import Deps


class ResultDocumentLike(Protocol):
    """What `register_from_result` reads of a sealed result document (the case's `ResultFile`)."""

    name_zh: str
    key: str
    content_type: str
    size: int
    sha256: str


def _not_found(certificate_id: str) -> NotFound:
    return NotFound("未找到该电子证照", "No such e-certificate", code="certificate_not_found",
                    detail={"resource": "certificate", "id": certificate_id})


def register_certificate(deps: Deps, principal: Principal, *, type_: str, number: str, document_sha256: str,
                         holder_id_number: str | None = None, holder_credit_code: str | None = None,
                         issuer: str | None = None, issued_on: date | None = None, valid_until: date | None = None,
                         signature: str | None = None, signature_algorithm: str | None = None) -> Certificate:
    """A department registers a certificate it issued (issuer: itself); an admin one issued outside
    the bus (issuer: a registered department). Every problem at once."""
    problems: list[Problem] = []
    if principal.kind is PrincipalKind.DEPARTMENT:
        if issuer is not None and issuer != principal.department:
            raise Forbidden("部门只能登记本部门签发的电子证照", "A department registers only its own certificates",
                            code="certificate_issuer_not_own")
        issuer = principal.department
    department = deps.store.get_department(issuer) if issuer else None
    if issuer is None:
        problems.append(Problem("issuer_required", "须指明签发部门", "The issuing department is required", "issuer"))
    elif department is None and principal.kind is not PrincipalKind.DEPARTMENT:
        problems.append(Problem("issuer_unknown", "签发部门未登记", "The issuing department is not registered",
                                "issuer"))
    holder_id, holder_code = signatures.normalised_holder(holder_id_number, holder_credit_code)
    if bool(holder_id) == bool(holder_code):
        problems.append(Problem("holder_required", "须且只能填写持证人身份证号码或统一社会信用代码之一",
                                "Give exactly one of holder_id_number and holder_credit_code", "holder"))
    elif holder_id and not id_number_is_valid(holder_id):
        problems.append(Problem("id_number_invalid", "持证人身份证号码无效", "The holder's ID number is not valid",
                                "holder_id_number"))
    elif holder_code and not credit_code_is_valid(holder_code):
        problems.append(Problem("credit_code_invalid", "持证企业统一社会信用代码无效",
                                "The holder's credit code is not valid", "holder_credit_code"))
    problems += registration_problems(type_, number, issued_on, valid_until, deps.now().date())
    signature_key_id, signature_problems = signatures.verify(
        department.certificate_keys if department else (), signature, signature_algorithm,
        signatures.registration_message(issuer=issuer or "", type_=type_, number=number,
                                        holder_id_number=holder_id_number, holder_credit_code=holder_credit_code,
                                        issued_on=issued_on, valid_until=valid_until,
                                        document_sha256=document_sha256))
    problems += signature_problems
    if problems:
        raise ValidationFailed(problems=problems)
    assert issuer is not None
    blind_index = deps.require("blind_index")
    if holder_id:
        kind, index, masked = HolderKind.PERSON, blind_index.index("id_number", holder_id), mask_id_number(holder_id)
    else:
        kind, index = HolderKind.ENTERPRISE, blind_index.index("credit_code", holder_code)
        masked = mask_credit_code(holder_code)
    source = CertificateSource.DEPARTMENT if principal.kind is PrincipalKind.DEPARTMENT else CertificateSource.ADMIN
    return _register(deps, type_=type_.strip(), holder_kind=kind, holder_index=index, holder_masked=masked,
                     issuer=issuer, number=number.strip(), issued_on=issued_on, valid_until=valid_until,
                     document_sha256=document_sha256, signature=signature, signature_algorithm=signature_algorithm,
                     signature_key_id=signature_key_id, source=source, registered_by=principal.actor())


def certificate_type_of(result_name_zh: str) -> str:
    """The certificate type a result document becomes: its name without the parenthetical note
    (不动产权证书（电子证照） → 不动产权证书), which is how material specs name the type they accept."""
    for mark in ("（", "("):
        result_name_zh = result_name_zh.split(mark, 1)[0]
    return result_name_zh.strip()


def register_from_result(deps: Deps, app: Application, result: ResultDocumentLike, issuer: str, *,
                         actor: dict[str, str] | None = None, type_: str | None = None, number: str | None = None,
                         valid_until: date | None = None) -> Certificate | None:
    """The result document of a decided case, marked `e_certificate: true` in the catalogue, becomes an
    e-certificate of the case's applicant (the enterprise for an agent's case). Idempotent: the
    number defaults to the case number, so a redelivered call returns the first registration. None
    when the holder has no blind index to be found by (no verified identity)."""
    if app.case is None:
        raise ValueError("only a case (an accepted application) has result documents")
    holder: tuple[HolderKind, str, str] | None = None
    if app.enterprise and app.enterprise.get("id"):
        enterprise = deps.store.get_enterprise(app.enterprise["id"])
        if enterprise is not None and enterprise.credit_code_index:
            holder = HolderKind.ENTERPRISE, enterprise.credit_code_index, enterprise.credit_code_masked
    else:
        identity = deps.store.get_identity(app.owner_sub)
        if identity is not None and identity.id_number_index:
            holder = HolderKind.PERSON, identity.id_number_index, identity.id_number_masked
    if holder is None:
        logger.warning("certificate_holder_unknown", extra={"application_id": app.id})
        return None
    return _register(deps, type_=type_ or certificate_type_of(result.name_zh), holder_kind=holder[0],
                     holder_index=holder[1], holder_masked=holder[2], issuer=issuer,
                     number=number or app.case.case_number, issued_on=deps.now().date(), valid_until=valid_until,
                     document_sha256=result.sha256, document_key=result.key,
                     document_content_type=result.content_type, document_size=result.size,
                     source=CertificateSource.CASE_RESULT, application_id=app.id,
                     case_number=app.case.case_number, registered_by=actor or {"kind": "system"})


def _register(deps: Deps, *, type_: str, number: str, issuer: str, holder_index: str, **fields: Any) -> Certificate:
    certificate_id = new_id("crt_")
    blind_index = deps.require("blind_index")
    cert = Certificate(
        id=certificate_id, type=type_, issuer=issuer, holder_index=holder_index, number_masked=mask_number(number),
        number_ciphertext=deps.cipher.encrypt(number, {"certificate": certificate_id,
                                                       "purpose": "certificate_number"}),
        number_index=blind_index.index("certificate_number", number_key(issuer, type_, number)),
        registered_at=deps.now().isoformat(timespec="seconds"), **fields)
    stored = deps.store.create_certificate(cert)
    same = (stored.holder_index, stored.document_sha256) == (cert.holder_index, cert.document_sha256)
    if stored.id != cert.id and not same:
        raise Conflict("该证照编号已登记为另一份证照", "This certificate number is registered for another certificate",
                       code="certificate_exists", detail={"certificate_id": stored.id})
    return stored


def get_certificate(deps: Deps, principal: Principal, certificate_id: str) -> Certificate:
    """The issuing department and admins read a registration; to anyone else it does not exist."""
    cert = deps.store.get_certificate(certificate_id) if is_id(certificate_id, "crt_") else None
    if cert is None or (principal.kind is not PrincipalKind.ADMIN and cert.issuer != principal.department):
        raise _not_found(certificate_id)
    return cert


def revoke_certificate(deps: Deps, principal: Principal, certificate_id: str, reason: str) -> Certificate:
    """注销/吊销: the issuing department or an admin revokes a certificate once (to anyone else it does
    not exist). One conditional write: of two concurrent revocations, one wins and the other is 409."""
    cert = get_certificate(deps, principal, certificate_id)
    by = "admin" if principal.kind is PrincipalKind.ADMIN else cert.issuer
    revoked = revoke(cert, by, reason, principal.actor(), deps.now())
    if not deps.store.revoke_certificate(revoked):
        raise already_revoked(deps.store.get_certificate(cert.id) or cert)
    logger.info("certificate_revoked", extra={"certificate_id": cert.id, "revoked_by": by})
    return revoked


def my_certificates(deps: Deps, principal: Principal, enterprise_id: str | None = None) -> list[Certificate]:
    """The caller's certificates (an agent: the enterprise's, within a current authorization)."""
    from .access_log import reader_owner

    owner = reader_owner(deps, principal, enterprise_id)
    if owner.startswith("ent:"):
        enterprise = deps.store.get_enterprise(owner.removeprefix("ent:"))
        index = enterprise.credit_code_index if enterprise else ""
    else:
        identity = deps.store.get_identity(principal.sub)
        index = identity.id_number_index if identity else ""
    return deps.store.list_certificates(index) if index else []
