"""Verified identities of applicants (实名认证) and the rules for citizen ID numbers.

ID numbers are sensitive personal information (PIPL Art. 28): the domain only ever handles them to
validate and mask; storage keeps them encrypted, and every response and log shows the masked form.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class AssuranceLevel(StrEnum):
    L1 = "L1"  # phone or e-mail verified
    L2 = "L2"  # real-name verified against the authority
    L3 = "L3"  # verified in person or by face at a window


_REGION_TABLE = Path(__file__).resolve().parent / "data" / "gb2260_prefectures.json"
# Residence permits of Hong Kong, Macao and Taiwan residents use these region codes (not in GB/T 2260).
_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})


@lru_cache(maxsize=1)
def _regions() -> tuple[frozenset[str], frozenset[str]]:
    table = json.loads(_REGION_TABLE.read_text(encoding="utf-8"))
    return frozenset(table["provinces"]), frozenset(table["prefectures"])


def region_code_is_known(region: str) -> bool:
    """A GB/T 2260 code at prefecture level. ID numbers keep the code they were issued under, so the
    shipped table is the union of all revisions, and county codes abolished before its oldest
    revision stay acceptable as long as their prefecture is known."""
    if region in _PERMIT_REGIONS:
        return True
    provinces, prefectures = _regions()
    return len(region) == 6 and region[:2] in provinces and region[:4] in prefectures


def id_number_is_valid(value: str, *, today: date | None = None) -> bool:
    """GB 11643-1999: a known region, a real birth date not in the future, ISO 7064 MOD 11-2 check."""
    if len(value) != 18 or not value.isascii():
        return False
    body, check = value[:17], value[17].upper()
    if not body.isdigit() or not (check.isdigit() or check == "X"):
        return False
    if not region_code_is_known(body[:6]):
        return False
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    if born > (today or date.today()):
        return False
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return _CHECK[total % 11] == check


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_character(body: str) -> str:
    """GB 32100-2015 check character of a 17-character prefix (31 − Σ mod 31; 31 → 0)."""
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def credit_code_is_valid(value: str) -> bool:
    """Unified social credit code: 18 characters of the GB 32100 alphabet (no I O Z S V, upper case)."""
    if len(value) != 18 or any(ch not in _USCC_ALPHABET for ch in value):
        return False
    return credit_code_check_character(value[:17]) == value[17]


def mask_credit_code(value: str) -> str:
    """Keep the registration authority, class and region (8) and the last 4: `91330382******1234`."""
    if len(value) < 12:
        return "*" * len(value)
    return value[:8] + "*" * (len(value) - 12) + value[-4:]


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


class VerifiedIdentity(BaseModel, defer_build=True):
    """What the bus knows about an applicant after real-name verification. Only masked values are
    readable; the full ID number exists solely as KMS ciphertext."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str
    name_masked: str
    id_number_masked: str
    id_number_ciphertext: str
    id_number_index: str = ""
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
