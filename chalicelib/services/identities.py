"""Real-name verification (实名认证) and what the bus holds about a person.

The ID number is validated (GB 11643: region, date, check character), checked by the identity
verifier, then kept only as envelope ciphertext, a blind index (so one number binds one account)
and a masked form. The assurance level reaches the user directory too.
"""

from __future__ import annotations

from typing import Any

from ..domain.errors import Problem, ValidationFailed
from ..domain.identity import (
    AssuranceLevel,
    VerifiedIdentity,
    id_number_is_valid,
    mask_id_number,
    mask_name,
)
from ..domain.principals import Principal
from .deps import Deps

MAX_NAME_LENGTH = 50
_LEVEL_RANK = {AssuranceLevel.L1: 1, AssuranceLevel.L2: 2, AssuranceLevel.L3: 3}


def normalize_id_number(id_number: str) -> str:
    return id_number.strip().upper()


def identity_problems(name: str, id_number: str) -> list[Problem]:
    problems = []
    if not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        problems.append(Problem("name_invalid", f"姓名须为 1 到 {MAX_NAME_LENGTH} 个字符",
                                f"The name must have 1 to {MAX_NAME_LENGTH} characters", "name"))
    if not id_number_is_valid(normalize_id_number(id_number)):
        problems.append(Problem("id_number_invalid", "身份证号码无效（地区码、出生日期或校验码不正确）",
                                "The ID number is not valid (region, birth date or check character)", "id_number"))
    return problems


def _identity(deps: Deps, sub: str, name: str, id_number: str, level: AssuranceLevel, method: str) -> VerifiedIdentity:
    return VerifiedIdentity(
        sub=sub, name_masked=mask_name(name), id_number_masked=mask_id_number(id_number),
        id_number_ciphertext=deps.cipher.encrypt(id_number, {"sub": sub, "purpose": "id_number"}),
        id_number_index=deps.blind_index.index("id_number", id_number) if deps.blind_index else "",
        assurance_level=level, method=method, verified_at=deps.now().isoformat(timespec="seconds"),
    )


def verify_identity(deps: Deps, principal: Principal, name: str, id_number: str) -> VerifiedIdentity:
    """Check a person's name and ID number with the authority and raise their assurance to L2 (an
    existing L3 from an in-person check is kept)."""
    name = name.strip()
    id_number = normalize_id_number(id_number)
    problems = identity_problems(name, id_number)
    if problems:
        raise ValidationFailed(problems=problems)
    check = deps.require("identity_verifier").verify(name, id_number)
    if not check.matched:
        raise ValidationFailed("姓名与身份证号码不匹配", "The name and ID number do not match",
                               code="identity_not_matched",
                               problems=[Problem("identity_not_matched", "姓名与身份证号码不匹配",
                                                 "The name and ID number do not match", "id_number")])
    current = deps.store.get_identity(principal.sub)
    level = AssuranceLevel.L2
    if current is not None and _LEVEL_RANK[current.assurance_level] > _LEVEL_RANK[level]:
        level = current.assurance_level
    identity = _identity(deps, principal.sub, name, id_number, level, check.method)
    deps.store.bind_identity(identity)
    deps.require("directory").set_assurance(principal.username, level.value)
    return identity


def record_verified_identity(
    deps: Deps, sub: str, name: str, id_number: str, level: AssuranceLevel, method: str,
) -> VerifiedIdentity:
    """For admin tools and seeding: store an identity verified elsewhere (e.g. at a window, L3)."""
    id_number = normalize_id_number(id_number)
    if not id_number_is_valid(id_number):
        raise ValidationFailed(problems=[Problem(
            "id_number_invalid", "身份证号码无效", "The ID number is not valid", "id_number")])
    identity = _identity(deps, sub, name, id_number, level, method)
    if identity.id_number_index:
        deps.store.bind_identity(identity)
    else:
        deps.store.put_identity(identity)
    return identity


def my_data(deps: Deps, principal: Principal) -> dict[str, Any]:
    """Everything the bus holds about the caller, as they may see it (PIPL Art. 45): masked identity,
    applications and cases. Ciphertexts and blind indexes are never returned."""
    identity = deps.store.get_identity(principal.sub)
    applications = []
    cursor = None
    while True:
        page = deps.store.list_applications(principal.sub, 100, cursor)
        applications += [{"id": a.id, "item_code": a.item_code, "item_version": a.item_version,
                          "status": a.status.value, "case_number": a.case.case_number if a.case else None,
                          "created_at": a.created_at} for a in page.items]
        cursor = page.cursor
        if not cursor:
            break
    return {"subject": principal.sub, "kind": principal.kind.value,
            "identity": identity.public_view() if identity else None, "applications": applications}
