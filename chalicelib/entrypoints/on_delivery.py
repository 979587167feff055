"""`deliver`: one queued webhook per record → a signed POST to the department's endpoint."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import deps
from ..observability import logger
from ..services.delivery import deliver as deliver_webhook
from .batch import sqs_batch

deliveries = Blueprint(__name__)


def _handle(record: Any) -> bool:
    raw = record.to_dict()
    receive_count = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    d = deps()
    result = deliver_webhook(d, record.body, receive_count)
    logger.info("webhook_attempted", extra={"message_id": raw.get("messageId"), "outcome": result.outcome,
                                            "status": result.status, "error": result.error,
                                            "attempt": receive_count})
    if result.should_retry:
        d.queue.retry_later(record.receipt_handle, result.retry_in or 0)
        return False
    return True


@deliveries.on_sqs_message(queue="onetrip-deliveries", batch_size=10)
def deliver(event: Any) -> dict[str, Any]:
    return sqs_batch(event, _handle, "deliveries")
