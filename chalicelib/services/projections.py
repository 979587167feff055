"""What the table's stream keeps up to date besides the departments' webhooks.

Each projection reads one outbox event and maintains its own records (the applicant's notifications,
the statistics aggregates, e-certificates of results). The case's audit chain is not among them: the
store writes it with the events themselves. The stream is at-least-once, so every
projection must be idempotent on the event id: a redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.events import DomainEvent
from .applicant_notifications import project_notifications
from .cases import certify_results
from .deps import Deps
from .statistics import project_statistics

Projection = Callable[[Deps, DomainEvent], None]

# Registered by the modules that own them (one line each); run in this order for every event.
PROJECTIONS: list[Projection] = [project_statistics, project_notifications, certify_results]


def project(deps: Deps, event: DomainEvent) -> None:
    for projection in PROJECTIONS:
        projection(deps, event)
