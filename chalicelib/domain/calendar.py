"""Working-day arithmetic for deadlines (承诺时限 counts working days, not calendar days).

China's public holidays and adjusted working days (调休) come from the maintained `chinesecalendar`
package for the years it knows (2004–2026 in 1.11.0), and from an admin-imported override for any
other year (the State Council publishes each year's schedule in November or December; import it with
`onetrip calendar import`). A year known to neither is an explicit error, never a guess: a deadline
computed on weekends alone would be wrong by up to a week around the Spring Festival.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .errors import OneTripError

# The override file the admin imports; shipped with the functions, so every deadline of a deployed
# version is computed on the same, reviewable calendar.
OVERRIDES_PATH = Path(__file__).resolve().parent.parent / "data" / "workday_overrides.json"
_MAX_DAYS = 3660


class CalendarYearUnknown(OneTripError):
    code = "calendar_year_unknown"
    message_zh = "工作日历缺少该年度的节假日安排，需由管理员导入后才能计算期限"
    message_en = "The working-day calendar has no holiday schedule for this year; an admin must import it"

    @classmethod
    def for_year(cls, year: int) -> CalendarYearUnknown:
        return cls(f"工作日历缺少 {year} 年的节假日安排，需由管理员导入（onetrip calendar import）",
                   f"No holiday schedule for {year}: an admin must import it (onetrip calendar import)",
                   detail={"year": year})


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: the days off (放假, weekends inside a block included) and the
    weekend days that are working days (调休上班)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""

    def __post_init__(self) -> None:
        stray = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if stray:
            raise ValueError(f"dates outside {self.year}: {', '.join(map(str, stray))}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"dates both a holiday and a working day: {', '.join(map(str, both))}")
        weekday_workdays = sorted(d for d in self.workdays if d.weekday() < 5)
        if weekday_workdays:
            raise ValueError(f"adjusted working days must fall on a weekend: {', '.join(map(str, weekday_workdays))}")

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> YearSchedule:
        year = int(doc["year"])
        holidays: set[date] = set()
        for block in doc.get("holidays", []):
            first = date.fromisoformat(str(block["from"]))
            last = date.fromisoformat(str(block.get("to", block["from"])))
            if last < first or (last - first).days > 31:
                raise ValueError(f"holiday block {block.get('name', '')} {first}..{last} is not a valid range")
            holidays.update(first + timedelta(days=k) for k in range((last - first).days + 1))
        workdays = {date.fromisoformat(str(d)) for d in doc.get("workdays", [])}
        return cls(year, frozenset(holidays), frozenset(workdays), str(doc.get("source", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "source": self.source,
                "holidays": [{"from": d.isoformat(), "to": d.isoformat()} for d in sorted(self.holidays)],
                "workdays": [d.isoformat() for d in sorted(self.workdays)]}


class WorkingCalendar:
    """Overrides first (an admin's import wins, e.g. a corrected schedule), then `chinesecalendar`."""

    def __init__(self, overrides: dict[int, YearSchedule] | None = None, *, use_package: bool = True) -> None:
        self.overrides = dict(overrides or {})
        self.use_package = use_package
        # chinese_calendar scans its holiday table on every call: a deadline computation asks about the
        # same few hundred days again and again (unknown years raise and are not cached).
        self._days: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_working_day(day)
        return known

    def is_working_day_or_weekday(self, day: date) -> bool:
        """The official answer, or — for a year whose schedule is not imported yet — a weekday (the
        same provisional rule as `add_working_days_or_provisional`)."""
        try:
            return self.is_working_day(day)
        except CalendarYearUnknown:
            return day.weekday() < 5

    def _is_working_day(self, day: date) -> bool:
        schedule = self.overrides.get(day.year)
        if schedule is not None:
            return schedule.is_working_day(day)
        if self.use_package:
            import chinese_calendar  # lazy: only the functions that compute deadlines pay for it

            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass
        raise CalendarYearUnknown.for_year(day.year)

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (acceptance day itself does not count)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        current = start
        remaining = days
        steps = 0
        while remaining:
            current += timedelta(days=1)
            steps += 1
            if steps > _MAX_DAYS:
                raise ValueError("no working days found")
            if self.is_working_day(current):
                remaining -= 1
        return current

    def add_working_days_or_provisional(self, start: date, days: int) -> tuple[date, bool]:
        """Like `add_working_days`, but days of a year no schedule covers yet count as working days on
        weekdays only, and the result says so (provisional=True). Acceptance must not stop because
        next year's holiday schedule (published each November/December) is not imported yet: the
        case shows its deadline as provisional until an admin imports the year and it is recomputed."""
        if days < 0:
            raise ValueError("days must be >= 0")
        current, remaining, provisional = start, days, False
        while remaining:
            current += timedelta(days=1)
            try:
                working = self.is_working_day(current)
            except CalendarYearUnknown:
                working, provisional = current.weekday() < 5, True
            if working:
                remaining -= 1
        return current, provisional

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (0 when end <= start); days of a year without a
        schedule count on weekdays, as provisional deadlines do."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            try:
                working = self.is_working_day(current)
            except CalendarYearUnknown:
                working = current.weekday() < 5
            count += working
        return count

    def known_years(self) -> list[int]:
        return sorted(set(self.overrides) | (set(range(2004, 2027)) if self.use_package else set()))


def load_overrides(path: Path = OVERRIDES_PATH) -> dict[int, YearSchedule]:
    if not path.exists():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {int(y): YearSchedule.from_dict(s) for y, s in doc.get("years", {}).items()}


_default: WorkingCalendar | None = None


def default_calendar() -> WorkingCalendar:
    """The package plus the shipped overrides, built once per warm container."""
    global _default
    if _default is None:
        _default = WorkingCalendar(load_overrides())
    return _default


def is_working_day(day: date, calendar: WorkingCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working_day(day)


def deadline_after(start: date, days: int, calendar: WorkingCalendar | None = None) -> tuple[date, bool]:
    """A case deadline and whether it is provisional (see `add_working_days_or_provisional`)."""
    return (calendar or default_calendar()).add_working_days_or_provisional(start, days)


def add_working_days(start: date, days: int, calendar: WorkingCalendar | None = None) -> date:
    """The date `days` working days after `start` on the official calendar (acceptance day excluded)."""
    return (calendar or default_calendar()).add_working_days(start, days)


def working_days_between(start: date, end: date, calendar: WorkingCalendar | None = None) -> int:
    """How many working days of the clock ran from `start` (exclusive) to `end` (inclusive)."""
    return (calendar or default_calendar()).working_days_between(start, end)


def is_working_day_or_weekday(day: date, calendar: WorkingCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working_day_or_weekday(day)
