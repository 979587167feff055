"""At-least-once inputs, exactly-once effects, on the running stack (the pump plays Lambda's triggers).

* The same S3 ObjectCreated notification, delivered again (one after the other, and two at once),
  leaves the verdict exactly as it was.
* The same delivery message, queued again after its webhook went out, sends nothing: the
  department sees one request for that webhook-id and decides once.

The pump deletes what it processed, so the duplicates are rebuilt: the S3 notification the way moto
writes it for that object (moto.s3.notifications._get_s3_event), the delivery message by re-running
`chalicelib.services.dispatch.dispatch_event` on the outbox event stored in the table.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from types import SimpleNamespace
from urllib.parse import quote_plus

import pytest

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.events import DomainEvent
from chalicelib.services.dispatch import dispatch_event
from chalicelib.services.dispatch import webhook_id as make_webhook_id

from .conftest import AMR_ITEM, PDF, wait_for

IGNORED = '"reason":"already_verified"'  # verify_material's log line for a verdict already recorded
DUPLICATE = '"outcome":"duplicate"'  # deliver's log line for a webhook-id already delivered


def _send_concurrently(send, times: int = 2) -> None:
    barrier = threading.Barrier(times)
    errors: list[BaseException] = []

    def go() -> None:
        try:
            barrier.wait(5)
            send()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors


# --------------------------------------------------------------------------- S3 → upload queue

def _s3_notification(e2e, key: str) -> str:
    """The body moto's S3 puts on the upload queue for an ObjectCreated:Post of `key`."""
    s3 = e2e.aws("s3")
    bucket = e2e.outputs["BucketName"]
    head = s3.head_object(Bucket=bucket, Key=key)
    configs = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    config = next(c for c in configs if c["QueueArn"] == e2e.outputs["UploadQueueArn"])
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": now,
        "eventName": "ObjectCreated:Post",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": config.get("Id", ""),
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key), "size": head["ContentLength"],
                          "eTag": head["ETag"].strip('"')}},
    }]})


@pytest.mark.e2e
def test_the_same_s3_event_twice_and_twice_at_once_gives_one_verdict(e2e):
    app_id = e2e.draft(AMR_ITEM)["id"]
    ticket = e2e.upload(app_id, "application-form", PDF, "application/pdf")
    key = ticket["fields"]["key"]
    e2e.wait_queue_empty("UploadQueueUrl")
    before = e2e.application(app_id)
    slot = next(m for m in before["materials"] if m["code"] == "application-form")
    assert slot["status"] == "verified" and slot["sha256"] and slot["updated_at"]

    sqs = e2e.aws("sqs")
    body = _s3_notification(e2e, key)

    def redeliver() -> None:
        sqs.send_message(QueueUrl=e2e.outputs["UploadQueueUrl"], MessageBody=body)

    ignored_before = e2e.pump_log().count(IGNORED)
    for round_ in ("again", "and again"):
        redeliver()
        e2e.wait_queue_empty("UploadQueueUrl")
        assert e2e.application(app_id) == before, f"a duplicate ({round_}) changed the application"
    _send_concurrently(redeliver)
    e2e.wait_queue_empty("UploadQueueUrl")

    after = e2e.application(app_id)
    assert after == before
    slot_after = next(m for m in after["materials"] if m["code"] == "application-form")
    assert (slot_after["status"], slot_after["sha256"], slot_after["updated_at"], slot_after["upload_id"]) == (
        "verified", slot["sha256"], slot["updated_at"], ticket["upload_id"])
    assert slot_after["problems"] == []
    # The handler really saw all four duplicates, and ignored each as already verified.
    wait_for(lambda: e2e.pump_log().count(IGNORED) - ignored_before >= 4, 5,
             what="the pump log to show four ignored duplicates")
    assert e2e.pump_log().count(IGNORED) - ignored_before == 4
    # Dead-letter queues stay empty: nothing failed.
    assert e2e.queue_depth("UploadDLQUrl") == 0


# --------------------------------------------------------------------------- delivery queue

def _rebuild_delivery(e2e, app_id: str, wid: str) -> tuple[str, str]:
    """Re-run the dispatcher on the stored outbox event; return (body, webhook_id) of the message for wid."""
    events = [DomainEvent.model_validate(item["doc"]) for item in e2e.table_items(f"APP#{app_id}", "EVT#")]
    sent: list = []
    deps = SimpleNamespace(
        settings=SimpleNamespace(stage=e2e.stack.env["ONETRIP_STAGE"]),
        store=DynamoStore(e2e.aws("dynamodb"), e2e.outputs["TableName"]),
        queue=SimpleNamespace(send=sent.extend))
    for event in events:
        dispatch_event(deps, event)
    message = next(m for m in sent if m.id == wid)
    assert json.loads(message.body)["webhook_id"] == wid
    return message.body, message.id


@pytest.mark.e2e
def test_the_same_delivery_message_again_has_one_webhook_effect(e2e, departments):
    receivers, desks = departments.open("yq-amr")
    receiver, desk = receivers["yq-amr"], desks["yq-amr"]
    app = e2e.complete_amr_application()
    case = e2e.ok("POST", f"/v1/applications/{app['id']}/submit")
    assert case["status"] == "accepted" and [t["department"] for t in case["tasks"]] == ["yq-amr"]
    task_id = case["tasks"][0]["task_id"]
    e2e.wait_decided(app["id"])
    wait_for(lambda: any(h["event_type"] == "onetrip.case.decided" for h in receiver.received),
             what="onetrip.case.decided at yq-amr")
    e2e.wait_queue_empty("DeliveryQueueUrl")
    assert receiver.wait_idle(5)

    assigned = [h for h in receiver.received if h["event_type"] == "onetrip.task.assigned"]
    assert [h["status"] for h in assigned] == [204], receiver.received
    wid = assigned[0]["webhook_id"]
    event_id = next(i["doc"]["id"] for i in e2e.table_items(f"APP#{app['id']}", "EVT#")
                    if i["doc"]["type"] == "onetrip.task.assigned")
    endpoint_id = e2e.stack.seeded["departments"]["yq-amr"]["endpoint_id"]
    assert wid == make_webhook_id(event_id, endpoint_id)
    record = e2e.delivery_record(wid)
    assert (record["status"], record["attempt"], record["endpoint_id"]) == ("delivered", 1, endpoint_id)

    body, message_wid = _rebuild_delivery(e2e, app["id"], wid)
    assert json.loads(json.loads(body)["payload"])["data"]["task_id"] == task_id
    seen_before = receiver.received
    duplicates_before = e2e.pump_log().count(DUPLICATE)
    sqs = e2e.aws("sqs")

    def redeliver() -> None:
        sqs.send_message(QueueUrl=e2e.outputs["DeliveryQueueUrl"], MessageBody=body, MessageAttributes={
            "webhook_id": {"DataType": "String", "StringValue": message_wid}})

    redeliver()
    e2e.wait_queue_empty("DeliveryQueueUrl")
    _send_concurrently(redeliver)
    e2e.wait_queue_empty("DeliveryQueueUrl")
    assert receiver.wait_idle(5)

    # The deliverer knew the webhook-id was delivered: no request reached the department at all.
    assert receiver.received == seen_before
    assert [h["webhook_id"] for h in receiver.received].count(wid) == 1
    decisions = [a for a in desk.actions if "decision" in a["step"]]
    assert [(a["step"], a["status"]) for a in decisions] == [
        (f"POST /v1/tasks/{task_id}/decision approved", 200)]
    assert e2e.delivery_record(wid) == record  # not re-recorded either
    wait_for(lambda: e2e.pump_log().count(DUPLICATE) - duplicates_before >= 3, 5,
             what="the pump log to show three duplicate deliveries")
    assert e2e.pump_log().count(DUPLICATE) - duplicates_before == 3
    assert e2e.queue_depth("DeliveryDLQUrl") == 0
    final = e2e.application(app["id"])
    assert final["status"] == "decided" and final["outcome"] == "approved"
    assert [(t["department"], t["outcome"]) for t in final["tasks"]] == [("yq-amr", "approved")]
