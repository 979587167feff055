"""`sweep_deadlines`: every five minutes, warn departments a working day before a deadline and
escalate breaches to the supervising admins (EventBridge schedule in AWS, the pump's timer locally)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from ..bootstrap import deps
from ..lazy import deferred
from ..observability import logger

if TYPE_CHECKING:
    from ..services import cases
else:
    cases = deferred("chalicelib.services.cases")

deadline_sweep = Blueprint(__name__)


@deadline_sweep.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_deadlines")
def sweep_deadlines(_event: Any) -> dict[str, int]:
    counts = cases.sweep_deadlines(deps())
    if any(counts.values()):
        logger.info("deadlines_swept", extra=counts)
    return counts
