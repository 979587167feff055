"""Every event type departments can subscribe to travels the whole delivery path: documented with a
schema (the OpenAPI `webhooks`), subscribable, fanned out to the endpoints that want it, signed,
delivered with a body that matches its documented schema and stays thin, and listed by the
missed-events pull with the same webhook id. The table is read at test time, so a type added to
domain/event_types.py is covered without touching this file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from chalicelib.domain.departments import SUBSCRIBABLE_EVENT_TYPES, VERIFICATION_EVENT_TYPE
from chalicelib.domain.event_types import EVENT_TYPES, cloud_event_schema
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.domain.webhooks import verify
from chalicelib.services.delivery import deliver
from chalicelib.services.departments import add_endpoint
from chalicelib.services.dispatch import dispatch_event, webhook_id
from chalicelib.services.events_feed import pull_events
from tests.fakes import FixedClock, fake_deps
from tests.unit.catalogue_samples import FRIDAY

DEPARTMENT_TYPES = sorted(t for t in EVENT_TYPES if t != VERIFICATION_EVENT_TYPE)
MAX_BODY_BYTES = 4096  # "thin": ids, codes and links, a few KB at most


def sample(schema: dict[str, Any], name: str = "") -> Any:
    """A value of the schema's shape, as long as a real one may be (ids of 64 characters)."""
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type", "object")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {k: sample(v, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}), name) for _ in range(3)]
    if kind == "integer":
        return schema.get("maximum", 5)
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2026-12-04"
    return ("x" * schema.get("maxLength", 64))[:64]


def test_every_documented_type_is_subscribable_and_every_subscribable_type_documented():
    assert set(SUBSCRIBABLE_EVENT_TYPES) == set(DEPARTMENT_TYPES)


@pytest.mark.parametrize("event_type", DEPARTMENT_TYPES)
def test_each_event_type_is_delivered_signed_as_documented_and_pulled_with_the_same_webhook_id(event_type):
    deps = fake_deps(delivery_jitter=0.0, events_settle_seconds=0)
    deps.now = FixedClock(FRIDAY)
    everything, secret = add_endpoint(deps, "dept-a", "https://a.example/hooks", tuple(SUBSCRIBABLE_EVENT_TYPES))
    add_endpoint(deps, "dept-a", "https://a.example/other", tuple(t for t in SUBSCRIBABLE_EVENT_TYPES
                                                                  if t != event_type))
    data = sample(EVENT_TYPES[event_type]["data"])
    event = DomainEvent.raised(event_type, FRIDAY, application_id="app_1", subject="cases/1",
                               recipients=["dept-a"], data=data)
    assert dispatch_event(deps, event) == 1  # only the endpoint that subscribes to it
    (message,) = deps.queue.sent
    assert deliver(deps, message.body).outcome == "delivered"
    request = deps.webhooks.requests[-1]
    verify(secret, request["headers"], request["body"], now=int(FRIDAY.timestamp()))
    body = json.loads(request["body"])
    jsonschema.validate(body, cloud_event_schema(event_type))
    assert body["type"] == event_type and body["data"] == data
    assert len(request["body"]) <= MAX_BODY_BYTES, len(request["body"])
    deps.store.outbox.append(event)  # the feed copy the event's own transaction writes
    # Event ids are ULIDs of the real clock, so "later" is real time: FRIDAY + 1 h would be before the
    # event itself once the wall clock passes it (this test failed from 10:30 UTC on its first day).
    later = FixedClock(datetime.now(UTC) + timedelta(hours=1))
    deps.now = later
    pulled = pull_events(deps, Principal(sub="m", kind=PrincipalKind.DEPARTMENT, department="dept-a"), None, 10)
    (item,) = pulled["items"]
    assert item["event"] == body and item["webhook_ids"] == [webhook_id(event.id, everything.id)]
    assert request["headers"]["webhook-id"] == webhook_id(event.id, everything.id)
