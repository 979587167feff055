"""The event pump: Lambda event shapes, partial batch failures, redrive, stream retries."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from infra.onetrip.moto_stack import client
from infra.onetrip.pump import EventPump, FakeLambdaContext, run_pump

SQS_RECORD_KEYS = {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                   "md5OfBody", "md5OfMessageAttributes", "eventSource", "eventSourceARN",
                   "awsRegion"}


class FakeApp:
    """Stands in for a Chalice app: a handler_map whose handlers record what they got."""

    def __init__(self, **handlers):
        self.calls: list[tuple[str, dict, object]] = []
        self.handler_map = {name: self._recording(name, fn) for name, fn in handlers.items()}

    def _recording(self, name, fn):
        def handler(event, context):
            self.calls.append((name, json.loads(json.dumps(event)), context))
            return fn(event)
        return handler


def _queue(moto_url, name, **attributes):
    sqs = client("sqs", moto_url)
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})[
        "QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return url, arn


def _pump(app, moto_url, tmp_path, queues=None, stream_arn="unused"):
    return EventPump(app, {"EndpointUrl": moto_url, "TableStreamArn": stream_arn},
                     state_dir=tmp_path, queues=queues or {}, sources=())


def _visible(moto_url, url):
    attrs = client("sqs", moto_url).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_event_has_lambda_shape_and_only_successful_receipts_are_deleted(moto_url, tmp_path):
    url, arn = _queue(moto_url, "shape-test", VisibilityTimeout=1)
    sqs = client("sqs", moto_url)
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), MessageAttributes={
            "kind": {"DataType": "String", "StringValue": f"k{n}"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    failing = {}

    def verify(event):
        bad = next(r for r in event["Records"] if json.loads(r["body"])["n"] == 1)
        failing["id"] = bad["messageId"]
        return {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}

    app = FakeApp(verify_material=verify)
    pump = _pump(app, moto_url, tmp_path, {"upload": (url, arn, "verify_material")})
    assert pump.poll_queue("upload") == 3

    [(name, event, context)] = app.calls
    assert name == "verify_material"
    record = event["Records"][0]
    assert set(record) == SQS_RECORD_KEYS
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
            "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "k0", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="  # base64, as Lambda sends
    assert context.function_name == "verify_material"
    assert context.memory_limit_in_mb == 512
    assert 0 < context.get_remaining_time_in_millis() <= 30_000

    assert _visible(moto_url, url) == (0, 1)  # two deleted, the failed one in flight
    time.sleep(1.2)  # its visibility timeout
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["MessageId"] == failing["id"]


def test_a_raising_handler_deletes_nothing(moto_url, tmp_path):
    url, arn = _queue(moto_url, "raise-test", VisibilityTimeout=1)
    client("sqs", moto_url).send_message(QueueUrl=url, MessageBody="{}")

    def deliver(event):
        raise RuntimeError("boom")

    pump = _pump(FakeApp(deliver=deliver), moto_url, tmp_path, {"delivery": (url, arn, "deliver")})
    assert pump.poll_queue("delivery") == 1
    assert _visible(moto_url, url) == (0, 1)
    assert pump.stats.errors == {"delivery": 1}


def test_an_unknown_failure_identifier_fails_the_whole_batch(moto_url, tmp_path):
    url, arn = _queue(moto_url, "unknown-id-test", VisibilityTimeout=1)
    client("sqs", moto_url).send_message(QueueUrl=url, MessageBody="{}")
    app = FakeApp(deliver=lambda e: {"batchItemFailures": [{"itemIdentifier": "nope"}]})
    _pump(app, moto_url, tmp_path, {"delivery": (url, arn, "deliver")}).poll_queue("delivery")
    assert _visible(moto_url, url) == (0, 1)


def test_redrive_moves_a_message_failing_max_receive_count_times_to_the_dlq(moto_url, tmp_path):
    dlq_url, dlq_arn = _queue(moto_url, "redrive-dlq")
    url, arn = _queue(moto_url, "redrive-test", VisibilityTimeout=1, RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    client("sqs", moto_url).send_message(QueueUrl=url, MessageBody="poison")
    app = FakeApp(deliver=lambda e: {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in e["Records"]]})
    pump = _pump(app, moto_url, tmp_path, {"delivery": (url, arn, "deliver")})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _visible(moto_url, dlq_url)[0] == 0:
        pump.poll_queue("delivery")
    assert _visible(moto_url, dlq_url) == (1, 0)
    assert len(app.calls) == 2  # maxReceiveCount deliveries, then the DLQ
    assert _visible(moto_url, url) == (0, 0)


@pytest.fixture()
def stream_table(moto_url):
    ddb = client("dynamodb", moto_url)
    name = f"pump-{time.monotonic_ns()}"
    table = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return name, table["LatestStreamArn"]


def _put(moto_url, table, *keys):
    ddb = client("dynamodb", moto_url)
    for key in keys:
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "sk": {"S": "v"},
                                            "blob": {"B": b"\x01"}})


def test_stream_records_have_lambda_shape_and_start_at_latest(moto_url, tmp_path, stream_table):
    table, stream_arn = stream_table
    _put(moto_url, table, "before-start")
    app = FakeApp(dispatch=lambda e: {"batchItemFailures": []})
    pump = _pump(app, moto_url, tmp_path, stream_arn=stream_arn)
    pump._discover_shards(initial=True)
    _put(moto_url, table, "a", "b")
    assert pump.poll_stream() == 2
    [(name, event, _context)] = app.calls
    assert name == "dispatch"
    first = event["Records"][0]
    assert first["eventSourceARN"] == stream_arn
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventName"] == "INSERT"
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert abs(first["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 120
    assert first["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "sk": {"S": "v"}}
    assert first["dynamodb"]["NewImage"]["blob"] == {"B": "AQ=="}  # base64, as Lambda sends
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]] == ["a", "b"]


def test_records_written_after_a_failed_transaction_still_reach_dispatch(moto_url, tmp_path, stream_table):
    """moto restores the table from a copy when a transaction fails; the pump must not go deaf."""
    table, stream_arn = stream_table
    app = FakeApp(dispatch=lambda e: {"batchItemFailures": []})
    pump = _pump(app, moto_url, tmp_path, stream_arn=stream_arn)
    pump._discover_shards(initial=True)
    _put(moto_url, table, "a")
    assert pump.poll_stream() == 1
    ddb = client("dynamodb", moto_url)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[{"Put": {
            "TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"S": "v"}},
            "ConditionExpression": "attribute_not_exists(pk)"}}])
    _put(moto_url, table, "b", "c")
    assert pump.poll_stream() == 2
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in app.calls[-1][1]["Records"]] == ["b", "c"]


def test_stream_retries_from_the_failed_record_then_parks_it(moto_url, tmp_path, stream_table):
    table, stream_arn = stream_table

    def dispatch(event):
        failed = [r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                                      for r in failed]}

    app = FakeApp(dispatch=dispatch)
    pump = _pump(app, moto_url, tmp_path, stream_arn=stream_arn)
    pump._discover_shards(initial=True)
    _put(moto_url, table, "ok", "bad", "after")
    for _ in range(5):  # the first try, 3 retries, then nothing left to do
        pump.poll_stream()
    batches = [[r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"]] for _, e, _ in app.calls]
    assert batches == [["ok", "bad", "after"]] + [["bad", "after"]] * 3
    parked = [json.loads(line) for line in
              (tmp_path / "parked-stream-records.jsonl").read_text().splitlines()]
    assert [p["record"]["dynamodb"]["Keys"]["pk"]["S"] for p in parked] == ["bad", "after"]
    assert pump.stats.parked == 2
    _put(moto_url, table, "later")  # the shard moves on after parking
    pump.poll_stream()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in app.calls[-1][1]["Records"]] == ["later"]


def test_run_pump_keeps_running_after_handler_exceptions(moto_url, tmp_path, stream_table):
    table, stream_arn = stream_table
    url, arn = _queue(moto_url, "keeps-running", VisibilityTimeout=1)
    seen = []

    def deliver(event):
        seen.extend(json.loads(r["body"]) for r in event["Records"])
        if seen.count("explode") == 1:
            raise RuntimeError("first delivery explodes")

    app = FakeApp(deliver=deliver, dispatch=lambda e: None)
    outputs = {"EndpointUrl": moto_url, "TableStreamArn": stream_arn,
               "UploadQueueUrl": url, "UploadQueueArn": arn,
               "DeliveryQueueUrl": url, "DeliveryQueueArn": arn}
    stop = threading.Event()
    ready = tmp_path / "ready"
    thread = threading.Thread(target=run_pump, args=(SimpleNamespace(app=app), outputs, stop),
                              kwargs={"state_dir": tmp_path, "ready_file": ready})
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        client("sqs", moto_url).send_message(QueueUrl=url, MessageBody='"explode"')
        _put(moto_url, table, "x")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and seen.count("explode") < 2:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert seen.count("explode") == 2  # raised once, redelivered after the visibility timeout
    assert "dispatch" in [name for name, _, _ in app.calls]
    assert "verify_material" not in app.handler_map  # the upload source was skipped, not fatal


def test_fake_context_has_what_powertools_reads():
    context = FakeLambdaContext("deliver")
    assert context.invoked_function_arn.endswith(":function:onetrip-local-deliver")
    assert context.aws_request_id != FakeLambdaContext("deliver").aws_request_id
    assert context.get_remaining_time_in_millis() > 29_000


def test_with_the_deployed_filter_only_outbox_inserts_reach_dispatch(moto_url, tmp_path, stream_table):
    from infra.onetrip.stream_filter import DISPATCH_PATTERN

    table, stream_arn = stream_table
    app = FakeApp(dispatch=lambda e: {"batchItemFailures": []})
    pump = EventPump(app, {"EndpointUrl": moto_url, "TableStreamArn": stream_arn}, state_dir=tmp_path,
                     queues={}, sources=(), stream_filter=DISPATCH_PATTERN)
    pump._discover_shards(initial=True)
    ddb = client("dynamodb", moto_url)
    for pk, type_ in (("evt-1", "event"), ("app-1", "application"), ("stats-1", "stats")):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "v"}, "type": {"S": type_}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "evt-1"}, "sk": {"S": "v"}, "type": {"S": "event"},
                                        "changed": {"S": "yes"}})  # a MODIFY of an event record
    assert pump.poll_stream() == 1
    [(_name, event, _context)] = app.calls
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in event["Records"]] == [("INSERT", "evt-1")]
    _put(moto_url, table, "no-type")
    assert pump.poll_stream() == 0 and len(app.calls) == 1  # nothing of ours: no invocation at all
