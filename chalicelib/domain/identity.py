"""Verified identities of applicants (实名认证) and the rules for citizen ID numbers.

ID numbers are sensitive personal information (PIPL Art. 28): the domain only ever handles them to
validate and mask; storage keeps them encrypted, and every response and log shows the masked form.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class AssuranceLevel(StrEnum):
    L1 = "L1"  # phone or e-mail verified
    L2 = "L2"  # real-name verified against the authority
    L3 = "L3"  # verified in person or by face at a window


def id_number_is_valid(value: str, *, today: date | None = None) -> bool:
    """GB 11643-1999: 17 ASCII digits, a real birth date not in the future, ISO 7064 MOD 11-2 check."""
    if len(value) != 18 or not value.isascii():
        return False
    body, check = value[:17], value[17].upper()
    if not body.isdigit() or not (check.isdigit() or check == "X"):
        return False
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    if born > (today or date.today()):
        return False
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return _CHECK[total % 11] == check


def mask_id_number(value: str) -> str:
    """Keep the first 6 (region) and last 4 characters: `330382********1234`."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(name: str) -> str:
    """Chinese practice: keep the family name's first character (`张*`, `欧阳**`→`欧**`)."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


class VerifiedIdentity(BaseModel):
    """What the bus knows about an applicant after real-name verification. Only masked values are
    readable; the full ID number exists solely as KMS ciphertext."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str
    name_masked: str
    id_number_masked: str
    id_number_ciphertext: str
    assurance_level: AssuranceLevel
    method: str
    verified_at: str

    def public_view(self) -> dict[str, str]:
        return {
            "name_masked": self.name_masked,
            "id_number_masked": self.id_number_masked,
            "assurance_level": self.assurance_level.value,
            "method": self.method,
            "verified_at": self.verified_at,
        }
