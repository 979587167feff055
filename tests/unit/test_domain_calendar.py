"""Committed time limits count working days: acceptance day excluded, weekends skipped."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.calendar import add_working_days, is_working_day

FRIDAY = date(2026, 11, 27)
SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)
MONDAY = date(2026, 11, 30)


def test_sample_dates_are_the_weekdays_they_claim():
    assert [d.weekday() for d in (FRIDAY, SATURDAY, SUNDAY, MONDAY)] == [4, 5, 6, 0]


def test_one_working_day_after_friday_is_monday():
    assert add_working_days(FRIDAY, 1) == MONDAY


@pytest.mark.parametrize("start", [SATURDAY, SUNDAY])
def test_counting_from_a_weekend_day_starts_on_monday(start):
    assert add_working_days(start, 1) == MONDAY
    assert add_working_days(start, 2) == date(2026, 12, 1)


def test_zero_days_is_the_start_day_itself():
    assert add_working_days(FRIDAY, 0) == FRIDAY
    assert add_working_days(SATURDAY, 0) == SATURDAY


def test_five_working_days_are_one_calendar_week():
    assert add_working_days(FRIDAY, 5) == date(2026, 12, 4)
    assert add_working_days(date(2026, 11, 25), 3) == MONDAY  # Wednesday + 3


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(FRIDAY, -1)


def test_weekends_are_not_working_days():
    assert is_working_day(FRIDAY) and is_working_day(MONDAY)
    assert not is_working_day(SATURDAY) and not is_working_day(SUNDAY)
