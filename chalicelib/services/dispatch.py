"""Fan-out: each outbox event becomes one delivery message per subscribed endpoint of each recipient.

The CloudEvent body is built here, once, so every retry of a delivery sends the same bytes under the
same `webhook-id` (the receiver's idempotency key).
"""

from __future__ import annotations

import json

from ..domain.events import DomainEvent
from ..domain.webhooks import cloud_event
from ..ports import OutboundMessage
from .deps import Deps


def webhook_id(event_id: str, endpoint_id: str) -> str:
    return f"msg_{event_id.removeprefix('evt_')}_{endpoint_id.removeprefix('ep_')}"


def dispatch_event(deps: Deps, event: DomainEvent) -> int:
    """Queue the event for every endpoint that subscribes to it; returns how many messages were sent."""
    body = cloud_event(
        event_id=event.id, event_type=event.type, source=f"/onetrip/{deps.settings.stage}",
        subject=event.subject, time_iso=event.occurred_at, data=event.data,
    ).decode()
    messages = []
    for department in event.recipients:
        for endpoint in deps.store.list_endpoints(department):
            if not endpoint.wants(event.type):
                continue
            wid = webhook_id(event.id, endpoint.id)
            messages.append(OutboundMessage(id=wid, body=json.dumps({
                "webhook_id": wid, "department": department, "endpoint_id": endpoint.id,
                "event_type": event.type, "payload": body,
            }, ensure_ascii=False, separators=(",", ":"))))
    if messages:
        deps.queue.send(messages)
    return len(messages)
