"""Statistics of cases: the projection that keeps the aggregates as events arrive, and the report.

The projection adds each counted event to its item's month and all-time aggregates once (the store
refuses an event id it has seen), so the stream's redeliveries count nothing twice; a stream batch's
increments are recorded together (services/projections.py). The report reads
one period's aggregates with a Query per period; nothing scans the cases.
"""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..domain.errors import NotFound
from ..domain.events import DomainEvent
from ..domain.statistics import ALL_TIME, UnreadableEvent, build_report, contribution, parse_query
from ..observability import logger
from ..ports import Increment, Recorded
from .deps import Deps

BREACHED = "onetrip.task.deadline_breached"


def increment_of(event: DomainEvent) -> Increment | None:
    """What the event adds to the statistics (its item's month and all-time aggregates), or None."""
    try:
        part = contribution(event.type, event.occurred_at, event.data)
    except UnreadableEvent as exc:
        # Never block the departments' webhooks behind a statistic: say so and leave it uncounted.
        logger.warning("stats_event_unreadable", extra={"event_id": event.id, "type": event.type,
                                                        "reason": str(exc)})
        return None
    if part is None or not part.deltas:
        return None
    return Increment(event.id, part.item_code, (part.month, ALL_TIME), part.deltas)


def after_counting(events: list[DomainEvent], increments: list[Increment], recorded: Recorded) -> None:
    """Log what a redelivery did not count again; one SLA-breach metric per breach counted now."""
    types = {e.id: e.type for e in events}
    for inc in increments:
        if inc.event_id not in recorded.counted:
            logger.info("stats_event_seen_before", extra={"event_id": inc.event_id, "type": types.get(inc.event_id)})
        elif types.get(inc.event_id) == BREACHED:
            metrics.count("SlaBreaches")


def statistics_report(deps: Deps, month: str | None, item_code: str | None) -> dict[str, Any]:
    period, code = parse_query(month, item_code, deps.now())
    items = deps.store.list_statistics(period)
    if code is not None and not any(a.item_code == code for a in items) and deps.store.get_item(code) is None:
        raise NotFound.of("item", code)
    all_time = items if period == ALL_TIME else deps.store.list_statistics(ALL_TIME)
    return build_report(period, items, all_time, code)
