"""Registering enterprises and authorizing their agents; checking an agent may act for one."""

from __future__ import annotations

from datetime import date

from ..domain.enterprises import AgentAuthorization, Enterprise
from ..domain.errors import Forbidden, NotFound, Problem, ValidationFailed
from ..domain.identity import credit_code_is_valid, id_number_is_valid, mask_credit_code
from ..domain.ids import is_id, new_id
from ..domain.principals import Principal, PrincipalKind
from .deps import Deps

MAX_AUTHORIZATION_DAYS = 3 * 366


def register_enterprise(deps: Deps, credit_code: str, name_zh: str,
                        legal_representative_id_number: str | None) -> Enterprise:
    credit_code = credit_code.strip()
    problems = []
    if not credit_code_is_valid(credit_code):
        problems.append(Problem("credit_code_invalid", "统一社会信用代码无效（GB 32100 校验）",
                                "The unified social credit code is not valid (GB 32100 check)", "credit_code"))
    rep = (legal_representative_id_number or "").strip().upper()
    if rep and not id_number_is_valid(rep):
        problems.append(Problem("id_number_invalid", "法定代表人身份证号码无效",
                                "The legal representative's ID number is not valid", "legal_representative_id_number"))
    if problems:
        raise ValidationFailed(problems=problems)
    blind_index = deps.require("blind_index")
    enterprise_id = new_id("ent_")
    enterprise = Enterprise(
        id=enterprise_id, name_zh=name_zh, credit_code_masked=mask_credit_code(credit_code),
        credit_code_ciphertext=deps.cipher.encrypt(credit_code,
                                                   {"enterprise": enterprise_id, "purpose": "credit_code"}),
        credit_code_index=blind_index.index("credit_code", credit_code),
        legal_representative_index=blind_index.index("id_number", rep) if rep else "",
        registered_at=deps.now().isoformat(timespec="seconds"),
    )
    deps.store.create_enterprise(enterprise)
    return enterprise


def get_enterprise(deps: Deps, enterprise_id: str) -> Enterprise:
    enterprise = deps.store.get_enterprise(enterprise_id) if is_id(enterprise_id, "ent_") else None
    if enterprise is None:
        raise NotFound.of("enterprise", enterprise_id)
    return enterprise


def authorize_agent(deps: Deps, principal: Principal, enterprise_id: str, agent_sub: str, items: tuple[str, ...],
                    valid_until: date) -> AgentAuthorization:
    """Granted by an admin, or by the enterprise's legal representative (a citizen whose verified ID
    number is the one registered for the enterprise). To anyone else the enterprise does not exist."""
    enterprise = get_enterprise(deps, enterprise_id)
    if principal.kind is not PrincipalKind.ADMIN:
        identity = deps.store.get_identity(principal.sub)
        is_representative = bool(enterprise.legal_representative_index) and identity is not None and (
            identity.id_number_index == enterprise.legal_representative_index)
        if not is_representative:
            raise NotFound.of("enterprise", enterprise_id)
    today = deps.now().date()
    if not today <= valid_until <= date.fromordinal(today.toordinal() + MAX_AUTHORIZATION_DAYS):
        raise ValidationFailed(problems=[Problem(
            "valid_until_invalid", "授权截止日期须在今天之后且不超过三年",
            "valid_until must be from today to three years ahead", "valid_until")])
    authorization = AgentAuthorization(
        enterprise_id=enterprise.id, agent_sub=agent_sub, items=items, valid_until=valid_until,
        granted_by=principal.sub, granted_at=deps.now().isoformat(timespec="seconds"))
    deps.store.put_authorization(authorization)
    return authorization


def acting_for(deps: Deps, principal: Principal, enterprise_id: str | None, item_code: str) -> Enterprise | None:
    """The enterprise an application is made for: required for agents, refused for anyone else, and
    only within a current authorization covering the item."""
    if principal.kind is not PrincipalKind.ENTERPRISE_AGENT:
        if enterprise_id is not None:
            raise Forbidden("只有企业经办人可以代企业申请", "Only an enterprise agent applies for an enterprise",
                            code="enterprise_not_allowed")
        return None
    if enterprise_id is None:
        raise ValidationFailed(problems=[Problem("enterprise_required", "企业经办人须指明所代表的企业",
                                                 "An enterprise agent must name the enterprise", "enterprise_id")])
    enterprise = get_enterprise(deps, enterprise_id)
    authorization = deps.store.get_authorization(principal.sub, enterprise.id)
    if authorization is None or not authorization.covers(item_code, deps.now().date()):
        raise Forbidden("没有该企业办理此事项的有效授权",
                        "No current authorization to act for this enterprise on this item",
                        code="agent_not_authorized", detail={"enterprise_id": enterprise.id, "item_code": item_code})
    return enterprise
