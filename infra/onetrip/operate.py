"""Operating a deployed stage: `onetrip logs FUNCTION --since 1h` and `onetrip status --stage dev|prod`.

Thin over CloudWatch Logs, CloudFormation, SQS and CloudWatch: tables an admin reads at a glance.
Function and log group names follow infra.onetrip.package (explicit names, one group per function).
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from infra.onetrip.deploy import Deployer, add_aws_arguments
from infra.onetrip.package import FUNCTIONS, STAGES, app_stack_name, function_name, stateful_stack_name

_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ERROR_PATTERN = '{ $.level = "ERROR" }'  # Powertools JSON logs
FUNCTION_NAMES = tuple(fn.name for fn in FUNCTIONS)


def parse_since(text: str) -> int:
    """'90s', '15m', '1h', '2d' -> seconds."""
    match = _SINCE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since takes a duration like 15m, 1h or 2d, not {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def log_group(stage: str, function: str) -> str:
    return f"/aws/lambda/{function_name(stage, function)}"


def _line(event: dict[str, Any]) -> str:
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    message = event["message"].rstrip("\n")
    try:
        record = json.loads(message)
    except ValueError:
        return f"{stamp}  {message}"
    if not isinstance(record, dict) or "level" not in record:
        return f"{stamp}  {message}"
    keys = {k: v for k, v in record.items()
            if k not in ("level", "message", "timestamp", "service", "location", "xray_trace_id")}
    extra = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in keys.items())
    return f"{stamp}  {record['level']:<7} {record.get('message', '')}  {extra}".rstrip()


def fetch_logs(logs: Any, group: str, since_seconds: int, pattern: str | None = None,
               now: float | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Events of one log group in the window, oldest first, across pages (at most `limit`)."""
    start = int(((now if now is not None else time.time()) - since_seconds) * 1000)
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start}
    if pattern:
        kwargs["filterPattern"] = pattern
    events: list[dict[str, Any]] = []
    while len(events) < limit:
        page = logs.filter_log_events(**kwargs)
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            break
        kwargs["nextToken"] = token
    return sorted(events[:limit], key=lambda e: e["timestamp"])


def cmd_logs(args: Any, session: Any = None) -> int:
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    session = session or _session(args)
    group = log_group(args.stage, args.function)
    try:
        events = fetch_logs(session.client("logs"), group, since, args.filter)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            print(f"no log group {group}: is {args.stage} deployed?", file=sys.stderr)
            return 1
        raise
    for event in events:
        print(_line(event))
    print(f"{len(events)} event(s) from {group} in the last {args.since}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- status of a deployed stage

def stage_status(session: Any, stage: str, out=print, now: float | None = None) -> int:
    cfn = session.client("cloudformation")
    deployer = Deployer(cfn, None)
    stacks = {name: deployer.stack(name) for name in (stateful_stack_name(stage), app_stack_name(stage))}
    out(f"{'STACK':<24} {'STATUS':<24} LAST CHANGE")
    for name, stack in stacks.items():
        if stack is None:
            out(f"{name:<24} {'(not deployed)':<24}")
            continue
        changed = stack.get("LastUpdatedTime") or stack.get("CreationTime")
        out(f"{name:<24} {stack['StackStatus']:<24} {changed}")
    outputs = Deployer.outputs(stacks[stateful_stack_name(stage)])
    healthy = all(s is not None and s["StackStatus"].endswith("_COMPLETE") and "ROLLBACK" not in s["StackStatus"]
                  for s in stacks.values())
    if outputs:
        sqs = session.client("sqs")
        out(f"\n{'QUEUE':<24} {'WAITING':>8} {'IN FLIGHT':>10}")
        for key in ("UploadQueueUrl", "DeliveryQueueUrl", "UploadDLQUrl", "DeliveryDLQUrl", "DispatchDLQUrl"):
            if key not in outputs:
                continue
            attrs = sqs.get_queue_attributes(
                QueueUrl=outputs[key],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            waiting = int(attrs.get("ApproximateNumberOfMessages", "0"))
            label = key.removesuffix("Url")
            warn = "  <- parked work: inspect and replay" if "DLQ" in key and waiting else ""
            healthy = healthy and not warn
            out(f"{label:<24} {waiting:>8} {int(attrs.get('ApproximateNumberOfMessagesNotVisible', '0')):>10}{warn}")
    if stacks[app_stack_name(stage)] is not None:
        cloudwatch = session.client("cloudwatch")
        firing = cloudwatch.describe_alarms(AlarmNamePrefix=app_stack_name(stage),
                                            StateValue="ALARM").get("MetricAlarms", [])
        out(f"\nALARMS FIRING: {len(firing)}")
        for alarm in firing:
            out(f"  {alarm['AlarmName']}: {alarm.get('AlarmDescription', '')}")
        healthy = healthy and not firing
        logs = session.client("logs")
        out("\nERRORS IN THE LAST HOUR")
        for fn in FUNCTION_NAMES:
            try:
                events = fetch_logs(logs, log_group(stage, fn), 3600, ERROR_PATTERN, now=now, limit=50)
            except ClientError:
                events = []
            last = _line(events[-1]) if events else ""
            out(f"  {fn:<16} {len(events):>3}  {last[:160]}")
    return 0 if healthy else 1


def cmd_stage_status(args: Any, session: Any = None) -> int:
    return stage_status(session or _session(args), args.stage)


def _session(args: Any) -> Any:
    import boto3

    return boto3.session.Session(profile_name=args.profile, region_name=args.region)


def add_parsers(sub: Any) -> None:
    logs = sub.add_parser("logs", help="a deployed function's logs (CloudWatch Logs)")
    logs.add_argument("function", choices=FUNCTION_NAMES)
    logs.add_argument("--stage", choices=STAGES, default="dev")
    logs.add_argument("--since", default="1h", help="how far back: 15m, 1h, 2d (default 1h)")
    logs.add_argument("--filter", default=None,
                      help='CloudWatch Logs filter pattern, e.g. \'{ $.level = "ERROR" }\'')
    add_aws_arguments(logs)
    logs.set_defaults(handler=cmd_logs)
