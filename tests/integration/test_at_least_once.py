"""At-least-once plumbing through the real handlers: a stream record dispatched twice still acts
once at the department, and a failing delivery in a batch is the only record handed back."""

from __future__ import annotations

import json

import pytest

from chalicelib import bootstrap
from chalicelib.domain.webhooks import generate_secret
from chalicelib.services.departments import add_endpoint
from infra.onetrip.receiver import DemoReceiver

from .conftest import accept_case, drain, outbox_images, stream_event


def _receive(stack, endpoint_ids: set[str]) -> list[dict]:
    """Messages for our endpoints, received (not deleted) with their real receipt handles."""
    sqs = stack.aws("sqs")
    mine = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=stack.outputs["DeliveryQueueUrl"], MaxNumberOfMessages=10,
                                    AttributeNames=["All"], VisibilityTimeout=30).get("Messages", [])
        if not batch:
            break
        mine += [m for m in batch if json.loads(m["Body"])["endpoint_id"] in endpoint_ids]
    return mine


def _lambda_records(messages: list[dict], queue_arn: str) -> dict:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"} for m in messages]}


@pytest.fixture
def amr_receivers():
    good = DemoReceiver("yq-amr", [generate_secret()]).start()
    down = DemoReceiver("yq-amr", [generate_secret()], fail_first=100).start()
    endpoints = {}
    for name, receiver in (("good", good), ("down", down)):
        endpoint, secret = add_endpoint(bootstrap.deps(), "yq-amr", receiver.url, ("onetrip.task.assigned",))
        receiver.secrets = [secret]
        endpoints[name] = endpoint
    yield {"good": good, "down": down}, endpoints
    good.stop()
    down.stop()
    from chalicelib.domain.departments import EndpointState

    for endpoint in endpoints.values():  # later tests must not deliver to receivers that are gone
        bootstrap.deps().store.put_endpoint(endpoint.model_copy(update={"state": EndpointState.DISABLED}))


def test_a_stream_record_dispatched_twice_acts_once_and_only_failures_are_retried(api, stack, amr_receivers):
    receivers, endpoints = amr_receivers
    drain(stack, "DeliveryQueueUrl")
    case = accept_case(api, stack)
    [image] = [i for i in outbox_images(stack, case["id"]) if "onetrip.task.assigned" in i["doc"]["S"]]
    for _ in range(2):  # the stream redelivers a record: same event id, same webhook ids
        assert api.lambda_.invoke("dispatch", stream_event(image)).payload == {"batchItemFailures": []}
    messages = _receive(stack, {e.id for e in endpoints.values()})
    assert len(messages) == 4
    by_endpoint = {}
    for m in messages:
        body = json.loads(m["Body"])
        by_endpoint.setdefault(body["endpoint_id"], set()).add(body["webhook_id"])
    assert all(len(ids) == 1 for ids in by_endpoint.values())  # one webhook-id per endpoint

    arn = stack.aws("sqs").get_queue_attributes(QueueUrl=stack.outputs["DeliveryQueueUrl"],
                                                AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result = api.lambda_.invoke("deliver", _lambda_records(messages, arn)).payload
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    # Each attempt is claimed before it is made: of two copies of one message in a batch, one makes
    # the request and the other is acknowledged as a duplicate or handed back to look again after
    # the claim's lease — never a second request.
    copies: dict[str, list[str]] = {}
    for m in messages:
        copies.setdefault(json.loads(m["Body"])["webhook_id"], []).append(m["MessageId"])
    assert all(len(set(ids) & failed) <= 1 for ids in copies.values())
    good = [r for r in receivers["good"].received if r["status"] == 204]
    assert len(good) == 1 and good[0]["signature_ok"]
    assert len(receivers["down"].received) == 1  # one 503 attempt, not two
    # The failed attempt is not lost: its retry is a new message, delayed by the schedule (local: 1 s).
    down_wid = next(w for w, ids in copies.items() if endpoints["down"].id.removeprefix("ep_") in w)
    state = bootstrap.deps().store.get_delivery(down_wid)
    assert (state.status.value, state.attempt, state.last_status) == ("retrying", 1, 503)
    sqs = stack.aws("sqs")
    retried = []
    for _ in range(10):
        got = sqs.receive_message(QueueUrl=stack.outputs["DeliveryQueueUrl"], MaxNumberOfMessages=10,
                                  WaitTimeSeconds=1).get("Messages", [])
        retried += [json.loads(m["Body"]) for m in got if json.loads(m["Body"])["webhook_id"] == down_wid]
        if retried:
            break
    assert retried and retried[0]["attempt"] == 2
