"""End-to-end fixtures: ONE local stack for the whole directory (moto, the stateful template, the
seed, `chalice local` and the event pump, all on 127.0.0.1 free ports), and per-test department
receivers.

The department endpoints are registered once, at seed time, on ports reserved here; each test that
needs departments opens fresh `DemoReceiver`s on those very ports (with its own `fail_first`), so
one test's requests, outage budget and seen webhook-ids never leak into another's. Before a test's
receivers close, the delivery queue is drained, so no retry of its webhooks reaches the next test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from chalicelib.adapters.records import doc
from infra.onetrip import samples
from infra.onetrip.department_desk import DepartmentDesk
from infra.onetrip.moto_stack import client, free_port
from infra.onetrip.receiver import DemoReceiver
from infra.onetrip.stack import LocalStack
from tests.waiting import wait_for as _wait_for

DEPARTMENTS = ("yq-amr", "yq-realestate", "yq-tax")
CITIZEN = "citizen-verified"
OTHER_CITIZEN = "citizen-unverified"

# Real files: the verifier parses what arrives (built by infra/onetrip/samples.py).
PDF = samples.pdf()
PNG = samples.png()

# The single-department item and what makes it complete: (material, bytes, declared type).
AMR_ITEM = "YQ-AMR-0001"
AMR_UPLOADS = (
    ("application-form", PDF, "application/pdf"),
    ("operator-id", PNG, "image/png"),
    ("premises-proof", PDF, "application/pdf"),
)
WAIT = 30.0


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, interval: float = 0.1,
             what: str = "condition") -> Any:
    return _wait_for(predicate, timeout, interval, what)


class E2E:
    """The shared stack plus the HTTP and AWS helpers every test uses."""

    def __init__(self, stack: LocalStack, receiver_ports: dict[str, int]) -> None:
        self.stack = stack
        self.api = stack.api_url
        self.outputs = stack.outputs
        self.receiver_ports = receiver_ports

    # -- HTTP, as a client does ------------------------------------------------------------------
    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token(username)}"}

    def call(self, method: str, path: str, username: str | None = CITIZEN, **kwargs: Any) -> requests.Response:
        headers = {**(self.headers(username) if username else {}), **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.api}{path}", headers=headers, timeout=15, **kwargs)

    def ok(self, method: str, path: str, expect: int = 200, username: str | None = CITIZEN,
           **kwargs: Any) -> dict[str, Any]:
        resp = self.call(method, path, username, **kwargs)
        assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def application(self, app_id: str, username: str = CITIZEN) -> dict[str, Any]:
        return self.ok("GET", f"/v1/applications/{app_id}", username=username)

    def slot(self, app_id: str, material: str) -> dict[str, Any]:
        return next(m for m in self.application(app_id)["materials"] if m["code"] == material)

    def draft(self, item: str = AMR_ITEM, username: str = CITIZEN) -> dict[str, Any]:
        return self.ok("POST", "/v1/applications", 201, username, json={"item_code": item})

    def upload(self, app_id: str, material: str, data: bytes, content_type: str,
               username: str = CITIZEN) -> dict[str, Any]:
        """Ticket → real multipart POST to moto's S3 → wait for the pump-driven verdict."""
        ticket = self.ok("POST", f"/v1/applications/{app_id}/materials/{material}/uploads", 201, username,
                         json={"content_type": content_type, "file_name": f"{material}.bin"})
        resp = requests.post(ticket["url"], data=ticket["fields"],
                             files={"file": ("f", data, content_type)}, timeout=15)
        assert resp.status_code in (200, 204), resp.text

        def verdict() -> dict[str, Any] | None:
            slot = next(m for m in self.application(app_id, username)["materials"] if m["code"] == material)
            done = slot["upload_id"] == ticket["upload_id"] and slot["status"] in ("verified", "rejected")
            return slot if done else None

        wait_for(verdict, what=f"the verdict on {material}")
        return ticket

    def complete_amr_application(self) -> dict[str, Any]:
        app = self.draft(AMR_ITEM)
        for material, data, ctype in AMR_UPLOADS:
            self.upload(app["id"], material, data, ctype)
            assert self.slot(app["id"], material)["status"] == "verified"
        return app

    def wait_decided(self, app_id: str) -> dict[str, Any]:
        return wait_for(lambda: (a := self.application(app_id))["status"] == "decided" and a,
                        what=f"{app_id} to be decided")

    # -- AWS (moto), as an operator looks ----------------------------------------------------------
    def aws(self, service: str) -> Any:
        return client(service, self.outputs["EndpointUrl"])

    def queue_depth(self, output: str) -> int:
        attrs = self.aws("sqs").get_queue_attributes(
            QueueUrl=self.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(v) for v in attrs.values())

    def wait_queue_empty(self, output: str, timeout: float = WAIT) -> None:
        """Everything sent to the queue has been received AND deleted by the pump (handled OK)."""
        wait_for(lambda: self.queue_depth(output) == 0, timeout, 0.1, f"{output} to drain")

    def table_items(self, pk: str, sk_prefix: str = "") -> list[dict[str, Any]]:
        condition, values = "pk = :p", {":p": {"S": pk}}
        if sk_prefix:
            condition, values = condition + " AND begins_with(sk, :s)", {**values, ":s": {"S": sk_prefix}}
        resp = self.aws("dynamodb").query(TableName=self.outputs["TableName"], ConsistentRead=True,
                                          KeyConditionExpression=condition, ExpressionAttributeValues=values)
        return [{**item, "doc": doc(item)} for item in resp["Items"]]

    def delivery_record(self, webhook_id: str) -> dict[str, Any] | None:
        items = self.table_items(f"DLV#{webhook_id}")
        return items[0]["doc"] if items else None

    def pump_log(self) -> str:
        return self.stack.log_path("pump").read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def receiver_ports() -> dict[str, int]:
    return {department: free_port() for department in DEPARTMENTS}


@pytest.fixture(scope="session")
def e2e(receiver_ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    urls = {d: f"http://127.0.0.1:{port}/webhooks/{d}" for d, port in receiver_ports.items()}
    state_dir = tmp_path_factory.mktemp("onetrip-e2e")  # logs and ready files stay out of the checkout
    with LocalStack.start(moto_port=free_port(), api_port=free_port(), state_dir=state_dir,
                          seed_kwargs={"receiver_urls": urls}) as stack:
        assert set(stack.seeded["departments"]) == set(DEPARTMENTS)
        yield E2E(stack, receiver_ports)
        dead = stack.dead_processes()
    assert not dead, f"stack processes died during the run: {dead}"


@pytest.fixture
def stack(e2e: E2E) -> LocalStack:
    return e2e.stack


class Departments:
    """Opens fresh receivers (+ their desks) on the ports the seed registered."""

    def __init__(self, e2e: E2E) -> None:
        self.e2e = e2e
        self.receivers: dict[str, DemoReceiver] = {}
        self.desks: dict[str, DepartmentDesk] = {}

    def open(self, *departments: str, fail_first: dict[str, int] | None = None,
             ) -> tuple[dict[str, DemoReceiver], dict[str, DepartmentDesk]]:
        stack = self.e2e.stack
        receivers, desks = {}, {}
        for department in departments:
            secret = stack.seeded["departments"][department]["secret"]
            desk = DepartmentDesk(department, stack.api_url, lambda d=department: stack.token(f"dept-{d}"))
            receiver = DemoReceiver(department, [secret], decide=desk,
                                    fail_first=(fail_first or {}).get(department, 0),
                                    port=self.e2e.receiver_ports[department]).start()
            assert receiver.url == stack.seeded["departments"][department]["url"]
            receivers[department], desks[department] = receiver, desk
        self.receivers.update(receivers)
        self.desks.update(desks)
        return receivers, desks

    def close(self) -> None:
        try:
            if self.receivers:
                self.e2e.wait_queue_empty("DeliveryQueueUrl")
                for receiver in self.receivers.values():
                    receiver.wait_idle(5)
        finally:
            for receiver in self.receivers.values():
                receiver.stop()
        errors = {d: r.decide_errors for d, r in self.receivers.items() if r.decide_errors}
        assert not errors, f"department desks failed: {errors}"


@pytest.fixture
def departments(e2e: E2E) -> Iterator[Departments]:
    opened = Departments(e2e)
    try:
        yield opened
    finally:
        opened.close()
