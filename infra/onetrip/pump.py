"""The local event pump: moto's queues and table stream -> the Chalice event handlers.

Lambda triggers never fire in moto, so this plays the part of the event source mappings: it
long-polls the upload and delivery queues and reads the table's stream, reshapes what it reads
into the exact Lambda event shapes and calls `app.handler_map[name](event, context)` in-process.
Partial batch failures are honoured like ReportBatchItemFailures: only successful SQS receipts
are deleted (moto's redrive then moves repeat failures to the DLQ); a failing stream batch is
retried from the failed record a bounded number of times, then parked in a JSON-lines file (the
analogue of an on-failure destination). Local only: nothing here ships to Lambda.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.onetrip.stream_filter import DISPATCH_PATTERN, matches

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = PROJECT_ROOT / ".onetrip"
PARKED_FILE_NAME = "parked-stream-records.jsonl"

SQS_BATCH_SIZE = 10
STREAM_BATCH_SIZE = 100
STREAM_MAX_RETRIES = 3
LAMBDA_TIMEOUT_S = 30
REGION = "us-east-1"
ACCOUNT = "123456789012"

SCHEDULED_HANDLER = "sweep_due_deliveries"
DEADLINE_SWEEP_HANDLER = "sweep_deadlines"
DEADLINE_SWEEP_EVERY = 5
SCHEDULE_ENV = "ONETRIP_PUMP_SCHEDULE_SECONDS"

log = logging.getLogger("onetrip.pump")


class FakeLambdaContext:
    """The attributes of a Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int = LAMBDA_TIMEOUT_S) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:onetrip-local-{function_name}")
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/onetrip-local-{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --------------------------------------------------------------------------- event shapes

def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One `receive_message` message as a record of a Lambda SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda spells these camelCase and base64-encodes binary values.
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    return out


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One `get_records` record as a record of a Lambda DynamoDB stream event."""
    out = _jsonable(record)
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        # boto3 parses it into a datetime; Lambda delivers epoch seconds.
        out["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    out["eventSourceARN"] = stream_arn
    return out


def _jsonable(value: Any) -> Any:
    """Binary attribute values (B, BS) arrive as bytes from boto3 and as base64 in Lambda."""
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return value


def failed_ids(result: Any) -> list[str] | None:
    """Item identifiers from a `batchItemFailures` response; None means the whole batch failed."""
    if result is None or not isinstance(result, Mapping):
        return []
    failures = result.get("batchItemFailures") or []
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier:
            return None  # Lambda treats a malformed failure entry as a failed batch
        ids.append(identifier)
    return ids


# --------------------------------------------------------------------------- sources

HandlerMap = Mapping[str, Callable[[dict, Any], Any]]


@dataclass
class PumpStats:
    """What the pump did, for tests and the status line."""

    batches: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    parked: int = 0


class EventPump:
    """Poller threads (upload queue, delivery queue, table stream) and a timer (the scheduled sweep)
    calling the handlers.

    Handler calls are serialised by one lock: a Lambda sandbox runs one invocation at a time
    and the app's lazily-built module globals are written for that.
    """

    def __init__(self, handlers: HandlerMap | Any, outputs: Mapping[str, str], *,
                 endpoint_url: str | None = None, state_dir: Path | str = DEFAULT_STATE_DIR,
                 wait_seconds: int = 1,
                 sources: tuple[str, ...] = ("upload", "delivery", "stream", "schedule"),
                 queues: Mapping[str, tuple[str, str, str]] | None = None,
                 schedule_seconds: float | None = None,
                 stream_filter: Mapping[str, Any] | None = None) -> None:
        from infra.onetrip.moto_stack import client  # boto3 only when a pump is built

        self.handlers: HandlerMap = getattr(handlers, "handler_map", handlers)
        self.outputs = dict(outputs)
        # The deployed trigger's FilterCriteria (infra/onetrip/stream_filter.py): records it drops are
        # never handed to `dispatch`, here either.
        self.stream_filter = stream_filter
        endpoint_url = endpoint_url or self.outputs.get("EndpointUrl") or os.environ["AWS_ENDPOINT_URL"]
        self.sqs = client("sqs", endpoint_url)
        self.streams = client("dynamodbstreams", endpoint_url)
        self.wait_seconds = wait_seconds
        self.parked_path = Path(state_dir) / PARKED_FILE_NAME
        self.stats = PumpStats()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # source name -> (queue url, queue arn, handler name)
        self.queues = dict(queues) if queues is not None else {
            "upload": (self.outputs["UploadQueueUrl"], self.outputs["UploadQueueArn"], "verify_material"),
            "delivery": (self.outputs["DeliveryQueueUrl"], self.outputs["DeliveryQueueArn"], "deliver"),
        }
        self.sources = sources
        self._shards: dict[str, _ShardReader] = {}
        # EventBridge's one-minute schedule, compressed locally (the due-retry sweep).
        self.schedule_seconds = schedule_seconds or float(os.environ.get(SCHEDULE_ENV, "1"))

    # ----------------------------------------------------------- lifecycle
    def start(self, stop_event: threading.Event) -> None:
        wanted = {"upload": "verify_material", "delivery": "deliver", "stream": "dispatch",
                  "schedule": SCHEDULED_HANDLER}
        for source in self.sources:
            name = self.queues[source][2] if source in self.queues else wanted[source]
            if name not in self.handlers:
                # Better idle than receive: each receive would count towards the DLQ.
                log.warning("source=%s skipped: the app has no handler %r", source, name)
        self.sources = tuple(
            s for s in self.sources
            if (self.queues[s][2] if s in self.queues else wanted[s]) in self.handlers)
        if "stream" in self.sources:
            self._discover_shards(initial=True)  # LATEST is taken now, before any later write
        for source in self.sources:
            target = {"stream": self._stream_loop, "schedule": self._schedule_loop}.get(source, self._queue_loop)
            args = (stop_event,) if source in ("stream", "schedule") else (source, stop_event)
            thread = threading.Thread(target=target, args=args, name=f"pump-{source}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler = self.handlers[name]
        with self._lock:
            return handler(event, FakeLambdaContext(name))

    def _count(self, source: str, failures: int, error: bool) -> None:
        self.stats.batches[source] = self.stats.batches.get(source, 0) + 1
        self.stats.failures[source] = self.stats.failures.get(source, 0) + failures
        if error:
            self.stats.errors[source] = self.stats.errors.get(source, 0) + 1

    # ----------------------------------------------------------- SQS
    def _queue_loop(self, source: str, stop_event: threading.Event) -> None:
        while not stop_event.is_set():
            try:
                self.poll_queue(source)
            except Exception:
                log.exception("source=%s poll failed", source)
                stop_event.wait(1)

    def poll_queue(self, source: str) -> int:
        """One receive + handler call + deletes. Returns the number of messages handled."""
        queue_url, queue_arn, handler_name = self.queues[source]
        messages = self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=SQS_BATCH_SIZE,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        records = [sqs_record(m, queue_arn) for m in messages]
        try:
            result = self._invoke(handler_name, {"Records": records})
            failed = failed_ids(result)
            error = None
        except Exception as exc:
            failed, error = None, exc
        all_ids = {r["messageId"] for r in records}
        if failed is not None and not set(failed) <= all_ids:
            failed = None  # an unknown identifier fails the whole batch, as in Lambda
        failed_set = all_ids if failed is None else set(failed)
        done = [r for r in records if r["messageId"] not in failed_set]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)])
        self._count(source, len(failed_set), error is not None)
        if error is not None:
            log.error("source=%s handler=%s count=%d failures=%d error=%r",
                      source, handler_name, len(records), len(failed_set), error,
                      exc_info=error)
        else:
            log.info("source=%s handler=%s count=%d failures=%d",
                     source, handler_name, len(records), len(failed_set))
        return len(records)

    # ----------------------------------------------------------- schedule
    def _schedule_loop(self, stop_event: threading.Event) -> None:
        ticks = 0
        while not stop_event.wait(self.schedule_seconds):
            ticks += 1
            # The deadline sweep runs every 5 minutes in AWS, every 5 ticks here (same ratio).
            due = [SCHEDULED_HANDLER] + ([DEADLINE_SWEEP_HANDLER] if ticks % DEADLINE_SWEEP_EVERY == 0 and
                                         DEADLINE_SWEEP_HANDLER in self.handlers else [])
            for name in due:
                try:
                    self.fire_schedule(name)
                except Exception:
                    log.exception("source=schedule handler=%s failed", name)

    def fire_schedule(self, name: str = SCHEDULED_HANDLER) -> Any:
        """One tick of a scheduled rule: the handler gets an EventBridge scheduled event."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": ACCOUNT, "time": now, "region": REGION,
                 "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/onetrip-local-{name}"],
                 "detail": {}}
        result = self._invoke(name, event)
        self._count("schedule", 0, False)
        return result

    # ----------------------------------------------------------- DynamoDB stream
    def _discover_shards(self, initial: bool = False) -> None:
        stream_arn = self.outputs["TableStreamArn"]
        description = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            # Shards open at start: only what is written from now on, so remember where they end.
            # Shards that appear later: everything in them, or records would be lost.
            self._shards[shard_id] = _ShardReader(
                shard_id, iterator="", last_sequence=self._shard_end(stream_arn, shard_id) if initial else None)

    def _shard_end(self, stream_arn: str, shard_id: str) -> str | None:
        iterator = self.streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        last = None
        while iterator:
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            records = response.get("Records", [])
            if not records:
                break
            last = records[-1]["dynamodb"]["SequenceNumber"]
            iterator = response.get("NextShardIterator")
        return last

    def _fresh_iterator(self, reader: _ShardReader) -> str:
        """A new iterator from the last record read, on every poll. moto restores a table from a deep
        copy when a transaction fails (a conditional check, a lost race), and iterators taken before
        then keep reading the discarded copy's shard: they would never see another record."""
        stream_arn = self.outputs["TableStreamArn"]
        if reader.last_sequence is None:
            return str(self.streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=reader.shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        return str(self.streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=reader.shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=reader.last_sequence)["ShardIterator"])

    def _stream_loop(self, stop_event: threading.Event) -> None:
        last_discovery = time.monotonic()
        while not stop_event.is_set():
            try:
                if time.monotonic() - last_discovery > 10:
                    self._discover_shards()
                    last_discovery = time.monotonic()
                handled = self.poll_stream()
            except Exception:
                log.exception("source=stream poll failed")
                handled = 0
            if not handled:
                stop_event.wait(0.25 if self.wait_seconds else 0)

    def poll_stream(self) -> int:
        """One pass over every shard: retry a pending batch, or read the next one."""
        handled = 0
        for shard_id, reader in list(self._shards.items()):
            if not reader.pending:
                if reader.iterator is None:
                    del self._shards[shard_id]  # closed shard fully read
                    continue
                response = self.streams.get_records(
                    ShardIterator=self._fresh_iterator(reader), Limit=STREAM_BATCH_SIZE)
                reader.iterator = response.get("NextShardIterator")
                records = response.get("Records", [])
                if records:
                    reader.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
                reader.pending = [stream_record(r, self.outputs["TableStreamArn"]) for r in records]
                if self.stream_filter is not None:
                    reader.pending = [r for r in reader.pending if matches(r, self.stream_filter)]
                reader.attempts = 0
            if reader.pending:
                handled += len(reader.pending)
                self._dispatch(reader)
        return handled

    def _dispatch(self, reader: _ShardReader) -> None:
        records = reader.pending
        try:
            result = self._invoke("dispatch", {"Records": records})
            failed, error = failed_ids(result), None
        except Exception as exc:
            failed, error = None, exc
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        if failed == []:
            reader.pending, reader.attempts = [], 0
            self._count("stream", 0, False)
            log.info("source=stream handler=dispatch count=%d failures=0", len(records))
            return
        # Lambda resumes from the lowest failed sequence number; unknown ones fail the batch.
        first = 0
        if failed is not None and set(failed) <= set(sequence_numbers):
            first = min(sequence_numbers.index(s) for s in failed)
        remaining = records[first:]
        reader.attempts += 1
        self._count("stream", len(remaining), error is not None)
        log.log(logging.ERROR if error else logging.WARNING,
                "source=stream handler=dispatch count=%d failures=%d attempt=%d%s",
                len(records), len(remaining), reader.attempts,
                f" error={error!r}" if error else "", exc_info=error)
        if reader.attempts > STREAM_MAX_RETRIES:
            self._park(remaining, error)
            reader.pending, reader.attempts = [], 0
        else:
            reader.pending = remaining

    def _park(self, records: list[dict[str, Any]], error: BaseException | None) -> None:
        self.parked_path.parent.mkdir(parents=True, exist_ok=True)
        parked_at = dt.datetime.now(dt.UTC).isoformat()
        with open(self.parked_path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({
                    "parked_at": parked_at,
                    "handler": "dispatch",
                    "error": repr(error) if error else "batchItemFailures",
                    "record": record,
                }) + "\n")
        self.stats.parked += len(records)
        log.error("source=stream parked=%d after %d retries file=%s",
                  len(records), STREAM_MAX_RETRIES, self.parked_path)


@dataclass
class _ShardReader:
    shard_id: str
    iterator: str | None  # None once the shard is closed and read to its end
    last_sequence: str | None = None  # the last record taken from the shard (None: read from its start)
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0


def run_pump(app_module: Any, outputs: Mapping[str, str], stop_event: threading.Event,
             ready_file: Path | str | None = None, **options: Any) -> EventPump:
    """Run the pump until stop_event is set (blocking); returns the pump for its stats.

    ready_file, when given, is created once the stream position is taken, so a caller knows
    that every later table write will reach `dispatch`.
    """
    pump = EventPump(app_module.app, outputs, **options)
    pump.start(stop_event)
    log.info("pump started: %s", ", ".join(pump.sources))
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()), encoding="utf-8")
    stop_event.wait()
    pump.join(timeout=max(5, pump.wait_seconds + 5))
    return pump


# --------------------------------------------------------------------------- entry point

OUTPUTS_ENV = "ONETRIP_PUMP_OUTPUTS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.onetrip.pump", description=__doc__)
    parser.add_argument("--outputs", help=f"JSON file of stack outputs (default: ${OUTPUTS_ENV})")
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR),
                        help="where parked stream records are written")
    parser.add_argument("--project-root", default=str(PROJECT_ROOT),
                        help="directory holding the Chalice app.py")
    parser.add_argument("--ready-file", help="created once the pump is polling")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s pump %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # one line per batch, not per client
    if args.outputs:
        outputs = json.loads(Path(args.outputs).read_text(encoding="utf-8"))
    elif os.environ.get(OUTPUTS_ENV):
        outputs = json.loads(os.environ[OUTPUTS_ENV])
    else:
        parser.error(f"give --outputs or set {OUTPUTS_ENV}")
    # The app reads its settings from the environment the stack set for this process.
    sys.path.insert(0, str(Path(args.project_root).resolve()))
    import app as app_module

    stop_event = threading.Event()

    import signal

    def _stop(signum: int, _frame: Any) -> None:
        log.info("pump stopping (signal %d)", signum)
        stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_pump(app_module, outputs, stop_event, ready_file=args.ready_file, state_dir=args.state_dir,
             stream_filter=DISPATCH_PATTERN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
