"""GB 11643-1999 citizen ID numbers: validation (ISO 7064 MOD 11-2) and masking for display."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.identity import id_number_is_valid, mask_id_number, mask_name

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check(body: str) -> str:
    """The standard's check character, computed here independently of the code under test."""
    remainder = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11
    return body + "10X98765432"[remainder]


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_valid_id_numbers_pass(value):
    assert id_number_is_valid(value)


def test_the_helper_agrees_with_the_known_answers():
    assert with_check("11010519491231002") == "11010519491231002X"
    assert with_check("44052418800101001") == "440524188001010014"


@pytest.mark.parametrize("value", [
    "110105194912310021",  # wrong check digit
    "440524188001010015",  # wrong check digit
    "11010519491231002Y",  # check character outside 0-9X
    "11010519491231002",  # 17 characters
    "11010519491231002X0",  # 19 characters
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
    "110105 19491231002",  # a space inside, 18 characters
    " 11010519491231002X",  # a leading space, 19 characters
    "11010519491231002X ",
    "",
    "ABCDEFGHIJKLMNOPQR",
])
def test_malformed_id_numbers_fail(value):
    assert not id_number_is_valid(value)


@pytest.mark.parametrize("birth", ["19990230", "19990001", "19991301", "19990431", "20230229", "00000101"])
def test_impossible_birth_dates_fail_even_with_a_correct_check_digit(birth):
    assert not id_number_is_valid(with_check(f"330382{birth}123"))


def test_a_leap_day_birth_date_passes():
    assert id_number_is_valid(with_check("330382200002291234"[:17]))


def test_a_birth_date_in_the_future_fails():
    tomorrow_born = with_check("33038220300101123")
    assert not id_number_is_valid(tomorrow_born, today=date(2029, 12, 31))
    assert id_number_is_valid(tomorrow_born, today=date(2030, 1, 1))


def test_masking_keeps_the_region_and_the_last_four():
    assert mask_id_number("330382199001011234") == "330382********1234"
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_masking_never_returns_the_birth_date():
    masked = mask_id_number("440524188001010014")
    assert "18800101" not in masked
    assert len(masked) == 18


def test_short_values_are_masked_entirely():
    assert mask_id_number("123456789") == "*********"


@pytest.mark.parametrize("name,masked", [("张三", "张*"), ("张", "张*"), ("欧阳娜娜", "欧***"), ("", "")])
def test_names_keep_only_the_first_character(name, masked):
    assert mask_name(name) == masked
