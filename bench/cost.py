"""Cost per 1,000 cases, from what one journey really did (counted requests, measured handler time)
and published AWS prices. The formula, the prices with their sources, and every assumption go into
the results next to the number, so the figure can be re-derived or re-priced by hand.

cost per case =
    Σ invocations × Lambda request price
  + Σ invocations billed GB-s × GB-s price            (billed ms per invocation, see `billed_ms`)
  + API requests × API Gateway (REST) price
  + WRU × write price + RRU × read price               (estimated from item sizes, bench/awscalls.py)
  + S3 PUT-class × PUT price + S3 GET-class × GET price
                                                       (uploads and department downloads by clients; our
                                                        GetObject, and our CopyObject sealing each upload)
  + SQS requests × SQS price                           (our SendMessageBatch, S3's notifications, the
                                                        Lambda pollers' ReceiveMessage + DeleteMessage)
  + KMS requests × KMS price                           (ours; S3's SSE-KMS with a bucket key ≈ 0)
  + log bytes × CloudWatch Logs ingestion price        (our log lines + Lambda's START/END/REPORT)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; below it, a proportional share

# Prices per unit; None = not known to this bench (no published figure found in the sources it used).
# Every figure is a published price; "source" names where it was read (AWS's own page where its text
# carries the number, otherwise a secondary page quoting it). Assumptions are in ASSUMPTIONS, not here.
PRICES: dict[str, dict[str, Any]] = {
    "lambda_request": {
        "unit": "request", "us-east-1": 0.20e-6, "cn-north-1": None, "status": "published",
        "source": "$0.20 per 1M requests, x86 and arm64 alike (secondary: git.mcrn.ar lambda_local_runner"
                  " docs/lambda-13-cost.md, cloudchipr.com/blog/aws-lambda-pricing; AWS's own page renders"
                  " its table client-side)"},
    "lambda_gb_s_x86": {
        "unit": "GB-second", "us-east-1": 0.0000166667, "cn-north-1": None, "status": "published",
        "source": "aws.amazon.com/cn/lambda/pricing, AWS's worked example: 每 GB-s 0.0000166667 美元 (x86, US"
                  " East, first tier)"},
    "lambda_gb_s_arm64": {
        "unit": "GB-second", "us-east-1": 0.0000133334, "cn-north-1": None, "status": "published",
        "source": "$0.0000133334 per GB-s, Arm, first 7.5 billion GB-s (secondary:"
                  " cloudchipr.com/blog/aws-lambda-pricing, git.mcrn.ar lambda cost doc)"},
    "apigw_rest_request": {
        "unit": "request", "us-east-1": 3.50e-6, "cn-north-1": None, "status": "published",
        "source": "docs.aws.amazon.com whitepaper 'Best Practices for Designing Amazon API Gateway Private APIs', "
                  "Table 4: REST, first 333 million requests, $3.50 per million"},
    "apigw_http_request": {
        "unit": "request", "us-east-1": 1.00e-6, "cn-north-1": None, "status": "published",
        "source": "same table: HTTP APIs, first 300 million, $1.00 per million (for comparison only)"},
    "dynamodb_wru": {
        "unit": "write request unit", "us-east-1": 0.625e-6, "cn-north-1": 11.1538e-6, "status": "published",
        "source": "us-east-1: on-demand after the 50% reduction of November 2024, $0.625 per million WRU (secondary: "
                  "airbyte.com/data-engineering-resources/dynamodb-pricing; the AWS News Blog post on on-demand was "
                  "updated 2025-01-31 for the reduced price); cn: amazonaws.cn/en/dynamodb/pricing, China (Beijing) "
                  "and (Ningxia), on-demand write requests ¥11.1538 per million (CNY)"},
    "dynamodb_rru": {
        "unit": "read request unit", "us-east-1": 0.125e-6, "cn-north-1": None, "status": "published",
        "source": "on-demand, $0.125 per million RRU (same secondary source); cn read price not found"},
    "s3_put": {
        "unit": "PUT/POST request", "us-east-1": 0.005e-3, "cn-north-1": None, "status": "published",
        "source": "S3 Standard PUT, COPY, POST, LIST: $0.005 per 1,000 (secondary:"
                  " c3x.dev/blog/s3-request-fees-explained)"},
    "s3_get": {
        "unit": "GET request", "us-east-1": 0.0004e-3, "cn-north-1": None, "status": "published",
        "source": "S3 Standard GET, HEAD, SELECT: $0.0004 per 1,000 (same source)"},
    "sqs_request": {
        "unit": "request (64 KB chunk)", "us-east-1": 0.40e-6, "cn-north-1": None, "status": "published",
        "source": "standard queue $0.40 per million requests, each 64 KB chunk one request (secondary: "
                  "cloudburn.io/blog/amazon-sqs-pricing, us-east-1, March 2026)"},
    "kms_request": {
        "unit": "request", "us-east-1": 0.03e-4, "cn-north-1": None, "status": "published",
        "source": "$0.03 per 10,000 symmetric requests (secondary: wring.co/blog/aws-kms-pricing-guide;"
                  " aws.amazon.com/kms/pricing states the 20,000-request free tier)"},
    "logs_ingest_gb": {
        "unit": "GB ingested", "us-east-1": 0.50, "cn-north-1": None, "status": "published",
        "source": "CloudWatch Logs ingestion $0.50 per GB (secondary: go-cloud.io/aws-api-gateway-pricing)"},
}

ASSUMPTIONS = {
    "aws_latency_ms": {"dynamodb": 6, "s3": 20, "sqs": 10, "kms": 8},
    "aws_latency_note": "assumed round trips inside a region (DynamoDB single-digit ms); moto's own times are "
                        "not used because moto is not DynamoDB",
    "webhook_latency_ms": 100,
    "webhook_note": "assumed: a department endpoint that answers 2xx at once (as the demo receiver does)",
    "platform_log_bytes_per_invocation": 350,
    "platform_log_note": "assumed size of Lambda's START, END and REPORT lines",
    "cpu_note": f"our own time is the CPU time of the handler (process and sandbox children) on this machine;"
              " below {LAMBDA_FULL_VCPU_MB} MB Lambda "
                f"gives a proportional CPU share, so own time is scaled by {LAMBDA_FULL_VCPU_MB}/memory (assumed: "
                "one Lambda vCPU is as fast as one core here)",
    "sqs_event_source": "each batch a Lambda SQS poller hands to a function costs one ReceiveMessage and one "
                        "DeleteMessageBatch (empty long polls of idle queues are a fixed cost, not per case)",
    "stream_event_source": "GetRecords by Lambda's DynamoDB stream trigger are free",
    "s3_notification": "one SQS request per ObjectCreated notification",
    "sse_kms": "S3 Bucket Keys are enabled in infra/template.yaml: S3's own KMS calls are amortised to ≈ 0 per "
               "object",
    "excluded": "free tiers; storage (DynamoDB, S3, logs retention); Cognito (per monthly active user, not per case); "
                "data transfer; the fixed cost of idle SQS long polls",
}


def memory_mb() -> int:
    """The memory size the functions are deployed with (.chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return int(config.get("lambda_memory_size", 128))


def billed_ms(inv: dict[str, Any], memory: int) -> int:
    """Our CPU time scaled to the memory's CPU share, plus the assumed waits for AWS and webhooks. A batch
    that `deliver` sends in parallel (one lane per message) waits as long as one lane, not the sum."""
    latency = ASSUMPTIONS["aws_latency_ms"]
    own = inv["cpu_ms"] * max(1.0, LAMBDA_FULL_VCPU_MB / memory)
    waits = sum(latency.get(service, 10) * n for service, n in inv.get("services", {}).items())
    waits += ASSUMPTIONS["webhook_latency_ms"] * inv.get("webhooks", 0)
    if inv["function"] == "deliver" and inv.get("records", 1) > 1:
        waits /= inv["records"]
    return max(1, math.ceil(own + waits))


# S3 bills our own requests by class too: a server-side copy (sealing a verified upload, quarantining a
# rejected one) is a PUT-class request like the client's upload; DeleteObject is free.
S3_PUT_CLASS = ("PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects")
S3_GET_CLASS = ("GetObject", "HeadObject")


def usage(journey: dict[str, Any], memory: int) -> dict[str, float]:
    """Billable quantities of one case."""
    invocations = journey["invocations"]
    gb_s = sum(billed_ms(i, memory) for i in invocations) / 1000 * memory / 1024
    ops = journey["by_operation"]
    units = journey["billing_units"]
    clients = journey["client_requests"]
    sqs_batches = sum(v for k, v in journey["event_source_batches"].items() if k.startswith("sqs:"))
    log_bytes = sum(i["log_bytes"] for i in invocations) + len(invocations) * ASSUMPTIONS[
        "platform_log_bytes_per_invocation"]
    return {
        "lambda_requests": float(len(invocations)),
        "lambda_gb_s": gb_s,
        "api_requests": float(clients.get("api_gateway", 0)),
        "wru": units.get("wru", 0.0),
        "rru": units.get("rru", 0.0),
        "s3_put": float(clients.get("s3_put", 0) + sum(ops.get(f"s3:{op}", 0) for op in S3_PUT_CLASS)),
        "s3_get": float(clients.get("s3_get", 0) + sum(ops.get(f"s3:{op}", 0) for op in S3_GET_CLASS)),
        "sqs_requests": units.get("sqs_requests", 0.0) + journey["s3_notifications"] + 2 * sqs_batches,
        "kms_requests": float(sum(v for k, v in ops.items() if k.startswith("kms:"))),
        "log_gb": log_bytes / 1024**3,
    }


def price_case(u: dict[str, float], region: str, arch: str) -> dict[str, float | None]:
    def p(name: str) -> float | None:
        value = PRICES[name][region]
        return None if value is None else float(value)

    lines: dict[str, float | None] = {}

    def add(name: str, quantity: float, price: float | None) -> None:
        lines[name] = None if price is None else quantity * price

    add("lambda requests", u["lambda_requests"], p("lambda_request"))
    add("lambda duration", u["lambda_gb_s"], p(f"lambda_gb_s_{arch}"))
    add("api gateway (REST)", u["api_requests"], p("apigw_rest_request"))
    add("dynamodb writes", u["wru"], p("dynamodb_wru"))
    add("dynamodb reads", u["rru"], p("dynamodb_rru"))
    add("s3 requests", u["s3_put"] * (p("s3_put") or 0) + u["s3_get"] * (p("s3_get") or 0),
        1.0 if p("s3_put") is not None else None)
    add("sqs", u["sqs_requests"], p("sqs_request"))
    add("kms", u["kms_requests"], p("kms_request"))
    add("cloudwatch logs", u["log_gb"], p("logs_ingest_gb"))
    return lines


def _total(journey: dict[str, Any], memory: int, api: str = "apigw_rest_request") -> float:
    lines = price_case(usage(journey, memory), "us-east-1", "arm64")
    if api != "apigw_rest_request":
        lines["api gateway (REST)"] = usage(journey, memory)["api_requests"] * PRICES[api]["us-east-1"]
    return sum(v or 0 for v in lines.values()) * 1000


def cached_authorizer(journey: dict[str, Any]) -> dict[str, Any]:
    """The journey with the authorizer's result cached: one run per token within the cache TTL (the
    citizen and each department), the other runs gone."""
    budget = 1 + journey["departments_k"]
    kept, seen = [], 0
    for inv in journey["invocations"]:
        if inv["function"] == "authorizer":
            seen += 1
            if seen > budget:
                continue
        kept.append(inv)
    return {**journey, "invocations": kept}


def levers(journey: dict[str, Any], memory: int) -> list[dict[str, Any]]:
    """What each known saving would bring, computed from this very journey (us-east-1, arm64, per 1,000)."""
    base = _total(journey, memory)

    def keys_only_index(j: dict[str, Any]) -> dict[str, Any]:
        units = dict(j["billing_units"])
        units["wru"] = units.get("wru", 0) - units.get("wru_index", 0)
        return {**j, "billing_units": units}

    def compressed_docs(j: dict[str, Any]) -> dict[str, Any]:
        # Subtract what compression saves (not overwrite the units): combined with the keys-only index
        # above, the two savings add up (approximately: a compressed item's index copy shrinks too).
        measured = journey["billing_units"]
        saving = measured.get("wru", 0) - measured.get("wru_doc_compressed", measured.get("wru", 0))
        units = dict(j["billing_units"])
        units["wru"] = units.get("wru", 0) - saving
        return {**j, "billing_units": units}

    # Applied already, so no longer listed: the stream trigger's FilterCriteria (only outbox INSERTs
    # invoke `dispatch`) and compressed application, task, delivery and access-record documents.
    rows = [
        ("authorizer result cache (TTL 300 s instead of 0)", cached_authorizer(journey)),
        ("application/task index projecting keys only (no second copy of every write)", keys_only_index(journey)),
        ("the remaining plain documents compressed too (events, audit entries, notifications)",
         compressed_docs(journey)),
    ]
    out = [{"lever": name, "per_1000": round(_total(j, memory), 4), "saves": round(base - _total(j, memory), 4)}
           for name, j in rows]
    out.append({"lever": "API Gateway HTTP API instead of REST (Chalice deploys REST only)",
                "per_1000": round(_total(journey, memory, "apigw_http_request"), 4),
                "saves": round(base - _total(journey, memory, "apigw_http_request"), 4)})
    combined = compressed_docs(keys_only_index(cached_authorizer(journey)))
    out.append({"lever": "the three above that stay on REST, together", "per_1000": round(_total(combined, memory), 4),
                "saves": round(base - _total(combined, memory), 4)})
    return out


def floors(journey: dict[str, Any], memory: int) -> dict[str, float]:
    """Lower bounds of a case's cost on this design (us-east-1, arm64, per 1,000): how far the known
    savings could ever go, so that "the goal is out of reach" is a computed figure, not a claim.

    `this_design`: the same requests, every written item under 1 KB with no index copy (the floor of any
    trimming, compression or projection: one unit per item, two in a transaction) and the authorizer's
    result cached. `without_table_writes`: the same, with no DynamoDB write at all: what the REST API,
    S3, Lambda, SQS and logs cost a case on their own."""
    units = dict(journey["billing_units"])
    units["wru"] = units.get("wru_floor", units.get("wru", 0))
    floor = {**cached_authorizer(journey), "billing_units": units}
    no_writes = {**floor, "billing_units": {**units, "wru": 0.0}}
    return {"this_design": round(_total(floor, memory), 4), "without_table_writes": round(_total(no_writes, memory), 4)}


def run(journeys: dict[str, dict[str, Any]], main: str) -> dict[str, Any]:
    memory = memory_mb()
    per_item = {}
    for code, journey in journeys.items():
        u = usage(journey, memory)
        estimates = {}
        for region in ("us-east-1", "cn-north-1"):
            for arch in ("x86", "arm64"):
                lines = price_case(u, region, arch)
                known = [v for v in lines.values() if v is not None]
                estimates[f"{region} {arch}"] = {
                    "per_1000_cases": round(sum(known) * 1000, 4) if len(known) == len(lines) else None,
                    "known_lines_per_1000": {k: None if v is None else round(v * 1000, 5) for k, v in lines.items()},
                    "currency": "CNY" if region.startswith("cn-") else "USD",
                }
        per_item[code] = {"usage_per_case": {k: round(v, 6) for k, v in u.items()}, "estimates": estimates}
    sweep = {}
    for mb in (128, 256, 512, 1024, LAMBDA_FULL_VCPU_MB):
        u = usage(journeys[main], mb)
        sweep[mb] = round(sum(v or 0 for v in price_case(u, "us-east-1", "arm64").values()) * 1000, 4)
    return {
        "memory_mb": memory, "main_item": main, "goal_usd_per_1000": 0.10,
        "formula": __doc__.split("cost per case =", 1)[1].strip() if __doc__ else "",
        "prices": PRICES, "assumptions": ASSUMPTIONS, "items": per_item,
        "memory_sweep_us_east_1_arm64_per_1000": sweep,
        "levers_us_east_1_arm64": levers(journeys[main], memory),
        "floors_us_east_1_arm64": floors(journeys[main], memory),
    }


def table(result: dict[str, Any]) -> str:
    main = result["items"][result["main_item"]]["estimates"]
    lines = [f"Cost per 1,000 cases ({result['main_item']}, {result['memory_mb']} MB, counted requests, "
             "measured handler time, published prices)"]
    for key in ("us-east-1 x86", "us-east-1 arm64"):
        lines.append(f"  {key:<16} US$ {main[key]['per_1000_cases']:.4f}   (goal ≤ {result['goal_usd_per_1000']})")
    breakdown = main["us-east-1 arm64"]["known_lines_per_1000"]
    lines.append("  us-east-1 arm64 by line: " + ", ".join(
        f"{k} {v:.4f}" for k, v in sorted(breakdown.items(), key=lambda kv: -(kv[1] or 0)) if v))
    cn = main["cn-north-1 x86"]["known_lines_per_1000"]
    lines.append("  cn-north-1: only " + ", ".join(f"{k} ¥{v:.4f}" for k, v in cn.items() if v is not None)
                 + " is published in the sources used; no total")
    for lever in result["levers_us_east_1_arm64"]:
        lines.append(f"  lever: {lever['lever']}: −${lever['saves']:.4f} → ${lever['per_1000']:.4f}")
    floor = result["floors_us_east_1_arm64"]
    lines.append(f"  floor of this design (every item < 1 KB, no index copy, authorizer cached): "
                 f"${floor['this_design']:.4f}; with no table write at all: ${floor['without_table_writes']:.4f}")
    lines.append("  by memory (us-east-1 arm64): " + ", ".join(
        f"{mb} MB ${v:.4f}" for mb, v in result["memory_sweep_us_east_1_arm64_per_1000"].items()))
    return "\n".join(lines)
