"""`sweep_due_deliveries`: every minute, retries due by now move from the due-time store to the queue."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from ..bootstrap import deps
from ..observability import logger
from ..services.retry_sweep import sweep_due

retry_sweep = Blueprint(__name__)


@retry_sweep.schedule(Rate(1, unit=Rate.MINUTES), name="sweep_due_deliveries")
def sweep_due_deliveries(_event: Any) -> dict[str, int]:
    moved = sweep_due(deps())
    if moved:
        logger.info("due_deliveries_requeued", extra={"count": moved})
    return {"requeued": moved}
