"""Case events as the lifecycle raises them (issue 4 contract), for the statistics tests: built with
`DomainEvent.raised` and the common data keys, so the projection sees what the stream carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id

WINDOW = {"sub": "sub-window-1", "kind": "window_staff", "binding": "yq-centre"}
DEPT = {"sub": "sub-dept-1", "kind": "department", "binding": "yq-amr"}
CITIZEN = {"sub": "sub-citizen-1", "kind": "citizen"}
SYSTEM = {"kind": "system"}
# 2031-03-31 20:00 UTC is already April 1st in China: the month is counted on China's clock.
MARCH = datetime(2031, 3, 10, 2, 0, tzinfo=UTC)


def case_event(type_: str, item_code: str, at: datetime = MARCH, *, app_id: str | None = None,
               actor: dict[str, str] | None = None, **data: Any) -> DomainEvent:
    app_id = app_id or new_id("app_")
    common = {"application_id": app_id, "item_code": item_code, "item_version": 1,
              "case_number": f"YQ{app_id[-8:]}", "base_code": "330000-000-XK-001"}
    return DomainEvent.raised(type_, at, application_id=app_id, subject=f"applications/{app_id}", recipients=[],
                              data={**common, **data}, actor=actor or CITIZEN)


def accepted(item_code: str, at: datetime = MARCH, **kw: Any) -> DomainEvent:
    return case_event("onetrip.case.accepted", item_code, at, actor=WINDOW, committed_days=5,
                      deadline="2031-03-17", departments=["yq-amr"], max_visits=1, accepted_by="window_staff", **kw)


def decided(item_code: str, at: datetime = MARCH, *, working_days: int = 3, committed: int = 5, on_time: bool = True,
            rounds: int = 0, visits: int = 1, outcome: str = "approved", **kw: Any) -> DomainEvent:
    return case_event("onetrip.case.decided", item_code, at, actor=DEPT, outcome=outcome, committed_days=committed,
                      working_days_used=working_days, on_time=on_time, supplement_rounds=rounds, visits=visits, **kw)


def rated(item_code: str, level: int, at: datetime = MARCH, *, rectification: bool = False, **kw: Any) -> DomainEvent:
    return case_event("onetrip.case.rated", item_code, at, level=level,
                      rectification_task_id=new_id("task_") if rectification else None, **kw)


def rectification_closed(item_code: str, at: datetime = MARCH, *, on_time: bool = True, **kw: Any) -> DomainEvent:
    return case_event("onetrip.rectification.closed", item_code, at, actor=DEPT, task_id=new_id("task_"),
                      department="yq-amr", on_time=on_time, **kw)


def withdrawn(item_code: str, at: datetime = MARCH, **kw: Any) -> DomainEvent:
    return case_event("onetrip.case.withdrawn", item_code, at, previous_status="in_review", **kw)


def breached(item_code: str, at: datetime = MARCH, **kw: Any) -> DomainEvent:
    return case_event("onetrip.task.deadline_breached", item_code, at, actor=SYSTEM, task_id=new_id("task_"),
                      department="yq-amr", deadline="2031-03-07", **kw)
