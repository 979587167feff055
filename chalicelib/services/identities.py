"""Verified identities: recording the outcome of real-name verification, and reading it back masked."""

from __future__ import annotations

from ..domain.errors import Problem, ValidationFailed
from ..domain.identity import AssuranceLevel, VerifiedIdentity, id_number_is_valid, mask_id_number, mask_name
from .deps import Deps


def record_verified_identity(
    deps: Deps, sub: str, name: str, id_number: str, level: AssuranceLevel, method: str,
) -> VerifiedIdentity:
    id_number = id_number.strip().upper()
    if not id_number_is_valid(id_number):
        raise ValidationFailed(problems=[Problem(
            "id_number_invalid", "身份证号码无效", "The ID number is not valid", "id_number")])
    identity = VerifiedIdentity(
        sub=sub, name_masked=mask_name(name), id_number_masked=mask_id_number(id_number),
        id_number_ciphertext=deps.cipher.encrypt(id_number, {"sub": sub, "purpose": "id_number"}),
        assurance_level=level, method=method, verified_at=deps.now().isoformat(timespec="seconds"),
    )
    deps.store.put_identity(identity)
    return identity
