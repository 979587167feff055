"""Deadlines on China's official calendar: holidays and 调休 from chinesecalendar, an admin override
for other years, and an explicit error for a year nobody knows."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.calendar import CalendarYearUnknown, WorkingCalendar, YearSchedule, add_working_days

SCHEDULE_2027 = YearSchedule.from_dict({
    "year": 2027, "source": "test schedule",
    "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
                 {"name": "春节", "from": "2027-02-06", "to": "2027-02-13"}],
    "workdays": ["2027-02-14"],
})


def test_national_day_week_is_skipped_and_the_adjusted_saturday_counts():
    cal = WorkingCalendar()
    # 2026: 10-01..10-07 off (Thu..Wed), 10-10 (Saturday) is an adjusted working day.
    assert not cal.is_working_day(date(2026, 10, 1)) and not cal.is_working_day(date(2026, 10, 5))
    assert cal.is_working_day(date(2026, 10, 10))
    assert add_working_days(date(2026, 9, 30), 1, cal) == date(2026, 10, 8)


def test_the_spring_festival_moves_a_deadline_by_more_than_a_week():
    cal = WorkingCalendar()
    weekends_only = date(2026, 2, 20)
    assert add_working_days(date(2026, 2, 13), 5, cal) > weekends_only


def test_a_year_the_package_does_not_know_is_an_explicit_error():
    with pytest.raises(CalendarYearUnknown) as info:
        WorkingCalendar().add_working_days(date(2026, 12, 30), 5)
    assert info.value.code == "calendar_year_unknown" and info.value.detail == {"year": 2027}
    assert "2027" in info.value.message_zh and "import" in info.value.message_en
    with pytest.raises(CalendarYearUnknown):
        WorkingCalendar().is_working_day(date(2003, 6, 2))


def test_an_imported_override_covers_the_following_year():
    cal = WorkingCalendar({2027: SCHEDULE_2027})
    assert add_working_days(date(2026, 12, 30), 1, cal) == date(2026, 12, 31)
    assert add_working_days(date(2026, 12, 31), 1, cal) == date(2027, 1, 4)  # 1–3 Jan off
    assert cal.is_working_day(date(2027, 2, 14))  # a Sunday worked (调休)
    assert not cal.is_working_day(date(2027, 2, 8))  # a Monday inside the holiday


def test_an_override_wins_over_the_package():
    fixed = YearSchedule(2026, frozenset({date(2026, 12, 1)}), frozenset())
    cal = WorkingCalendar({2026: fixed})
    assert not cal.is_working_day(date(2026, 12, 1))
    assert not cal.is_working_day(date(2026, 10, 10))  # the override is the whole year's truth


@pytest.mark.parametrize("doc,message", [
    ({"year": 2027, "holidays": [{"from": "2028-01-01"}]}, "outside"),
    ({"year": 2027, "workdays": ["2027-02-15"]}, "weekend"),
    ({"year": 2027, "holidays": [{"from": "2027-02-14"}], "workdays": ["2027-02-14"]}, "both"),
    ({"year": 2027, "holidays": [{"from": "2027-03-01", "to": "2027-02-01"}]}, "range"),
])
def test_an_inconsistent_schedule_is_refused(doc, message):
    with pytest.raises(ValueError, match=message):
        YearSchedule.from_dict(doc)


def test_schedules_round_trip_through_the_override_file_format():
    assert YearSchedule.from_dict(SCHEDULE_2027.to_dict()) == SCHEDULE_2027
