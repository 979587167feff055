"""Statistics of cases (办件统计): counters kept per item and period as cases change, and the report.

Each case event adds fixed amounts to named counters of its item, in the month it happened (China
Standard Time) and in the all-time period; nothing is ever recounted from the cases. The report
turns one period's item counters into volumes, the top-20 share, on-time and one-trip rates, average
working days against committed days, supplement rounds, satisfaction and open rectifications.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import Problem, ValidationFailed

# Months are the calendar months of the administration's clock: China has one zone and no DST.
CHINA_TIME = timezone(timedelta(hours=8))
ALL_TIME = "all"
TOP_ITEMS = 20
SATISFIED_LEVELS = (4, 5)  # 满意, 非常满意
RATING_LEVELS = (1, 2, 3, 4, 5)

ROUND_BUCKETS = ("0", "1", "2", "3+")
COUNTERS: tuple[str, ...] = (
    "accepted", "refused", "withdrawn",
    "decided", "approved", "rejected", "on_time",
    "working_days_sum", "committed_days_sum",
    "supplement_rounds_sum", "rounds_0", "rounds_1", "rounds_2", "rounds_3_plus",
    "one_trip", "visits_sum", "visits_over_limit",
    "ratings", "rating_sum", *(f"rating_{level}" for level in RATING_LEVELS),
    "rectifications_opened", "rectifications_closed", "rectifications_closed_on_time",
    "deadline_breaches",
)
_ROUND_COUNTERS = ("rounds_0", "rounds_1", "rounds_2", "rounds_3_plus")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ItemAggregate:
    """One item's counters in one period (a month `YYYY-MM`, or `all`)."""

    period: str
    item_code: str
    counters: Mapping[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return int(self.counters.get(name, 0))


# -- what each event adds ----------------------------------------------------------------------------
class _Case(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="ignore")
    item_code: str = Field(pattern=_ITEM_CODE.pattern)


class _Decided(_Case):
    outcome: str
    committed_days: int = Field(ge=0)
    working_days_used: int = Field(ge=0)
    on_time: bool
    supplement_rounds: int = Field(ge=0)
    visits: int = Field(ge=0)


class _Rated(_Case):
    level: int = Field(ge=1, le=5)
    rectification_task_id: str | None = None


class _VisitRecorded(_Case):
    over_limit: bool = False


class _RectificationClosed(_Case):
    on_time: bool = False


def _decided(d: _Decided) -> dict[str, int]:
    rounds = _ROUND_COUNTERS[min(d.supplement_rounds, 3)]
    deltas = {"decided": 1, "on_time": int(d.on_time), "working_days_sum": d.working_days_used,
              "committed_days_sum": d.committed_days, "supplement_rounds_sum": d.supplement_rounds, rounds: 1,
              "one_trip": int(d.visits <= 1), "visits_sum": d.visits}
    if d.outcome in ("approved", "rejected"):
        deltas[d.outcome] = 1
    return deltas


def _rated(d: _Rated) -> dict[str, int]:
    return {"ratings": 1, "rating_sum": d.level, f"rating_{d.level}": 1,
            "rectifications_opened": int(bool(d.rectification_task_id))}


_RULES: dict[str, tuple[type[_Case], Any]] = {
    "onetrip.case.accepted": (_Case, lambda d: {"accepted": 1}),
    "onetrip.case.refused": (_Case, lambda d: {"refused": 1}),
    "onetrip.case.withdrawn": (_Case, lambda d: {"withdrawn": 1}),
    "onetrip.case.decided": (_Decided, _decided),
    "onetrip.case.visit_recorded": (_VisitRecorded, lambda d: {"visits_over_limit": int(d.over_limit)}),
    "onetrip.case.rated": (_Rated, _rated),
    "onetrip.rectification.closed": (_RectificationClosed,
                                     lambda d: {"rectifications_closed": 1,
                                                "rectifications_closed_on_time": int(d.on_time)}),
    "onetrip.task.deadline_breached": (_Case, lambda d: {"deadline_breaches": 1}),
}
COUNTED_EVENT_TYPES = frozenset(_RULES)


class UnreadableEvent(ValueError):
    """A counted event type whose data lacks what the statistics need (its problem, never its values)."""


@dataclass(frozen=True)
class Contribution:
    item_code: str
    month: str
    deltas: dict[str, int]


def contribution(event_type: str, occurred_at: str, data: Mapping[str, Any]) -> Contribution | None:
    """What one event adds, to which item and month; None for events the statistics do not count.
    Zero deltas are dropped, so an event that changes nothing writes nothing but its marker."""
    rule = _RULES.get(event_type)
    if rule is None:
        return None
    model, deltas_of = rule
    try:
        parsed = model.model_validate(dict(data))
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise UnreadableEvent(f"{event_type}: unreadable fields {fields}") from None
    deltas = {k: v for k, v in deltas_of(parsed).items() if v}
    return Contribution(parsed.item_code, event_month(occurred_at), deltas)


def event_month(occurred_at: str) -> str:
    moment = datetime.fromisoformat(occurred_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m")


def current_month(now: datetime) -> str:
    return event_month(now.isoformat())


# -- the report's query ------------------------------------------------------------------------------
def parse_query(month: str | None, item_code: str | None, now: datetime) -> tuple[str, str | None]:
    """The period (`YYYY-MM` or `all`; default this month) and the item code, or every problem at once."""
    problems: list[Problem] = []
    period = current_month(now) if month in (None, "") else str(month)
    if period != ALL_TIME and not _MONTH.match(period):
        problems.append(Problem("month_invalid", "month 须为 YYYY-MM 格式的月份或 all",
                                "month must be a month as YYYY-MM, or all", "month"))
    code = item_code or None
    if code is not None and not _ITEM_CODE.match(code):
        problems.append(Problem("item_code_invalid", "事项编码格式无效", "The item code is not valid", "item_code"))
    if problems:
        raise ValidationFailed(problems=problems)
    return period, code


# -- the report --------------------------------------------------------------------------------------
def _ratio(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def totals(aggregates: Iterable[ItemAggregate]) -> dict[str, int]:
    out = dict.fromkeys(COUNTERS, 0)
    for aggregate in aggregates:
        for name in COUNTERS:
            out[name] += aggregate.get(name)
    return out


def top_items(aggregates: Iterable[ItemAggregate], limit: int = TOP_ITEMS) -> list[tuple[str, int]]:
    """Items by accepted cases, most first (ties by code, so the list is stable); items with none are left out."""
    ranked = sorted(((a.item_code, a.get("accepted")) for a in aggregates), key=lambda r: (-r[1], r[0]))
    return [r for r in ranked if r[1] > 0][:limit]


def figures(c: Mapping[str, int], open_rectifications: int) -> dict[str, Any]:
    """Rates and averages of one set of counters (an item's, or the sum over items)."""
    decided, ratings = c["decided"], c["ratings"]
    return {
        "cases": {"accepted": c["accepted"], "refused": c["refused"], "withdrawn": c["withdrawn"],
                  "decided": decided, "approved": c["approved"], "rejected": c["rejected"]},
        "timeliness": {
            "on_time": c["on_time"], "on_time_rate": _ratio(c["on_time"], decided),
            "average_working_days": _ratio(c["working_days_sum"], decided, 2),
            "average_committed_days": _ratio(c["committed_days_sum"], decided, 2),
            "working_to_committed": _ratio(c["working_days_sum"], c["committed_days_sum"]),
            "deadline_breaches": c["deadline_breaches"],
        },
        "supplements": {
            "average_rounds": _ratio(c["supplement_rounds_sum"], decided, 2),
            "rounds": dict(zip(ROUND_BUCKETS, (c[r] for r in _ROUND_COUNTERS), strict=True)),
        },
        "visits": {"one_trip": c["one_trip"], "one_trip_rate": _ratio(c["one_trip"], decided),
                   "average_visits": _ratio(c["visits_sum"], decided, 2), "over_limit": c["visits_over_limit"]},
        "satisfaction": {
            "ratings": ratings, "average_level": _ratio(c["rating_sum"], ratings, 2),
            "satisfied_rate": _ratio(sum(c[f"rating_{lv}"] for lv in SATISFIED_LEVELS), ratings),
            "levels": {str(lv): c[f"rating_{lv}"] for lv in RATING_LEVELS},
        },
        "rectifications": {"opened": c["rectifications_opened"], "closed": c["rectifications_closed"],
                           "closed_on_time": c["rectifications_closed_on_time"], "open": open_rectifications},
    }


def _open(aggregates: Iterable[ItemAggregate]) -> int:
    return sum(max(a.get("rectifications_opened") - a.get("rectifications_closed"), 0) for a in aggregates)


def build_report(period: str, items: list[ItemAggregate], all_time: list[ItemAggregate],
                 item_code: str | None = None) -> dict[str, Any]:
    """The report of one period over every item (or of one item, with its rank and share of the period).

    `items` are the period's aggregates, `all_time` the all-time aggregates of the same scope: open
    rectifications are a stock (opened minus closed since the start), not a monthly flow.
    """
    all_totals = totals(items)
    volume_total = all_totals["accepted"]
    ranked = top_items(items, len(items))
    top = ranked[:TOP_ITEMS]
    report: dict[str, Any] = {
        "period": period,
        "item_code": item_code,
        "volume": {
            "accepted": volume_total,
            "items_with_cases": len(ranked),
            "top_share": _ratio(sum(v for _, v in top), volume_total),
            "top_items": [{"item_code": code, "accepted": v, "share": _ratio(v, volume_total)} for code, v in top],
        },
    }
    if item_code is None:
        report.update(figures(all_totals, _open(all_time)))
        return report
    mine = [a for a in items if a.item_code == item_code]
    rank = next((i for i, (code, _) in enumerate(ranked, start=1) if code == item_code), None)
    report.update(figures(totals(mine), _open(a for a in all_time if a.item_code == item_code)))
    report["volume"].update({"item_accepted": totals(mine)["accepted"], "item_rank": rank,
                             "item_share": _ratio(totals(mine)["accepted"], volume_total)})
    return report
