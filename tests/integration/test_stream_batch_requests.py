"""What one stream batch costs against the moto-backed stack (issue 9): a real case's outbox events,
delivered to `dispatch` as one batch, are projected in one TransactWriteItems and fanned out with one
Query per department and one SendMessageBatch — not one or two requests per event."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.domain.departments import EndpointState
from chalicelib.services.departments import add_endpoint

from .conftest import accept_case, call, drain, outbox_images, stream_event


def one_batch(images: list[dict[str, Any]]) -> dict[str, Any]:
    event = stream_event(images[0])
    event["Records"] = [stream_event(image)["Records"][0] for image in images]
    for n, record in enumerate(event["Records"]):
        record["dynamodb"]["SequenceNumber"] = str(1000 + n)
    return event


def counting(services: tuple[str, ...]) -> tuple[Counter[str], Any]:
    seen: Counter[str] = Counter()

    def before_call(model: Any, **_: Any) -> None:
        seen[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1

    for service in services:
        aws.client(service).meta.events.register("before-call", before_call)

    def stop() -> None:
        for service in services:
            aws.client(service).meta.events.unregister("before-call", before_call)
    return seen, stop


@pytest.fixture
def subscribed(api, stack):
    """yq-amr's endpoint for its tasks (nothing delivers to it here: `deliver` does not run)."""
    endpoint, _ = add_endpoint(bootstrap.deps(), "yq-amr", "http://127.0.0.1:9/webhooks/yq-amr",
                               ("onetrip.task.assigned",))
    yield endpoint
    bootstrap.deps().store.put_endpoint(endpoint.model_copy(update={"state": EndpointState.DISABLED}))


def test_a_batch_of_a_cases_events_costs_one_projection_transaction_and_one_queue_request(api, stack, subscribed):
    app = accept_case(api, stack)
    images = outbox_images(stack, app["id"])
    types = Counter(json.loads(i["doc"]["S"])["type"] for i in images)
    assert types["onetrip.material.verified"] == 3 and types["onetrip.task.assigned"] == 1, types
    seen, stop = counting(("dynamodb", "sqs", "kms"))
    try:
        result = api.lambda_.invoke("dispatch", one_batch(images))
    finally:
        stop()
    assert result.payload == {"batchItemFailures": []}
    assert seen["dynamodb:TransactWriteItems"] == 1, seen
    assert seen["sqs:SendMessageBatch"] == 1, seen
    assert seen["dynamodb:Query"] == 1, seen  # yq-amr's endpoints
    assert seen["dynamodb:GetItem"] <= 1, seen  # at most the item version, if not cached yet
    assert sum(seen.values()) <= 5, seen
    queued = [json.loads(m["Body"]) for m in drain(stack, "DeliveryQueueUrl")]
    assert [m["event_type"] for m in queued if m["endpoint_id"] == subscribed.id] == ["onetrip.task.assigned"]

    status, told = call(api, "GET", f"/v1/applications/{app['id']}/events", stack.headers("citizen-verified"))
    assert status == 200 and "onetrip.case.accepted" in [n["type"] for n in told["items"]]
