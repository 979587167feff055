"""Delivery of one queued webhook: sign (Standard Webhooks v1), POST, and decide what a failure means.

At-least-once: a transient failure leaves the message on the queue and pushes its next attempt out
by the backoff schedule; a delivered `webhook-id` is recorded so a redelivered message sends nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..domain.departments import EndpointState
from ..domain.webhooks import webhook_headers
from .deps import Deps


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str  # delivered | duplicate | dropped | failed_permanently | retry
    status: int | None = None
    retry_in: int | None = None
    error: str | None = None

    @property
    def should_retry(self) -> bool:
        return self.outcome == "retry"


def deliver(deps: Deps, message_body: str, receive_count: int) -> DeliveryResult:
    msg: dict[str, Any] = json.loads(message_body)
    wid = msg["webhook_id"]
    now = deps.now()
    if deps.store.delivery_done(wid):
        return DeliveryResult("duplicate")
    endpoint = deps.store.get_endpoint(msg["department"], msg["endpoint_id"])
    if endpoint is None or endpoint.state is not EndpointState.ACTIVE:
        deps.store.record_delivery(wid, "dropped", {"reason": "endpoint_inactive"}, now)
        return DeliveryResult("dropped")
    secrets = [deps.cipher.decrypt(c, {"endpoint": endpoint.id}) for c in endpoint.secret_ciphertexts]
    body = msg["payload"].encode()
    headers = webhook_headers(secrets, wid, int(now.timestamp()), body)
    result = deps.webhooks.send(endpoint.url, headers, body)
    detail = {"http_status": result.status, "error": result.error, "attempt": receive_count,
              "endpoint_id": endpoint.id, "event_type": msg.get("event_type")}
    if result.ok:
        deps.store.record_delivery(wid, "delivered", detail, deps.now())
        return DeliveryResult("delivered", result.status)
    if result.permanent:
        if result.status == 410:  # Gone: the department retired this endpoint; stop sending to it
            deps.store.put_endpoint(endpoint.model_copy(update={"state": EndpointState.DISABLED}))
        deps.store.record_delivery(wid, "failed_permanently", detail, deps.now())
        return DeliveryResult("failed_permanently", result.status, error=result.error)
    schedule = deps.settings.delivery_backoff
    delay = schedule[min(receive_count, len(schedule)) - 1] if schedule else 0
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    return DeliveryResult("retry", result.status, retry_in=min(delay, 43200), error=result.error)
