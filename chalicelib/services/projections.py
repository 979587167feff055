"""What the table's stream keeps up to date besides the departments' webhooks.

Each projection reads one outbox event and maintains its own records (the case's audit chain, the
applicant's notifications, the statistics aggregates). The stream is at-least-once, so every
projection must be idempotent on the event id: a redelivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.events import DomainEvent
from .applicant_notifications import project_notifications
from .audit import append_to_trail
from .cases import certify_results
from .deps import Deps
from .statistics import project_statistics

Projection = Callable[[Deps, DomainEvent], None]

# Registered by the modules that own them (one line each); run in this order for every event.
PROJECTIONS: list[Projection] = [project_statistics, append_to_trail, project_notifications, certify_results]


def project(deps: Deps, event: DomainEvent) -> None:
    for projection in PROJECTIONS:
        projection(deps, event)
