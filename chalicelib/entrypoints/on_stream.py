"""`dispatch`: the table's stream → outbox events → projections and one delivery message per
subscribed endpoint, a batch at a time (one projections transaction and the fewest queue requests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..lazy import deferred
from ..observability import logger
from .batch import stream_batch

if TYPE_CHECKING:
    from ..adapters import records
    from ..domain.events import DomainEvent
    from ..services import dispatch as dispatcher
    from ..services import projections
else:
    records = deferred("chalicelib.adapters.records")
    dispatcher = deferred("chalicelib.services.dispatch")
    projections = deferred("chalicelib.services.projections")

stream = Blueprint(__name__)

# A literal ARN is required by Chalice at import; the packaged template replaces it with the table's
# real stream ARN (and adds ReportBatchItemFailures, bisection and an on-failure destination).
PLACEHOLDER_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/onetrip/stream/placeholder"


def _event_of(record: Any) -> DomainEvent | None:
    if record.event_name != "INSERT" or not record.new_image:
        return None
    return records.event_from_stream_image(record.new_image)


def _handle(events: list[DomainEvent]) -> None:
    wired = deps()
    projections.project(wired, events)
    for event, sent in zip(events, dispatcher.dispatch_events(wired, events), strict=True):
        logger.info("event_dispatched", extra={"event_id": event.id, "type": event.type, "messages": sent,
                                               "application_id": event.application_id})


@stream.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM_ARN, batch_size=100)
def dispatch(event: Any) -> dict[str, Any]:
    return stream_batch(event, _event_of, _handle, "stream")
