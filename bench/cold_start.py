"""Cold start: import time and peak memory of `app.py` in fresh interpreters, next to the floor app
(one Chalice route importing boto3, pydantic and a Powertools Logger), measured side by side in one
run and interleaved so machine noise hits both alike. Lambda's init phase is mostly this import."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9

# Runs in a fresh interpreter: time `import app`, then the first API response through the handler
# Lambda would call (GET /v1/openapi.json needs no AWS call, so it measures our code only).
PROBE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = {{"resource": {path!r}, "path": {path!r}, "httpMethod": "GET", "headers": {{}},
         "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {{"resourcePath": {path!r}, "httpMethod": "GET", "stage": "api", "requestId": "bench"}}}}
resp = app.app(event, None)
t2 = time.perf_counter()
assert resp["statusCode"] == 200, resp
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "first_response_ms": (t2 - t1) * 1000,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

SUBJECTS = {
    "onetrip app.py": (ROOT, "/v1/openapi.json"),
    "floor (Chalice + boto3 + pydantic + Logger)": (ROOT / "bench" / "floor_app", "/"),
}


def _probe(root: Path, path: str) -> dict[str, float]:
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(root), path=path)], cwd=root, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(runs: int = RUNS) -> dict[str, object]:
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in SUBJECTS}
    for root, path in SUBJECTS.values():  # warm the OS file cache and .pyc files once
        _probe(root, path)
    for _ in range(runs):
        for name, (root, path) in SUBJECTS.items():
            samples[name].append(_probe(root, path))
    result: dict[str, object] = {"runs": runs, "python": sys.version.split()[0], "subjects": {}}
    for name, rows in samples.items():
        result["subjects"][name] = {  # type: ignore[index]
            key: round(statistics.median(r[key] for r in rows), 1)
            for key in ("import_ms", "first_response_ms", "peak_rss_mib")}
    ours, floor = (result["subjects"][n] for n in SUBJECTS)  # type: ignore[index]
    result["ratio_import"] = round(ours["import_ms"] / floor["import_ms"], 2)
    result["ratio_peak_rss"] = round(ours["peak_rss_mib"] / floor["peak_rss_mib"], 2)
    return result


def table(result: dict[str, object]) -> str:
    lines = [f"Cold start, median of {result['runs']} fresh interpreters (Python {result['python']})",
             f"{'subject':<46} {'import ms':>10} {'1st resp ms':>12} {'peak RSS MiB':>13}"]
    for name, row in result["subjects"].items():  # type: ignore[attr-defined]
        lines.append(f"{name:<46} {row['import_ms']:>10} {row['first_response_ms']:>12} {row['peak_rss_mib']:>13}")
    lines.append(f"ratio onetrip / floor: import {result['ratio_import']} (goal ≤ 1.2), "
                 f"peak RSS {result['ratio_peak_rss']}")
    return "\n".join(lines)
