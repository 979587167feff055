"""`sweep_deadlines`: every five minutes, warn departments a working day before a deadline and
escalate breaches to the supervising admins (EventBridge schedule in AWS, the pump's timer locally)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from ..bootstrap import deps
from ..observability import logger
from ..services.cases import sweep_deadlines as sweep

deadline_sweep = Blueprint(__name__)


@deadline_sweep.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_deadlines")
def sweep_deadlines(_event: Any) -> dict[str, int]:
    counts = sweep(deps())
    if any(counts.values()):
        logger.info("deadlines_swept", extra=counts)
    return counts
