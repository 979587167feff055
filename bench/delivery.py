"""Webhook delivery benchmarks.

1. Throughput: deliveries per second through `deliver_batch` (what the `deliver` function runs for
   one SQS batch of 10) to a loopback DemoReceiver that verifies every signature, with kept-alive
   connections — once with the DynamoDB adapter on a moto server (every read, claim and outcome is a
   real HTTP call to moto; moto's own request ceiling is measured alongside, since it bounds that
   row) and once with the in-memory store (the HTTP and signing path).
2. Latency from acceptance (the submit answer) to the webhook at the receiver on the local stack
   (`chalice local`, the event pump, moto), p50/p99.

    python -c "from bench import delivery; print(delivery.table(delivery.run()))"
"""

from __future__ import annotations

import statistics
import time
from typing import Any

BATCH = 10


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _throughput(store: str, messages: int) -> dict[str, Any]:
    from chalicelib.config import Settings
    from chalicelib.domain.departments import Department
    from chalicelib.domain.events import DomainEvent
    from chalicelib.services.delivery import deliver_batch
    from chalicelib.services.departments import add_endpoint, register_department
    from chalicelib.services.dispatch import dispatch_event
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.receiver import DemoReceiver

    moto = None
    if store == "moto":
        from chalicelib.bootstrap import build_deps
        from infra.onetrip import moto_stack

        port = free_port()
        moto = moto_stack.start_moto(port)
        outputs = moto_stack.deploy(moto_stack.endpoint_for(port))
        settings = Settings(table_name=outputs["TableName"], delivery_queue_url=outputs["DeliveryQueueUrl"],
                            kms_key_id=outputs["KeyId"], allow_loopback_webhooks=True)
        deps = build_deps(settings, lambda s: moto_stack.client(s, outputs["EndpointUrl"]))
    else:
        from tests.fakes import fake_deps

        deps = fake_deps(allow_loopback_webhooks=True)
        from chalicelib.adapters.webhook_sender import WebhookSender

        deps.webhooks = WebhookSender(allow_loopback=True)
        from chalicelib.services.deps import utc_now

        deps.now = utc_now
    sent: list[str] = []

    class Capture:
        def send(self, batch: list[Any]) -> None:
            sent.extend(m.body for m in batch)

        def retry_later(self, receipt_handle: str, delay_seconds: int) -> None: ...

    real_queue, deps.queue = deps.queue, Capture()
    receiver_port = free_port()
    try:
        register_department(deps, Department(code="bench", name_zh="基准", name_en="Bench"))
        _, secret = add_endpoint(deps, "bench", f"http://127.0.0.1:{receiver_port}/webhooks/bench",
                                 ("onetrip.task.assigned",))
        for i in range(messages):
            dispatch_event(deps, DomainEvent.raised("onetrip.task.assigned", deps.now(), application_id=f"app_{i}",
                                                    subject=f"tasks/tsk_{i}", recipients=["bench"],
                                                    data={"task_id": f"tsk_{i}", "item_code": "YQ-AMR-0001"}))
        deps.queue = real_queue
        with DemoReceiver("bench", [secret], port=receiver_port) as receiver:
            sender = getattr(deps.webhooks, "_get", lambda: deps.webhooks)()
            connections = {"opened": 0}
            original = sender._connection

            def counting(target: Any, ip: str) -> Any:
                connections["opened"] += 1
                return original(target, ip)

            sender._connection = counting
            deliver_batch(deps, sent[:BATCH])  # warm-up: secrets decrypted, connections open
            ceiling = _moto_ceiling(deps) if moto is not None else None
            started = time.perf_counter()
            outcomes: dict[str, int] = {}
            for start in range(BATCH, len(sent), BATCH):
                for result in deliver_batch(deps, sent[start:start + BATCH]):
                    key = getattr(result, "outcome", "error")
                    outcomes[key] = outcomes.get(key, 0) + 1
            elapsed = time.perf_counter() - started
            received = len(receiver.acted)
        measured = len(sent) - BATCH
        row = {"store": store, "messages": measured, "seconds": round(elapsed, 3),
               "deliveries_per_second": round(measured / elapsed, 1), "outcomes": outcomes,
               "received_at_receiver": received, "tcp_connections_opened": connections["opened"]}
        if ceiling is not None:
            row["moto_requests_per_second"] = ceiling
            # A delivered webhook costs 3 table requests (BatchGetItem, claim, outcome): moto's own
            # ceiling bounds this store's rate, whatever the delivery code does.
            row["moto_bound_deliveries_per_second"] = round(ceiling / 3, 1)
        return row
    finally:
        if moto is not None:
            from infra.onetrip.moto_stack import stop_process

            stop_process(moto)


def _moto_ceiling(deps: Any, requests: int = 300) -> float:
    """Table requests per second the moto server answers at all: GetItems of one delivery record from
    ten threads (what a batch runs), through the adapter's own client."""
    from concurrent.futures import ThreadPoolExecutor

    store = deps.store
    page = store.list_deliveries("bench", 1, None)
    webhook_id = page.items[0].webhook_id
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        list(pool.map(lambda _: store.get_delivery(webhook_id), range(requests)))
    return round(requests / (time.perf_counter() - started), 1)


def _latency(cases: int) -> dict[str, Any]:
    """Acceptance → webhook at the department on the local stack, `cases` applications."""
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.receiver import DemoReceiver
    from infra.onetrip.stack import LocalStack
    from tests.e2e.conftest import E2E

    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/yq-amr"
    stack = LocalStack.start(moto_port=None, api_port=None, seed_kwargs={"receiver_urls": {"yq-amr": url}})
    try:
        e2e = E2E(stack, {"yq-amr": port})
        secret = stack.seeded["departments"]["yq-amr"]["secret"]
        with DemoReceiver("yq-amr", [secret], port=port) as receiver:
            latencies = []
            for _ in range(cases):
                app = e2e.complete_amr_application()
                resp = e2e.call("POST", f"/v1/applications/{app['id']}/submit")
                accepted_at = time.time()
                assert resp.status_code == 200, resp.text
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    # One case at a time: its task webhook is the next first delivery to arrive.
                    hits = [h for h in receiver.received
                            if h["event_type"] == "onetrip.task.assigned" and h["status"] == 204]
                    if len(hits) > len(latencies):
                        latencies.append(hits[-1]["time"] - accepted_at)
                        break
                    time.sleep(0.005)
        return {"cases": len(latencies), "p50_ms": round(statistics.median(latencies) * 1000),
                "p99_ms": round(_percentile(latencies, 99) * 1000), "max_ms": round(max(latencies) * 1000)}
    finally:
        stack.stop()


def run(messages: int = 510, cases: int = 20) -> dict[str, Any]:
    return {"throughput": [_throughput("moto", messages), _throughput("memory", messages)],
            "acceptance_to_webhook": _latency(cases)}


def table(result: dict[str, Any]) -> str:
    lines = ["webhook delivery", f"{'deliver batches → loopback receiver':44} {'msgs':>5} {'per s':>8} "
             f"{'TCP conns':>9}  outcomes"]
    for row in result["throughput"]:
        lines.append(f"  store: {row['store']:36} {row['messages']:>5} {row['deliveries_per_second']:>8} "
                     f"{row['tcp_connections_opened']:>9}  {row['outcomes']}")
        if "moto_requests_per_second" in row:
            lines.append(f"    moto answers at most {row['moto_requests_per_second']} table requests/s here: "
                         f"≤ {row['moto_bound_deliveries_per_second']} deliveries/s at 3 requests each")
    lat = result["acceptance_to_webhook"]
    lines.append(f"acceptance → webhook on the local stack ({lat['cases']} cases): p50 {lat['p50_ms']} ms, "
                 f"p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms")
    return "\n".join(lines)
