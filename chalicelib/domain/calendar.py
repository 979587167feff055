"""Working-day arithmetic for deadlines (承诺时限 counts working days, not calendar days).

Weekends are skipped now; public holidays and adjusted working days arrive with the catalogue
issue (an admin-imported calendar, since no library covers future years).
"""

from __future__ import annotations

from datetime import date, timedelta


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (acceptance day itself does not count)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
