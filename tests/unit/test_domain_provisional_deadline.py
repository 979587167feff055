"""A deadline reaching a year without an imported holiday schedule is computed on weekdays and marked
provisional, instead of refusing the acceptance."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.calendar import WorkingCalendar, YearSchedule


def test_a_known_year_gives_a_firm_deadline():
    due, provisional = WorkingCalendar().add_working_days_or_provisional(date(2026, 9, 30), 1)
    # 2026-10-01..07 is the National Day holiday (chinesecalendar's 2026 schedule): weekdays-only would say Oct 1.
    assert (due, provisional) == (date(2026, 10, 8), False)


def test_a_deadline_reaching_an_unknown_year_is_provisional_on_weekdays():
    calendar = WorkingCalendar(use_package=False)
    due, provisional = calendar.add_working_days_or_provisional(date(2027, 1, 1), 5)  # a Friday
    assert (due, provisional) == (date(2027, 1, 8), True)


def test_an_imported_year_makes_it_firm_again():
    schedule = YearSchedule.from_dict({"year": 2027, "holidays": [{"from": "2027-01-01", "to": "2027-01-03",
                                                                   "name": "元旦"}], "workdays": []})
    calendar = WorkingCalendar({2027: schedule}, use_package=False)
    due, provisional = calendar.add_working_days_or_provisional(date(2027, 1, 1), 1)
    assert (due, provisional) == (date(2027, 1, 4), False)
