"""Fan-out: each outbox event becomes one delivery message per subscribed endpoint of each recipient.

The CloudEvent body is built here, once, so every retry of a delivery sends the same bytes under the
same `webhook-id` (the receiver's idempotency key); the missed-events pull builds the very same body.
"""

from __future__ import annotations

from ..domain.deliveries import DeliveryMessage
from ..domain.departments import Endpoint
from ..domain.events import DomainEvent
from ..domain.webhooks import cloud_event
from ..ports import OutboundMessage
from .deps import Deps


def webhook_id(event_id: str, endpoint_id: str) -> str:
    return f"msg_{event_id.removeprefix('evt_')}_{endpoint_id.removeprefix('ep_')}"


def event_body(event: DomainEvent, stage: str) -> str:
    """The CloudEvents 1.0 JSON of an event: what a webhook carries and what `GET /v1/events` returns."""
    return cloud_event(
        event_id=event.id, event_type=event.type, source=f"/onetrip/{stage}",
        subject=event.subject, time_iso=event.occurred_at, data=event.data,
    ).decode()


def dispatch_event(deps: Deps, event: DomainEvent) -> int:
    """Queue one event for every endpoint that subscribes to it; returns how many messages were sent."""
    return dispatch_events(deps, [event])[0]


def dispatch_events(deps: Deps, events: list[DomainEvent]) -> list[int]:
    """Queue a stream batch's events together: each department's endpoints read once for the batch,
    the messages sent ten to a request. Returns each event's number of messages."""
    endpoints: dict[str, list[Endpoint]] = {}
    messages: list[OutboundMessage] = []
    counts = []
    for event in events:
        body = event_body(event, deps.settings.stage)
        item_code = event.data.get("item_code") if isinstance(event.data.get("item_code"), str) else None
        before = len(messages)
        for department in dict.fromkeys(event.recipients):
            if department not in endpoints:
                endpoints[department] = deps.store.list_endpoints(department)
            for endpoint in endpoints[department]:
                if not endpoint.wants(event.type, item_code):
                    continue
                wid = webhook_id(event.id, endpoint.id)
                message = DeliveryMessage(webhook_id=wid, department=department, endpoint_id=endpoint.id,
                                          event_type=event.type, payload=body, event_id=event.id,
                                          item_code=item_code)
                messages.append(OutboundMessage(id=wid, body=message.model_dump_json()))
        counts.append(len(messages) - before)
    if messages:
        deps.queue.send(messages)
    return counts
