"""`deliver`: a batch of queued webhooks → signed POSTs, endpoints in parallel, partial batch failure."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from .. import metrics
from ..bootstrap import deps
from ..observability import logger
from ..services.delivery import DeliveryResult, deliver_batch

deliveries = Blueprint(__name__)


@deliveries.on_sqs_message(queue="onetrip-deliveries", batch_size=10)
def deliver(event: Any) -> dict[str, Any]:
    records = list(event)
    d = deps()
    results = deliver_batch(d, [r.body for r in records])
    failures = []
    for record, result in zip(records, results, strict=True):
        message_id = record.to_dict().get("messageId", "")
        if isinstance(result, DeliveryResult):
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
