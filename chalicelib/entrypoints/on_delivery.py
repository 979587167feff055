"""`deliver`: a batch of queued webhooks → signed POSTs, endpoints in parallel, partial batch failure."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from .. import metrics
from ..bootstrap import deps
from ..lazy import deferred
from ..observability import logger

if TYPE_CHECKING:
    from ..services import delivery
else:
    delivery = deferred("chalicelib.services.delivery")

deliveries = Blueprint(__name__)


# A message the batch had no time to start goes back as a batch item failure; after this many receives
# it is sent again as a new message instead, so lack of time never walks it into the DLQ (maxReceiveCount 5).
MAX_UNSTARTED_RECEIVES = 3


def _remaining_ms(event: Any) -> float | None:
    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float(remaining()) if callable(remaining) else None


@deliveries.on_sqs_message(queue="onetrip-deliveries", batch_size=10)
def deliver(event: Any) -> dict[str, Any]:
    records = list(event)
    d = deps()
    remaining = _remaining_ms(event)
    budget = delivery.BatchBudget.of(d.settings, remaining) if remaining is not None else None
    results = delivery.deliver_batch(d, [r.body for r in records], budget=budget)
    failures = []
    for record, result in zip(records, results, strict=True):
        message_id = record.to_dict().get("messageId", "")
        if isinstance(result, delivery.DeliveryResult) and result.outcome == "unstarted":
            metrics.count("DeliveriesOutOfTime")
            if _requeued(d, record, message_id):
                continue
        if isinstance(result, delivery.DeliveryResult):
            logger.info("webhook_attempted", extra={"message_id": message_id, "outcome": result.outcome,
                                                    "status": result.status, "error": result.error,
                                                    "attempt": result.attempt, "retry_in": result.retry_in})
            if result.outcome == "delivered":
                metrics.count("DeliveriesSucceeded")
            elif result.outcome in ("retry_scheduled", "dead", "failed_permanently"):
                metrics.count("DeliveriesFailed")
            if not result.should_retry:
                continue
            try:
                d.queue.retry_later(record.receipt_handle, result.retry_in or 0)
            except Exception:
                logger.exception("retry_later_failed", extra={"message_id": message_id})
        failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _requeued(d: Any, record: Any, message_id: str) -> bool:
    """An unstarted message received often already is sent again as a fresh message (True), else
    it stays a batch item failure (False)."""
    receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1") or 1)
    if receives < MAX_UNSTARTED_RECEIVES:
        return False
    from ..ports import OutboundMessage

    try:
        webhook_id = str(json.loads(record.body).get("webhook_id", "")) or message_id
        d.queue.send([OutboundMessage(id=webhook_id, body=record.body, delay_seconds=1)])
    except Exception:
        logger.exception("requeue_failed", extra={"message_id": message_id})
        return False
    return True
