"""AWS requests per journey: one complete case through the real handlers on moto, every AWS call counted.

The API runs in-process behind `chalice.test.Client` (with the real authorizer and real tokens), the
event handlers are fed by the local event pump's own code (`infra.onetrip.pump.EventPump`, driven
step by step instead of by its threads), and departments are demo receivers on loopback. Each call is
tagged with the step of the journey and the function invocation that made it, so the result says
both "requests per step" (compared with the design's minimum, written down below) and "requests per
function invocation". Handler durations are measured too (wall time, time inside AWS calls, time
waiting for webhooks): the cost model is built from them.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import pstats
import resource
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from bench.awscalls import Call, CallRecorder
from bench.motostack import MotoStack
from bench.samples import PDF, SAMPLE, answers_for

CITIZEN = "citizen-verified"

# The journeys measured: the seeded joint item (N=3 uploads, k=2 departments), the seeded single item
# (N=3, k=1), and a bench-only item published into the bench's own moto (N=4, k=3) to check the formula.
BENCH_ITEM_CODE = "BENCH-K3-0001"
JOURNEYS = ("YQ-RE-0010", "YQ-AMR-0001", BENCH_ITEM_CODE)


# -- the design's minimum, per step, with the reason ---------------------------------------------------
def minimum_per_step(n: int, k: int) -> list[dict[str, Any]]:
    """The fewest AWS requests each step needs under the design (conditional writes on a version read
    first, transactions for multi-item changes, immutable catalogue versions, at-least-once delivery)."""
    rows = [
        ("draft", 2, "GetItem of the catalogue entry (pins its latest version, lists the materials); "
                     "conditional PutItem of the draft"),
        ("upload tickets", 2 * n, f"{n} × (GetItem of the application: owner, state, version; conditional "
                                  "PutItem of the slot). The pinned catalogue version is immutable: no re-read; "
                                  "the presigned POST is signed locally (0 requests)"),
        ("verification", 4 * n, f"{n} × (GetItem of the application; GetObject of the upload; CopyObject "
                                "sealing the judged bytes under verified/ (If-Match), so a reused upload URL "
                                "cannot change them; conditional write of the verdict, its event and the "
                                "event's audit entry in one transaction)"),
        ("submit", 3, f"GetItem of the application; GetItem of the verified identity; one TransactWriteItems "
                      f"(case + {k} task(s) + {k} outbox event(s))"),
        ("fan-out task.assigned", k + 2, f"{k} × Query of a department's endpoints (once per stream batch); "
                                         "one SendMessageBatch for up to 10 messages; one TransactWriteItems "
                                         "recording the batch's projections (statistics increments and the "
                                         "applicant's notifications, each once per event id). The audit "
                                         "entries cost nothing here: they are written with their events"),
        ("deliveries task.assigned", 3 * k, f"{k} × (one BatchGetItem of the delivery state (idempotency), "
                                            "the endpoint (URL, state, secret) and its circuit breaker; "
                                            "conditional PutItem claiming the attempt before the POST, so a "
                                            "duplicate message sends nothing; PutItem of the outcome, the "
                                            "attempt's log entry folded into the record). The secret's KMS "
                                            "Decrypt is cached by a warm container"),
        ("department reads task", 3 * k, f"{k} × (GetItem of the task: authorization; GetItem of the "
                                         "application: materials and case; PutItem of the access record in "
                                         "the owner's access log: who read which materials). Presigned GETs "
                                         "cost 0"),
        ("decisions", 3 * k, f"{k} × (GetItem of the task; GetItem of the application; one "
                             "TransactWriteItems of both, plus the event on the last one)"),
        ("fan-out case.decided", k + 2, f"{k} × Query of endpoints; one SendMessageBatch; one "
                                        "TransactWriteItems of the batch's projections"),
        ("deliveries case.decided", 3 * k, f"{k} × (BatchGetItem of state, endpoint and circuit; claim; "
                                           "outcome)"),
        ("result", 1, "GetItem of the application"),
    ]
    return [{"step": s, "minimum": m, "reason": r} for s, m, r in rows]


@dataclass
class Invocation:
    function: str
    step: str
    wall_ms: float
    aws_ms: float  # summed over the invocation's AWS calls (they may overlap: `deliver` runs a batch in threads)
    webhook_ms: float
    calls: int
    log_bytes: int
    services: dict[str, int] = field(default_factory=dict)
    cpu_ms: float = 0.0  # CPU of this process and its reaped children (the verifier's sandbox) meanwhile
    records: int = 1
    webhooks: int = 0

    @property
    def own_ms(self) -> float:
        return self.cpu_ms


@dataclass
class JourneyRecord:
    item: str
    n: int
    k: int
    calls: list[Call] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    client_requests: Counter[str] = field(default_factory=Counter)  # S3 PUT/GET by clients, API requests
    event_source: Counter[str] = field(default_factory=Counter)  # batches the Lambda pollers would fetch
    s3_notifications: int = 0


def _cpu_ms() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.process_time() + children.ru_utime + children.ru_stime) * 1000


class _CountingStream(io.TextIOBase):
    """Where the app's log lines go during the bench: counted (CloudWatch Logs bills ingestion), not shown."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


class JourneyBench:
    def __init__(self, stack: MotoStack, receivers: dict[str, Any], profile: bool = False) -> None:
        from chalice.test import Client

        import app as app_module
        from chalicelib import bootstrap
        from chalicelib.adapters import aws
        from chalicelib.entrypoints import auth
        from chalicelib.observability import logger
        from infra.onetrip.pump import EventPump
        from infra.onetrip.stream_filter import DISPATCH_PATTERN

        self.stack = stack
        self.receivers = receivers
        self.recorder = CallRecorder()
        for service in ("dynamodb", "s3", "sqs", "kms"):
            self.recorder.attach(aws.client(service))
        self.deps = bootstrap.deps()
        self._webhook_ms = 0.0
        self._webhooks = 0
        send = self.deps.webhooks.send

        def timed_send(url: str, headers: dict[str, str], body: bytes) -> Any:
            t0 = time.perf_counter()
            try:
                return send(url, headers, body)
            finally:
                self._webhook_ms += (time.perf_counter() - t0) * 1000
                self._webhooks += 1

        self.deps.webhooks.send = timed_send  # type: ignore[method-assign]
        self._auth_ms: list[float] = []
        self._auth_module = auth
        self._verifier = auth.verifier

        def timed_verifier() -> Any:
            verifier = self._verifier()
            bench = self

            class _Timed:
                def verify(self, token: str) -> Any:
                    t0 = time.perf_counter()
                    try:
                        return verifier.verify(token)
                    finally:
                        bench._auth_ms.append((time.perf_counter() - t0) * 1000)

            return _Timed()

        auth.verifier = timed_verifier  # type: ignore[assignment]
        # Log lines (the Logger's handler) and metrics (EMF, printed to stdout) are both CloudWatch Logs.
        self.logs = _CountingStream()
        self._log_handler = logger.registered_handler
        self._log_stream = self._log_handler.setStream(self.logs)  # type: ignore[attr-defined]
        self._stdout = contextlib.redirect_stdout(self.logs)
        self._stdout.__enter__()
        self.client = Client(app_module.app, stage_name="local")
        handlers = {name: self._wrap(name, fn) for name, fn in app_module.app.handler_map.items()}
        self._state_dir = tempfile.TemporaryDirectory(prefix="onetrip-bench-")
        self.pump = EventPump(handlers, stack.outputs, endpoint_url=stack.outputs["EndpointUrl"],
                              state_dir=self._state_dir.name, wait_seconds=0, stream_filter=DISPATCH_PATTERN)
        self.pump._discover_shards(initial=True)  # the pump's own start() would also spawn its threads
        self.record: JourneyRecord | None = None
        self.profile = cProfile.Profile() if profile else None

    def close(self) -> None:
        self._auth_module.verifier = self._verifier  # type: ignore[assignment]
        self._log_handler.setStream(self._log_stream)  # type: ignore[attr-defined]
        self._stdout.__exit__(None, None, None)
        self._state_dir.cleanup()

    # -- measuring one invocation --------------------------------------------------------------------
    @contextmanager
    def _invocation(self, function: str, records: int = 1) -> Iterator[None]:
        mark, webhook0, sends0, log0 = self.recorder.mark(), self._webhook_ms, self._webhooks, self.logs.bytes
        self.recorder.function = function
        cpu0 = _cpu_ms()
        t0 = time.perf_counter()
        if self.profile is not None:
            self.profile.enable()
        try:
            yield
        finally:
            if self.profile is not None:
                self.profile.disable()
            wall = (time.perf_counter() - t0) * 1000
            cpu = _cpu_ms() - cpu0
            calls = self.recorder.since(mark)
            if self.record is not None:
                self.record.invocations.append(Invocation(
                    function, self.recorder.step, wall, sum(c.ms for c in calls), self._webhook_ms - webhook0,
                    len(calls), self.logs.bytes - log0, dict(Counter(c.service for c in calls)), cpu, records,
                    self._webhooks - sends0))
            self.recorder.function = "-"

    def _wrap(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(event: dict[str, Any], context: Any) -> Any:
            if self.record is not None:
                source = {"verify_material": "sqs", "deliver": "sqs", "dispatch": "stream"}.get(name, name)
                self.record.event_source[f"{source}:{name}"] += 1
            with self._invocation(name, len(event.get("Records", [])) or 1):
                return handler(event, context)

        return run

    def api(self, method: str, path: str, route: str, user: str, body: Any = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.stack.token(user)}", "Content-Type": "application/json"}
        auth_before = len(self._auth_ms)
        with self._invocation(f"api {method} {route}"):
            resp = self.client.http.request(method, path, headers=headers,
                                             body=json.dumps(body).encode() if body is not None else b"")
        if self.record is not None:
            self.record.client_requests["api_gateway"] += 1
            # The authorizer is its own Lambda function (TTL 0: invoked on every request): its time is
            # taken out of the route's and booked as its own invocation.
            route = self.record.invocations[-1]
            for ms in self._auth_ms[auth_before:]:
                route.wall_ms -= ms
                route.cpu_ms = max(0.0, route.cpu_ms - ms)
                self.record.invocations.append(Invocation("authorizer", self.recorder.step, ms, 0.0, 0.0, 0, 0,
                                                          {}, ms))
        data = json.loads(resp.body) if resp.body else None
        if resp.status_code != expect:
            raise AssertionError(f"{method} {path}: {resp.status_code} {data}")
        return data

    def drain(self) -> None:
        """Run the pump until the queues and the stream are quiet (what Lambda's pollers would do)."""
        idle = 0
        for _ in range(200):
            handled = self.pump.poll_stream() + self.pump.poll_queue("upload") + self.pump.poll_queue("delivery")
            idle = idle + 1 if handled == 0 else 0
            if idle >= 2:
                return
        raise RuntimeError("the event pump did not go quiet")

    def step(self, name: str) -> None:
        self.recorder.step = name

    # -- one journey ---------------------------------------------------------------------------------
    def run(self, item_code: str) -> JourneyRecord:
        guide = self.api("GET", f"/v1/items/{item_code}", "/v1/items/{code}", CITIZEN)  # setup, not counted
        materials = [m for m in guide["materials"] if m["required"]]
        departments = guide["departments"]
        record = self.record = JourneyRecord(item_code, len(materials), len(departments))
        mark = self.recorder.mark()
        try:
            self._journey(record, materials, departments, answers_for(guide))
        finally:
            self.record = None
            record.calls = self.recorder.since(mark)
        return record

    def _journey(self, record: JourneyRecord, materials: list[dict[str, Any]], departments: list[str],
                 answers: dict[str, Any]) -> None:
        self.step("draft")
        body: dict[str, Any] = {"item_code": record.item, **({"answers": answers} if answers else {})}
        draft = self.api("POST", "/v1/applications", "/v1/applications", CITIZEN, body, expect=201)
        app_id = draft["id"]
        self.drain()
        assert {m["code"] for m in draft["materials"] if m.get("required")} == {m["code"] for m in materials}, draft
        for material in materials:
            content_type = "application/pdf" if "application/pdf" in material["accepted_content_types"] else \
                material["accepted_content_types"][0]
            self.step("upload tickets")
            ticket = self.api("POST", f"/v1/applications/{app_id}/materials/{material['code']}/uploads",
                              "/v1/applications/{id}/materials/{code}/uploads", CITIZEN,
                              {"content_type": content_type}, expect=201)
            self.drain()
            self.step("verification")
            resp = requests.post(ticket["url"], data=ticket["fields"],
                                 files={"file": ("f", SAMPLE.get(content_type, PDF), content_type)}, timeout=10)
            assert resp.status_code in (200, 204), resp.text
            record.client_requests["s3_put"] += 1
            record.s3_notifications += 1
            self.drain()
        self.step("submit")
        case = self.api("POST", f"/v1/applications/{app_id}/submit", "/v1/applications/{id}/submit", CITIZEN)
        assert case["status"] == "accepted", case
        self.step("fan-out task.assigned")
        self.drain()  # dispatch + deliver run here; the deliver calls are re-labelled below
        tasks = {t["department"]: t["task_id"] for t in case["tasks"]}
        for department in departments:
            self.step("department reads task")
            detail = self.api("GET", f"/v1/tasks/{tasks[department]}", "/v1/tasks/{id}", f"dept-{department}")
            for m in detail["materials"]:
                assert requests.get(m["download_url"], timeout=10).status_code == 200
                record.client_requests["s3_get"] += 1
            self.step("decisions")
            self.api("POST", f"/v1/tasks/{tasks[department]}/decision", "/v1/tasks/{id}/decision",
                     f"dept-{department}", {"outcome": "approved"})
            self.step("fan-out case.decided")
            self.drain()
        self.step("result")
        done = self.api("GET", f"/v1/applications/{app_id}", "/v1/applications/{id}", CITIZEN)
        assert done["status"] == "decided" and done["outcome"] == "approved", done
        for receiver in self.receivers.values():
            receiver.wait_idle(5)


def _relabel(record: JourneyRecord) -> None:
    """Deliveries happen inside the fan-out steps' drains; give them their own step rows."""
    for items in (record.calls, record.invocations):
        for x in items:
            if x.function == "deliver" and x.step.startswith("fan-out "):
                x.step = "deliveries " + x.step.removeprefix("fan-out ")


def summarize(record: JourneyRecord) -> dict[str, Any]:
    _relabel(record)
    minimum = minimum_per_step(record.n, record.k)
    steps = []
    for row in minimum:
        calls = [c for c in record.calls if c.step == row["step"]]
        steps.append({**row, "measured": len(calls), "operations": CallRecorder.by_operation(calls),
                      "billing_units": CallRecorder.units(calls)})
    measured = len(record.calls)
    floor = sum(r["minimum"] for r in minimum)
    per_function: dict[str, dict[str, Any]] = {}
    grouped: dict[str, list[Invocation]] = defaultdict(list)
    for inv in record.invocations:
        grouped[inv.function].append(inv)
    for function, invs in sorted(grouped.items()):
        per_function[function] = {
            "invocations": len(invs),
            "aws_calls": sum(i.calls for i in invs),
            "calls_per_invocation": round(sum(i.calls for i in invs) / len(invs), 2),
            "wall_ms_mean": round(statistics.fmean(i.wall_ms for i in invs), 2),
            "aws_ms_mean": round(statistics.fmean(i.aws_ms for i in invs), 2),
            "cpu_ms_mean": round(statistics.fmean(i.cpu_ms for i in invs), 2),
            "webhook_ms_mean": round(statistics.fmean(i.webhook_ms for i in invs), 2),
            "log_bytes": sum(i.log_bytes for i in invs),
        }
    return {
        "item": record.item, "uploads_n": record.n, "departments_k": record.k,
        "aws_requests": measured, "minimum": floor, "ratio": round(measured / floor, 3),
        "minimum_formula": "10 + 6·N + 14·k",
        "by_operation": CallRecorder.by_operation(record.calls),
        "billing_units": CallRecorder.units(record.calls),
        "steps": steps,
        "functions": per_function,
        "lambda_invocations": len(record.invocations),
        "client_requests": dict(record.client_requests),
        "event_source_batches": dict(record.event_source),
        "s3_notifications": record.s3_notifications,
        "invocations": [asdict(i) for i in record.invocations],
    }


def publish_bench_item(stack: MotoStack) -> None:
    """A joint item of three departments and four required materials, in the bench's own moto only."""
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.domain.catalogue import ServiceItem
    from chalicelib.services.catalogue import publish_item
    from infra.onetrip.moto_stack import client
    from infra.onetrip.seed import load_catalogue

    raw = next(i for i in load_catalogue()["items"] if i["code"] == "YQ-RE-0010")
    materials = [m for m in raw["materials"] if m.get("required")]
    materials.append({**materials[0], "code": "bench-extra", "name_zh": "补充材料", "name_en": "Extra material"})
    item = {**raw, "code": BENCH_ITEM_CODE, "base_code": "330382-QT-9999", "joint_departments": ["yq-tax", "yq-amr"],
            "materials": materials}
    deps = build_deps(Settings.from_environ(), lambda service: client(service, stack.outputs["EndpointUrl"]))
    publish_item(deps.store, ServiceItem.model_validate(item))


def profile_split(profile: cProfile.Profile, top: int = 12) -> list[dict[str, Any]]:
    """The functions where the handlers spent their own time (tottime), waiting on sockets excluded."""
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in ("<method 'recv_into' of '_socket.socket' objects>", "<method 'acquire' of '_thread.lock' objects>",
                    "<method 'poll' of 'select.poll' objects>"):
            continue
        where = filename.split("site-packages/")[-1] if "site-packages" in filename else filename.split("/main/")[-1]
        rows.append({"function": f"{where}:{line}({name})", "calls": calls, "tottime_ms": round(tottime * 1000, 1)})
    rows.sort(key=lambda r: -r["tottime_ms"])
    package: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _calls, tottime, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = "socket wait (moto round trips)" if "socket" in _name else _package(filename)
        package[key] += tottime * 1000
    return [{"by_package_ms": {k: round(v, 1) for k, v in package.most_common(10)}}, *rows[:top]]


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if "/chalicelib/" in filename or filename.endswith("app.py"):
        return "onetrip (chalicelib)"
    if "/bench/" in filename or "/infra/" in filename:
        return "bench harness"
    return "python stdlib"


@contextmanager
def journey_bench() -> Iterator[JourneyBench]:
    """A journey bench on its own moto stack, with the bench item published and every department's demo
    receiver listening on loopback; all of it stopped on exit."""
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.receiver import DemoReceiver
    from infra.onetrip.seed import load_catalogue

    ports = {d["code"]: free_port() for d in load_catalogue()["departments"]}
    urls = {code: f"http://127.0.0.1:{port}/webhooks/{code}" for code, port in ports.items()}
    with MotoStack(urls) as stack:
        publish_bench_item(stack)
        receivers = {code: DemoReceiver(code, [stack.seeded["departments"][code]["secret"]], port=port).start()
                     for code, port in ports.items()}
        bench = JourneyBench(stack, receivers)
        try:
            yield bench
        finally:
            bench.close()
            for receiver in receivers.values():
                receiver.stop()


def run(repeats: int = 2, profile: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    with journey_bench() as bench:
        cold = summarize(bench.run(JOURNEYS[0]))  # first journey: cold clients, JWKS and KMS caches
        results: dict[str, list[dict[str, Any]]] = {code: [] for code in JOURNEYS}
        for _ in range(repeats):
            for code in JOURNEYS:
                results[code].append(summarize(bench.run(code)))
        bench.profile = cProfile.Profile() if profile else None
        profiled = summarize(bench.run(JOURNEYS[0])) if profile else None
        hotspots = profile_split(bench.profile) if bench.profile is not None else []
    warm = {code: rows[-1] for code, rows in results.items()}
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "repeats": repeats,
        "journeys": warm,
        "first_journey_extra_requests": cold["aws_requests"] - warm[JOURNEYS[0]]["aws_requests"],
        "first_journey_by_operation": cold["by_operation"],
        "all_runs": {code: [{k: r[k] for k in ("aws_requests", "ratio", "lambda_invocations")} for r in rows]
                     for code, rows in results.items()},
        "profile": {"journey": JOURNEYS[0], "functions": profiled["functions"] if profiled else {},
                    "hotspots": hotspots},
        "goal_ratio": 1.2,
    }


def table(result: dict[str, Any]) -> str:
    lines = ["AWS requests per journey (real handlers on moto; minimum = the design's, per step)",
             f"{'item':<15} {'N':>2} {'k':>2} {'requests':>9} {'minimum':>8} {'ratio':>6} {'Lambda inv.':>12}"]
    for code, r in result["journeys"].items():
        lines.append(f"{code:<15} {r['uploads_n']:>2} {r['departments_k']:>2} {r['aws_requests']:>9} "
                     f"{r['minimum']:>8} {r['ratio']:>6} {r['lambda_invocations']:>12}")
    main = result["journeys"][JOURNEYS[0]]
    lines.append(f"per step ({main['item']}): " + ", ".join(
        f"{s['step']} {s['measured']}/{s['minimum']}" for s in main["steps"]))
    lines.append("calls per invocation: " + ", ".join(
        f"{f} {v['calls_per_invocation']}" for f, v in main["functions"].items() if not f.startswith("api ")))
    lines.append(f"goal: ratio ≤ {result['goal_ratio']}; first journey of a fresh process adds "
                 f"{result['first_journey_extra_requests']} (KMS Decrypt of webhook secrets, then cached)")
    return "\n".join(lines)
