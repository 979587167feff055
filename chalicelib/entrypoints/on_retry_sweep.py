"""`sweep_due_deliveries`: every minute, retries due by now move from the due-time store to the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from ..bootstrap import deps
from ..lazy import deferred
from ..observability import logger

if TYPE_CHECKING:
    from ..services import retry_sweep as due_retries
else:
    due_retries = deferred("chalicelib.services.retry_sweep")

retry_sweep = Blueprint(__name__)


@retry_sweep.schedule(Rate(1, unit=Rate.MINUTES), name="sweep_due_deliveries")
def sweep_due_deliveries(_event: Any) -> dict[str, int]:
    moved = due_retries.sweep_due(deps())
    if moved:
        logger.info("due_deliveries_requeued", extra={"count": moved})
    return {"requeued": moved}
