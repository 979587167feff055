"""Throughput on the local stack: complete journeys per second at 1, 4 and 16 concurrent clients.

The stack is the one `make up` runs (infra/onetrip/stack.py: moto, the template, `chalice local`, the
event pump, the demo department receivers that fetch each task and approve it through the API), all on
127.0.0.1 free ports, stopped at the end. Each client is a citizen over real HTTP: draft, N uploads
straight to S3 (waiting for each verdict), submit, wait for the departments' decisions, read the
result. Every step is timed (p50/p99); any unexpected answer or a wait past its limit is an error, and
the run requires zero. The CPU time each process of the stack used during a level says where the time
went: moto (the stand-in for AWS) or ours (API, event pump with the handlers, department receivers).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.samples import SAMPLE, answers_for

CITIZEN = "citizen-verified"
# The single-department item: with a joint item the departments decide at the same moment, one of the two
# transactions loses its version condition (and is retried: fine in DynamoDB), and moto rolls a failed
# transaction back by replacing the whole table object, stream shard included, so the pump's stream
# iterator goes stale and every later event is lost (moto 5.2.5, local stack only).
ITEM = "YQ-AMR-0001"
LEVELS = ((1, 3), (4, 8), (16, 16))  # (concurrent clients, journeys at that level)
POLL_S = 0.2
RAMP_S = 0.1
WAIT_S = 120.0
STEPS = ("draft", "upload ticket", "S3 POST", "verdict (wait)", "submit", "decided (wait)", "result", "journey")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children (the verifier's sandboxes), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, api: str, token: str) -> None:
        self.api = api
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.times: dict[str, list[float]] = defaultdict(list)
        self.resets = 0

    def _timed(self, step: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.times[step].append((time.perf_counter() - t0) * 1000)

    def _call(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self.http.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        except requests.ConnectionError as exc:
            raise ConnectionError(f"{method} {path}: {exc}") from exc
        if resp.status_code != expect:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        body: dict[str, Any] = resp.json()
        return body

    def _wait(self, what: str, done: Any) -> dict[str, Any]:
        """Poll with GETs. `chalice local` (Python's HTTPServer: listen backlog 5, one connection per
        request) resets connections when many clients poll at once; a client retries a reset GET, and the
        resets are counted and reported, not hidden. Anything else is an error."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                value = done()
            except ConnectionError:
                self.resets += 1
                value = None
            if value:
                return dict(value)
            time.sleep(POLL_S)
        raise TimeoutError(f"no {what} within {WAIT_S:.0f} s")

    def journey(self, materials: list[dict[str, Any]], answers: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        body: dict[str, Any] = {"item_code": ITEM, **({"answers": answers} if answers else {})}
        app = self._timed("draft", self._call, "POST", "/v1/applications", 201, json=body)
        path = f"/v1/applications/{app['id']}"
        for material in materials:
            ctype = "application/pdf" if "application/pdf" in material["accepted_content_types"] else \
                material["accepted_content_types"][0]
            ticket = self._timed("upload ticket", self._call, "POST", f"{path}/materials/{material['code']}/uploads",
                                 201, json={"content_type": ctype})
            resp = self._timed("S3 POST", requests.post, ticket["url"], data=ticket["fields"],
                               files={"file": ("f", SAMPLE.get(ctype, SAMPLE["application/pdf"]), ctype)}, timeout=30)
            if resp.status_code not in (200, 204):
                raise RuntimeError(f"S3 POST: {resp.status_code}")

            def verdict(code: str = material["code"], upload: str = ticket["upload_id"]) -> Any:
                slot = next(m for m in self._call("GET", path, 200)["materials"] if m["code"] == code)
                if slot["upload_id"] == upload and slot["status"] == "rejected":
                    raise RuntimeError(f"{code} rejected: {slot['problems']}")
                return slot if slot["upload_id"] == upload and slot["status"] == "verified" else None

            self._timed("verdict (wait)", self._wait, "verdict", verdict)
        case = self._timed("submit", self._call, "POST", f"{path}/submit", 200)
        if case["status"] != "accepted":
            raise RuntimeError(f"submit: {case['status']}")
        self._timed("decided (wait)", self._wait, "decision",
                    lambda: (a := self._call("GET", path, 200))["status"] == "decided" and a)
        final = self._timed("result", self._call, "GET", path, 200)
        if final["outcome"] != "approved":
            raise RuntimeError(f"outcome {final['outcome']}")
        self.times["journey"].append((time.perf_counter() - t0) * 1000)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_level(stack: Any, token: str, materials: list[dict[str, Any]], answers: dict[str, Any], clients: int,
              journeys: int) -> dict[str, Any]:
    pids = {name: proc.pid for name, proc in stack.processes.items()}
    cpu0 = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    own0 = time.process_time()
    workers = [Client(stack.api_url, token) for _ in range(clients)]
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(journeys))

    def work(indexed: tuple[int, Client]) -> None:
        # A ramp-up of RAMP_S per client: 16 connects in the same instant overflow `chalice local`'s listen
        # backlog of 5 (Python's HTTPServer default), a limit of the local dev server, not of the API.
        index, client = indexed
        time.sleep(index * RAMP_S)
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            try:
                client.journey(materials, answers)
            except Exception as exc:  # counted, reported, and the run fails the zero-error requirement
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(work, enumerate(workers)))
    wall = time.perf_counter() - t0
    cpu = {name: round(_cpu_seconds(pid) - cpu0[name], 2) for name, pid in pids.items()}
    cpu["bench clients"] = round(time.process_time() - own0, 2)
    times: dict[str, list[float]] = defaultdict(list)
    for w in workers:
        for step, values in w.times.items():
            times[step].extend(values)
    done = len(times["journey"])
    return {
        "clients": clients, "journeys": journeys, "completed": done, "errors": len(errors),
        "error_samples": errors[:5], "seconds": round(wall, 1), "journeys_per_second": round(done / wall, 3),
        "poll_connection_resets": sum(w.resets for w in workers),
        "steps_ms": {step: {"n": len(times[step]), "p50": round(statistics.median(times[step]), 1),
                            "p99": round(_percentile(times[step], 0.99), 1)}
                     for step in STEPS if times[step]},
        "cpu_seconds": cpu,
    }


def run(levels: tuple[tuple[int, int], ...] = LEVELS) -> dict[str, Any]:
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.stack import LocalStack

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onetrip-bench-") as state_dir, \
            LocalStack.start(moto_port=free_port(), api_port=free_port(), state_dir=state_dir,
                             demo_receivers=True) as stack:
        token = stack.token(CITIZEN)
        guide = requests.get(f"{stack.api_url}/v1/items/{ITEM}", timeout=30).json()
        materials = [m for m in guide["materials"] if m["required"]]
        answers = answers_for(guide)
        rows = [run_level(stack, token, materials, answers, clients, journeys) for clients, journeys in levels]
        dead = stack.dead_processes()
    total_cpu: dict[str, float] = defaultdict(float)
    for row in rows:
        for name, seconds in row["cpu_seconds"].items():
            total_cpu[name] += seconds
    all_cpu = sum(total_cpu.values()) or 1.0
    return {
        "item": ITEM, "uploads_n": len(materials), "poll_interval_s": POLL_S, "ramp_up_s_per_client": RAMP_S,
        "levels": rows,
        "errors": sum(r["errors"] for r in rows), "dead_processes": dead,
        "cpu_share": {name: round(seconds / all_cpu, 3) for name, seconds in sorted(total_cpu.items())},
        "machine_cores": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1),
    }


def table(result: dict[str, Any]) -> str:
    lines = [f"Throughput on the local stack ({result['item']}: {result['uploads_n']} uploads, the department "
             f"receiver approving via the API; clients start {result['ramp_up_s_per_client']} s apart and poll every "
             f"{result['poll_interval_s']} s; {result['machine_cores']} cores)",
             f"{'clients':>7} {'journeys':>8} {'errors':>6} {'journeys/s':>10}  p50/p99 ms: "
             + ", ".join(s for s in STEPS)]
    for r in result["levels"]:
        cells = ", ".join(f"{r['steps_ms'][s]['p50']:.0f}/{r['steps_ms'][s]['p99']:.0f}" for s in STEPS
                          if s in r["steps_ms"])
        lines.append(f"{r['clients']:>7} {r['completed']:>8} {r['errors']:>6} {r['journeys_per_second']:>10}  {cells}"
                     + (f"  ({r['poll_connection_resets']} polls reset by chalice local, retried)"
                        if r["poll_connection_resets"] else ""))
    share = ", ".join(f"{name} {v:.0%}" for name, v in sorted(result["cpu_share"].items(), key=lambda kv: -kv[1]))
    lines.append(f"CPU time by process over all levels: {share}")
    lines.append(f"zero errors required: {'yes' if result['errors'] == 0 and not result['dead_processes'] else 'NO'}")
    return "\n".join(lines)
