"""What the table's stream keeps up to date besides the departments' webhooks.

For a batch of outbox events: the statistics aggregates and the applicant's notifications, recorded
together by the store in one transaction for a usual batch (issue 9: one request, not one or two per
event), then the notifications sent and the e-certificates of results issued. The stream is
at-least-once, so everything here is idempotent on the event id: a redelivered event changes nothing.
The case's audit chain is not here: the store writes it with the events themselves.
"""

from __future__ import annotations

from ..domain.events import DomainEvent
from .applicant_notifications import compose_notification, send_recorded
from .cases import certify_results
from .deps import Deps
from .statistics import after_counting, increment_of


def project(deps: Deps, events: list[DomainEvent]) -> None:
    events = list({e.id: e for e in events}.values())  # a record twice in a batch is recorded once
    increments = [i for e in events if (i := increment_of(e)) is not None]
    notifications = [n for e in events if (n := compose_notification(deps, e)) is not None]
    recorded = deps.store.record_projections(increments, notifications)
    after_counting(events, increments, recorded)
    send_recorded(deps, notifications, recorded)
    for event in events:
        certify_results(deps, event)
