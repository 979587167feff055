"""`dispatch`: the table's stream → outbox events → one delivery message per subscribed endpoint."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..adapters.records import event_from_stream_image
from ..bootstrap import deps
from ..observability import logger
from ..services.dispatch import dispatch_event
from ..services.projections import project
from .batch import stream_batch

stream = Blueprint(__name__)

# A literal ARN is required by Chalice at import; the packaged template replaces it with the table's
# real stream ARN (and adds ReportBatchItemFailures, bisection and an on-failure destination).
PLACEHOLDER_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/onetrip/stream/placeholder"


def _handle(record: Any) -> None:
    if record.event_name != "INSERT" or not record.new_image:
        return
    event = event_from_stream_image(record.new_image)
    if event is None:
        return
    logger.append_keys(application_id=event.application_id)
    project(deps(), event)
    sent = dispatch_event(deps(), event)
    logger.info("event_dispatched", extra={"event_id": event.id, "type": event.type, "messages": sent})


@stream.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM_ARN, batch_size=100)
def dispatch(event: Any) -> dict[str, Any]:
    return stream_batch(event, _handle, "stream")
