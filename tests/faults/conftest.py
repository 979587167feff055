"""Fault injection against real HTTP receivers on loopback.

One moto server with the real template (DynamoDB, SQS with its DLQ, KMS) for the directory; per test
a fresh department, `DemoReceiver`s with scripted faults, and the event pump (in-process, or as a
subprocess that a test kills) driving the app's own `deliver` and `sweep_due_deliveries` handlers.
The clock is compressed: the backoff schedule is 1, 2, 3 … seconds, SQS may hold waits up to 2 s
(longer ones go through the due-time store and the sweep), the HTTP timeout is 1 s.

Each test reports (scenario, events sent, received, acted on) into a table printed at the end.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from chalicelib.domain.events import DomainEvent
from chalicelib.services.departments import add_endpoint, register_department
from chalicelib.services.dispatch import dispatch_event
from infra.onetrip.moto_stack import client, endpoint_for, free_port, start_moto, stop_process
from tests.waiting import wait_for as _wait_for

BACKOFF = (1, 2, 3, 3, 3)
JITTER = 0.1
SETTINGS = {"delivery_backoff": BACKOFF, "delivery_jitter": JITTER, "delivery_timeout_seconds": 1.0,
            "delivery_max_queue_delay": 2, "breaker_threshold": 3, "breaker_cooldown_seconds": 2,
            "delivery_claim_lease_seconds": 3}
TABLE: list[tuple[str, int, int, int, str]] = []


def settings_for(outputs: dict[str, str], **overrides: Any) -> Settings:
    return Settings(stage="local", table_name=outputs["TableName"], delivery_queue_url=outputs["DeliveryQueueUrl"],
                    kms_key_id=outputs["KeyId"], allow_loopback_webhooks=True, **{**SETTINGS, **overrides})


def env_for(outputs: dict[str, str]) -> dict[str, str]:
    """The same settings as environment variables (for a pump subprocess)."""
    from infra.onetrip.stack import app_env

    env = app_env(outputs, api_port=0)
    env.update({"ONETRIP_DELIVERY_BACKOFF": ",".join(map(str, BACKOFF)), "ONETRIP_DELIVERY_JITTER": str(JITTER),
                "ONETRIP_DELIVERY_TIMEOUT": "1", "ONETRIP_DELIVERY_MAX_QUEUE_DELAY": "2",
                "ONETRIP_BREAKER_THRESHOLD": "3", "ONETRIP_BREAKER_COOLDOWN": "2",
                "ONETRIP_DELIVERY_CLAIM_LEASE": "3", "ONETRIP_PUMP_SCHEDULE_SECONDS": "0.5"})
    return env


@pytest.fixture(scope="session")
def outputs() -> Iterator[dict[str, str]]:
    from infra.onetrip import moto_stack

    port = free_port()
    proc = start_moto(port)
    try:
        yield moto_stack.deploy(endpoint_for(port))
    finally:
        stop_process(proc)


class Harness:
    """A department with endpoints, the app wired to moto, and a pump to run it."""

    def __init__(self, outputs: dict[str, str], **overrides: Any) -> None:
        self.outputs = outputs
        self.deps = build_deps(settings_for(outputs, **overrides), lambda s: client(s, outputs["EndpointUrl"]))
        self.sqs = client("sqs", outputs["EndpointUrl"])
        self.department = f"dept-{uuid.uuid4().hex[:8]}"
        from chalicelib.domain.departments import Department

        register_department(self.deps, Department(code=self.department, name_zh="测试", name_en="Test"))
        self.sent_at: dict[str, float] = {}
        self._stop: threading.Event | None = None
        self._pump: Any = None

    def endpoint(self, url: str, **kwargs: Any) -> tuple[str, str]:
        endpoint, secret = add_endpoint(self.deps, self.department, url, ("onetrip.task.assigned",), **kwargs)
        return endpoint.id, secret

    def send_events(self, count: int) -> list[str]:
        """`count` task events to the department; returns their webhook ids (one per endpoint)."""
        before = {m for m in self.sent_at}
        for i in range(count):
            event = DomainEvent.raised("onetrip.task.assigned", self.deps.now(), application_id=f"app_{i}",
                                       subject=f"tasks/tsk_{i}", recipients=[self.department],
                                       data={"task_id": f"tsk_{i}", "item_code": "YQ-AMR-0001"})
            queue = _Recording(self.deps.queue)
            self.deps.queue, original = queue, self.deps.queue
            try:
                dispatch_event(self.deps, event)
            finally:
                self.deps.queue = original
            for message in queue.ids:
                self.sent_at[message] = time.time()
        return [m for m in self.sent_at if m not in before]

    def start_pump(self) -> None:
        from app import app
        from infra.onetrip.pump import EventPump

        bootstrap.override(self.deps)
        self._stop = threading.Event()
        self._pump = EventPump(app, self.outputs, sources=("delivery", "schedule"), wait_seconds=1,
                               schedule_seconds=0.5)
        self._pump.start(self._stop)

    def stop_pump(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._pump.join(timeout=10)
            self._stop = None
        bootstrap.override(None, None)

    def clean(self) -> None:
        """Nothing of this test may reach the next: purge the queue and the due-time store."""
        self.stop_pump()
        url = self.outputs["DeliveryQueueUrl"]
        while True:  # drain (PurgeQueue is allowed once a minute only)
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                           AttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        far = self.deps.now().replace(year=self.deps.now().year + 1)
        for shard in range(4):
            for token, _ in self.deps.store.due_messages(shard, far, 1000):
                self.deps.store.delete_due(shard, token)


class _Recording:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ids: list[str] = []

    def send(self, messages: list[Any]) -> None:
        self.inner.send(messages)
        self.ids += [m.id for m in messages]

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.inner.retry_later(receipt_handle, delay_seconds)


@pytest.fixture
def harness(outputs: dict[str, str]) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        made.append(Harness(outputs, **overrides))
        return made[-1]

    yield make
    for h in made:
        h.clean()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return _wait_for(predicate, timeout, 0.05, what)


def report(scenario: str, sent: int, received: int, acted: int, note: str = "") -> None:
    TABLE.append((scenario, sent, received, acted, note))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TABLE:
        return
    terminalreporter.section("fault injection: events sent / requests received / acted on")
    terminalreporter.write_line(f"{'scenario':44} {'sent':>5} {'received':>9} {'acted':>6}  note")
    for scenario, sent, received, acted, note in TABLE:
        terminalreporter.write_line(f"{scenario:44} {sent:>5} {received:>9} {acted:>6}  {note}")
