"""Cold start: what every function pays at init (import of `app.py`, peak memory) and the time to the
first response of each function kind, in fresh interpreters, next to the floor of the mandated stack
(bench/floor_app: one Chalice app importing boto3, pydantic and a Powertools Logger).

Each probe is a new Python process, as each Lambda sandbox is: it imports the app (timed), then hands
one real event to one handler, exactly as Lambda would, against a moto server the parent started and
filled (so the first response includes building the boto3 clients, fetching the JWKS, the first KMS
Decrypt: what a cold sandbox really does). The time spent inside AWS round trips (to moto here) is
measured separately, so "our" part of the first response can be told from the emulator's. Subjects
are interleaved run by run, so the shared machine's noise hits all alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from bench.samples import PDF, answers_for

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
FLOOR = ROOT / "bench" / "floor_app"
RUNS = 15  # medians of 15 interleaved probes: 9 moved the ratio by ±0.1 between runs on this shared machine
CITIZEN = "citizen-verified"
DEPARTMENT = "yq-amr"

# Runs in a fresh interpreter: time `import app`, then one handler with one event. After the import,
# botocore's client class is wrapped to time every AWS call; when the app has not imported botocore yet
# (its clients are lazy), the wrapping waits for the app's own client factory, so the first response
# still pays for importing boto3 and building the clients, as a cold sandbox does.
PROBE = r"""
import json, os, sys, time
# As in a Lambda sandbox: the code directory and the packages directly on sys.path, no site hooks
# (the interpreter runs with -S, so no .pth file — e.g. a development editable-install finder — runs).
sys.path.insert(0, os.getcwd())
sys.path.append(os.environ["BENCH_SITE"])
def _peak_rss_mib():
    # VmHWM of this process's own memory map (ru_maxrss would carry the parent's peak across fork+exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
c0, t0 = time.process_time(), time.perf_counter()
import app
t1, c1 = time.perf_counter(), time.process_time()
aws_ms = [0.0]
calls = [0]
services = []
def _patch_botocore():
    import botocore.client as bc
    if getattr(bc.BaseClient, "_bench_timed", False):
        return
    original = bc.BaseClient._make_api_call
    def timed(self, operation, params):
        start = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            aws_ms[0] += (time.perf_counter() - start) * 1000
            calls[0] += 1
    bc.BaseClient._make_api_call = timed
    bc.BaseClient._bench_timed = True
if "botocore.client" in sys.modules:
    _patch_botocore()
else:
    from chalicelib.adapters import aws as _aws
    _build = _aws.client
    def _hooked(service):
        services.append(service)
        client = _build(service)
        _patch_botocore()
        return client
    _aws.client = _hooked
kind = os.environ["BENCH_KIND"]
event = json.loads(os.environ["BENCH_EVENT"])
c2, t2 = time.process_time(), time.perf_counter()
if kind == "http":
    resp = app.app(event, None)
    ok = resp["statusCode"] == 200
else:
    resp = app.app.handler_map[kind](event, None)
    ok = kind == "jwt_authorizer" and resp.get("principalId") or resp == {"batchItemFailures": []}
t3, c3 = time.perf_counter(), time.process_time()
print("BENCH_RESULT " + json.dumps({"ok": bool(ok), "detail": str(resp)[:300],
      "import_ms": (t1 - t0) * 1000, "first_response_ms": (t3 - t2) * 1000, "aws_ms": aws_ms[0],
      "cpu_ms": (c1 - c0 + c3 - c2) * 1000,
      "aws_calls": calls[0], "peak_rss_mib": _peak_rss_mib(), "services": sorted(set(services))}))
"""


def http_event(path: str, resource: str, params: dict[str, str] | None = None,
               authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event; `authorizer` is what the authorizer function returned."""
    context: dict[str, Any] = {"resourcePath": resource, "httpMethod": "GET", "stage": "api", "requestId": "bench"}
    if authorizer is not None:
        context["authorizer"] = {**authorizer.get("context", {}), "principalId": authorizer["principalId"]}
    return {"resource": resource, "path": path, "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": params,
            "stageVariables": None, "body": None, "isBase64Encoded": False, "requestContext": context}


class Fixtures:
    """The data each probe needs, made once in the parent through the app's own API and handlers."""

    def __init__(self, stack: Any) -> None:
        import requests
        from chalice.test import Client

        import app as app_module

        self.stack = stack
        self.app = app_module.app
        self.client = Client(self.app, stage_name="local")
        self.requests = requests
        self.token = stack.token(CITIZEN)
        self.authorizer = self.app.handler_map["jwt_authorizer"](self.token_event(), None)
        case_app = self.draft("YQ-AMR-0001")
        for material in ("application-form", "operator-id", "premises-proof"):
            data, ctype = PDF, "application/pdf"
            key = self.upload(case_app, material, data, ctype)
            assert self.app.handler_map["verify_material"](self.upload_event(key), None) == {"batchItemFailures": []}
        self.case_app = case_app
        status, body = self.call("POST", f"/v1/applications/{case_app}/submit")
        assert status == 200, body
        self.outbox = self._outbox_image(case_app)
        endpoint = stack.seeded["departments"][DEPARTMENT]
        self.delivery_template = {"department": DEPARTMENT, "endpoint_id": endpoint["endpoint_id"],
                                  "event_type": "onetrip.task.assigned",
                                  "payload": json.dumps({"specversion": "1.0", "id": "evt_bench",
                                                         "type": "onetrip.task.assigned", "data": {}})}
        self._serial = 0

    def token_event(self) -> dict[str, Any]:
        return {"type": "TOKEN", "authorizationToken": f"Bearer {self.token}",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:bench/api/GET/v1/applications"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        resp = self.client.http.request(method, path, headers={"Authorization": f"Bearer {self.token}",
                                                               "Content-Type": "application/json"},
                                        body=json.dumps(body).encode() if body is not None else b"")
        return resp.status_code, json.loads(resp.body) if resp.body else None

    def draft(self, item: str) -> str:
        answers = answers_for(self.call("GET", f"/v1/items/{item}")[1])
        status, body = self.call("POST", "/v1/applications",
                                 {"item_code": item, **({"answers": answers} if answers else {})})
        assert status == 201, body
        return str(body["id"])

    def upload(self, app_id: str, material: str, data: bytes, ctype: str) -> str:
        status, ticket = self.call("POST", f"/v1/applications/{app_id}/materials/{material}/uploads",
                                   {"content_type": ctype})
        assert status == 201, ticket
        resp = self.requests.post(ticket["url"], data=ticket["fields"], files={"file": ("f", data, ctype)}, timeout=10)
        assert resp.status_code in (200, 204), resp.text
        return str(ticket["fields"]["key"])

    def upload_event(self, key: str) -> dict[str, Any]:
        text = (EVENTS / "sqs" / "upload-object-created.json").read_text()
        return dict(json.loads(text.replace("__BUCKET__", self.stack.outputs["BucketName"]).replace("__KEY__", key)))

    def _outbox_image(self, app_id: str) -> dict[str, Any]:
        resp = self.stack.aws("dynamodb").query(
            TableName=self.stack.outputs["TableName"], KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": f"APP#{app_id}"}, ":s": {"S": "EVT#"}})
        return next(dict(i) for i in resp["Items"] if "onetrip.task.assigned" in i["doc"]["S"])

    # -- one fresh event per probe and kind ------------------------------------------------------------
    def event(self, kind: str) -> tuple[str, dict[str, Any]]:
        self._serial += 1
        if kind == "api GET /v1/applications/{id}":
            path = f"/v1/applications/{self.case_app}"
            return "http", http_event(path, "/v1/applications/{application_id}", {"application_id": self.case_app},
                                      self.authorizer)
        if kind == "openapi (no AWS)":
            return "http", http_event("/v1/openapi.json", "/v1/openapi.json")
        if kind == "authorizer":
            return "jwt_authorizer", self.token_event()
        if kind == "verify_material":
            key = self.upload(self.draft("YQ-AMR-0001"), "application-form", PDF, "application/pdf")
            return "verify_material", self.upload_event(key)
        if kind == "dispatch":
            event = json.loads((EVENTS / "dynamodb" / "outbox-insert.json").read_text())
            record = event["Records"][0]
            record["dynamodb"]["Keys"] = {"pk": self.outbox["pk"], "sk": self.outbox["sk"]}
            record["dynamodb"]["NewImage"] = self.outbox
            return "dispatch", event
        if kind == "deliver":
            webhook_id = f"msg_bench{time.time_ns()}_{self._serial}"
            body = json.dumps({**self.delivery_template, "webhook_id": webhook_id})
            event = json.loads((EVENTS / "sqs" / "delivery.json").read_text())
            record = event["Records"][0]
            record["body"] = body
            record["messageAttributes"]["webhook_id"]["stringValue"] = webhook_id
            return "deliver", event
        raise KeyError(kind)


OURS = ("openapi (no AWS)", "api GET /v1/applications/{id}", "authorizer", "verify_material", "dispatch", "deliver")
FLOORS = {"floor: GET / (no AWS)": ("/", "/"), "floor: first DynamoDB GetItem": ("/item", "/item")}


def _probe(cwd: Path, env: dict[str, str], kind: str, event: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-S", "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=120,
                         env={**env, "BENCH_KIND": kind, "BENCH_EVENT": json.dumps(event),
                              "BENCH_SITE": sysconfig.get_paths()["purelib"]})
    lines = [line for line in out.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"probe {kind} failed ({out.returncode}): {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    if not result["ok"]:
        raise RuntimeError(f"probe {kind} answered wrongly: {result['detail']}")
    return result


def compile_checkout() -> None:
    """Bytecode for the app and the floor, as the deployment package carries it (`onetrip package`): the
    probes may not write any (a sandbox's code is read-only), and a fresh clone has none when the
    environment sets PYTHONDONTWRITEBYTECODE, so without this every probe would compile every module
    of ours it imports (≈ +50–100 ms) while the floor's one file costs nothing."""
    import compileall

    for target in (ROOT / "chalicelib", ROOT / "app.py", FLOOR):
        ok = (compileall.compile_dir(target, quiet=1) if target.is_dir()
              else compileall.compile_file(target, quiet=1))
        if not ok:
            raise RuntimeError(f"could not compile {target}")


def run(runs: int = RUNS, subjects: tuple[str, ...] = OURS) -> dict[str, Any]:
    from bench.motostack import MotoStack
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.receiver import DemoReceiver

    started = time.perf_counter()
    compile_checkout()
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/{DEPARTMENT}"
    with MotoStack({DEPARTMENT: url}) as stack:
        receiver = DemoReceiver(DEPARTMENT, [stack.seeded["departments"][DEPARTMENT]["secret"]], port=port).start()
        try:
            fixtures = Fixtures(stack)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **stack.env}
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in (*FLOORS, *subjects)}
            # Per function kind, the floor that builds the same clients its first response built.
            same_clients: dict[str, list[dict[str, Any]]] = {name: [] for name in subjects}
            services: dict[str, str] = {}
            for round_ in range(runs + 1):  # round 0 warms the OS file cache and is not kept
                for name, (path, resource) in FLOORS.items():
                    row = _probe(FLOOR, env, "http", http_event(path, resource))
                    if round_:
                        samples[name].append(row)
                for name in subjects:
                    kind, event = fixtures.event(name)
                    row = _probe(ROOT, env, kind, event)
                    if row["services"]:
                        services[name] = ",".join(row["services"])
                        floor_row = _probe(FLOOR, {**env, "BENCH_SERVICES": services[name]}, "http",
                                           http_event("/clients", "/clients"))
                        if round_:
                            same_clients[name].append(floor_row)
                    if round_:
                        samples[name].append(row)
        finally:
            receiver.stop()
    result: dict[str, Any] = {"runs": runs, "python": sys.version.split()[0], "subjects": {},
                              "seconds": round(time.perf_counter() - started, 1)}
    for name, rows in samples.items():
        result["subjects"][name] = {key: round(statistics.median(r[key] for r in rows), 1)
                                    for key in ("import_ms", "first_response_ms", "aws_ms", "peak_rss_mib",
                                                "cpu_ms")}
        result["subjects"][name]["aws_calls"] = rows[-1]["aws_calls"]
        result["subjects"][name]["own_ms"] = round(statistics.median(
            r["first_response_ms"] - r["aws_ms"] for r in rows), 1)
    subj = result["subjects"]
    floor, floor_aws = subj["floor: GET / (no AWS)"], subj["floor: first DynamoDB GetItem"]
    ours = subj[subjects[0]]
    result["ratio_import"] = round(ours["import_ms"] / floor["import_ms"], 2)
    result["ratio_peak_rss"] = round(ours["peak_rss_mib"] / floor["peak_rss_mib"], 2)
    result["ratio_first_response_vs_floor_getitem"] = {
        name: round(subj[name]["first_response_ms"] / floor_aws["first_response_ms"], 2)
        for name in subjects if subj[name]["aws_calls"]}
    # What a cold sandbox pays before its first answer: the app defers boto3 to the first AWS call, the
    # floor imports it up front, so init + first AWS-backed response is the like-for-like comparison.
    api = subj["api GET /v1/applications/{id}"] if "api GET /v1/applications/{id}" in subj else ours
    result["cold_total_ms"] = {"onetrip API (GetItem)": round(api["import_ms"] + api["first_response_ms"], 1),
                               "floor (GetItem)": round(floor_aws["import_ms"] + floor_aws["first_response_ms"], 1)}
    result["ratio_cold_total"] = round(result["cold_total_ms"]["onetrip API (GetItem)"]
                                       / result["cold_total_ms"]["floor (GetItem)"], 2)
    # The same, in the probe process's CPU time: what the machine's other load moves far less than the
    # wall clock (moto's work is in its own process and not counted on either side).
    result["cold_total_cpu_ms"] = {"onetrip API (GetItem)": api["cpu_ms"], "floor (GetItem)": floor_aws["cpu_ms"]}
    result["ratio_cold_total_cpu"] = round(api["cpu_ms"] / floor_aws["cpu_ms"], 2)
    # Each function kind against the floor that builds the same clients, both without their AWS round
    # trips (ours make more calls than the floor's one GetItem): import + first response − time in AWS.
    def own(row: dict[str, Any]) -> float:
        return float(row["import_ms"] + row["first_response_ms"] - row["aws_ms"])

    result["same_clients"] = {}
    for name, floor_rows in same_clients.items():
        if not floor_rows:
            continue
        ours_own = statistics.median(own(r) for r in samples[name])
        floor_own = statistics.median(own(r) for r in floor_rows)
        result["same_clients"][name] = {"services": services[name], "ours_ms": round(ours_own, 1),
                                        "floor_ms": round(floor_own, 1), "ratio": round(ours_own / floor_own, 2)}
    result["goal_ratio"] = 1.2
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"Cold start, median of {result['runs']} fresh interpreters (Python {result['python']}); "
             "first response after import, AWS = moto round trips inside it",
             f"{'subject':<34} {'import ms':>10} {'1st resp ms':>12} {'of it AWS':>10} {'calls':>6} "
             f"{'peak MiB':>9}"]
    for name, row in result["subjects"].items():
        lines.append(f"{name:<34} {row['import_ms']:>10} {row['first_response_ms']:>12} {row['aws_ms']:>10} "
                     f"{row['aws_calls']:>6} {row['peak_rss_mib']:>9}")
    ratios = ", ".join(f"{k} {v}" for k, v in result["ratio_first_response_vs_floor_getitem"].items())
    lines.append(f"ratio onetrip / floor: import {result['ratio_import']} (goal ≤ {result['goal_ratio']}), "
                 f"peak RSS {result['ratio_peak_rss']}")
    lines.append(f"first response / floor's first GetItem: {ratios}")
    lines.append(f"import + first DynamoDB-backed response: {result['cold_total_ms']} "
                 f"→ ratio {result['ratio_cold_total']}")
    for name, row in result.get("same_clients", {}).items():
        lines.append(f"{name}: import + first response without AWS time {row['ours_ms']} ms; the floor building "
                     f"the same clients ({row['services']}) {row['floor_ms']} ms → ratio {row['ratio']}")
    return "\n".join(lines)
