"""Property tests of the identifier rules: GB 32100 credit codes and GB 11643 ID numbers (region from
the shipped GB/T 2260 table, real past dates, MOD 11-2)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.identity import (
    credit_code_check_character,
    credit_code_is_valid,
    id_number_is_valid,
    mask_credit_code,
    mask_id_number,
    region_code_is_known,
)

USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check(body: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


@given(st.text(alphabet=USCC, min_size=17, max_size=17))
def test_any_prefix_with_its_check_character_is_a_valid_credit_code(prefix):
    code = prefix + credit_code_check_character(prefix)
    assert credit_code_is_valid(code)
    assert not credit_code_is_valid(code.lower()) or code == code.lower()
    wrong = next(c for c in USCC if c != code[17])
    assert not credit_code_is_valid(prefix + wrong)
    assert mask_credit_code(code).count("*") == 6


@given(st.text(alphabet="IOZSV", min_size=1, max_size=1), st.integers(0, 16))
def test_letters_outside_the_alphabet_never_validate(letter, position):
    base = "91350100M000100Y43"
    assert not credit_code_is_valid(base[:position] + letter + base[position + 1:])


@given(st.sampled_from(["110105", "330382", "440524", "310104", "810000"]),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
       st.integers(0, 999))
def test_any_real_date_in_a_known_region_with_its_check_character_is_valid(region, born, sequence):
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    number = body + id_check(body)
    assert id_number_is_valid(number)
    assert id_number_is_valid(number.lower())  # a lowercase x is normalized
    assert mask_id_number(number) == number[:6] + "********" + number[-4:]
    wrong = next(c for c in "0123456789X" if c != number[17])
    assert not id_number_is_valid(body + wrong)


def test_region_codes_come_from_the_gb2260_table():
    assert region_code_is_known("330382")  # 乐清市
    assert region_code_is_known("440524")  # a county code abolished since, kept by older ID numbers
    assert not region_code_is_known("990101")
    body = "99010519491231002"
    assert not id_number_is_valid(body + id_check(body))


def test_future_birth_dates_are_refused():
    body = f"330382{date.today().year + 1}0101123"
    assert not id_number_is_valid(body + id_check(body))
