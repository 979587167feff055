"""Edge model of the statistics report (`GET /v1/admin/stats`), for the OpenAPI document.

Rates are fractions from 0 to 1, averages in working days; a rate or average over nothing is null.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TopItem(BaseModel, defer_build=True):
    item_code: str
    accepted: int
    share: float | None


class Volume(BaseModel, defer_build=True):
    accepted: int = Field(description="cases accepted (受理) in the period, every item")
    items_with_cases: int
    top_share: float | None = Field(description="share of the period's cases in the 20 items with most cases")
    top_items: list[TopItem]
    item_accepted: int | None = None
    item_rank: int | None = None
    item_share: float | None = None


class Cases(BaseModel, defer_build=True):
    accepted: int
    refused: int
    withdrawn: int
    decided: int
    approved: int
    rejected: int


class Timeliness(BaseModel, defer_build=True):
    on_time: int
    on_time_rate: float | None
    average_working_days: float | None
    average_committed_days: float | None
    working_to_committed: float | None = Field(description="working days used / committed days, decided cases")
    deadline_breaches: int


class Supplements(BaseModel, defer_build=True):
    average_rounds: float | None
    rounds: dict[str, int] = Field(description="decided cases by supplement rounds: 0, 1, 2, 3+")


class Visits(BaseModel, defer_build=True):
    one_trip: int = Field(description="decided cases with at most one in-person visit")
    one_trip_rate: float | None
    average_visits: float | None
    over_limit: int


class Satisfaction(BaseModel, defer_build=True):
    ratings: int
    average_level: float | None = Field(description="1 (非常不满意) to 5 (非常满意)")
    satisfied_rate: float | None = Field(description="share of ratings 4 or 5")
    levels: dict[str, int]


class Rectifications(BaseModel, defer_build=True):
    opened: int
    closed: int
    closed_on_time: int
    open: int = Field(description="open now: opened minus closed since the start, not only in the period")


class StatsReport(BaseModel, defer_build=True):
    period: str = Field(description="YYYY-MM (China Standard Time) or all")
    item_code: str | None
    volume: Volume
    cases: Cases
    timeliness: Timeliness
    supplements: Supplements
    visits: Visits
    satisfaction: Satisfaction
    rectifications: Rectifications
