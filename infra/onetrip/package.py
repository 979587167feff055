"""`onetrip package --stage dev|prod`: the two CloudFormation templates a deploy applies, into dist/<stage>/.

Two stacks: `onetrip-<stage>` is infra/template.yaml byte for byte (the same file the local stack
deploys to moto), and `onetrip-<stage>-app` is `chalice package` output merged with the template
built here. The merge wires what Chalice cannot: the real queue and stream ARNs on the triggers
(its literals are placeholders), partial batch failure, stream bisection with finite retries and an
on-failure queue, the environment, explicit function names with log groups and retention, API
throttling and gateway error bodies in the API's format, and the alarms. The application stack's
parameters are the stateful stack's outputs (the deploy wires them by name), the alarm e-mail, and
the identity verifier's URL, token and CA bundle (infra/onetrip/identity_verifier.py): the token goes
into a Secrets Manager secret, the rest and the secret's ARN into the API handler's environment only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.errors import Forbidden, NotFound, Unauthenticated
from chalicelib.entrypoints.errors import INTERNAL_ERROR
from infra.onetrip import identity_verifier, usage_plans
from infra.onetrip.bytecode import add_bytecode
from infra.onetrip.stream_filter import filter_criteria
from infra.onetrip.template import TEMPLATE_PATH, load_template

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
API_STAGE = "api"  # .chalice/config.json api_gateway_stage


def stateful_stack_name(stage: str) -> str:
    # The upload queue policy matches "<stack name>-materialsbucket-*": keep this name lower case.
    return f"onetrip-{stage}"


def app_stack_name(stage: str) -> str:
    return f"onetrip-{stage}-app"


@dataclass(frozen=True)
class Function:
    name: str      # Chalice's function name (also the policy file's subject)
    logical: str   # Chalice's logical id in the packaged template


FUNCTIONS = (
    Function("api_handler", "APIHandler"),
    Function("jwt_authorizer", "JwtAuthorizer"),
    Function("verify_material", "VerifyMaterial"),
    Function("dispatch", "Dispatch"),
    Function("deliver", "Deliver"),
    Function("sweep_due_deliveries", "SweepDueDeliveries"),
    Function("sweep_deadlines", "SweepDeadlines"),
)
API_HANDLER = FUNCTIONS[0].logical  # serves every route, the identity verification among them


def function_name(stage: str, function: str) -> str:
    """The deployed Lambda function name (its log group is /aws/lambda/<this>)."""
    return f"{app_stack_name(stage)}-{function}"


@dataclass(frozen=True)
class StageSettings:
    log_retention_days: int
    retain_logs: bool
    throttle_rate: int          # API requests per second, steady
    throttle_burst: int
    delivery_failure_percent: int


STAGE_SETTINGS = {
    "dev": StageSettings(log_retention_days=30, retain_logs=False, throttle_rate=50, throttle_burst=100,
                         delivery_failure_percent=50),
    # Cybersecurity Law Art. 21: network logs are kept for at least six months.
    "prod": StageSettings(log_retention_days=365, retain_logs=True, throttle_rate=500, throttle_burst=1000,
                          delivery_failure_percent=20),
}

# Stateful outputs the application stack takes as parameters (same names on both sides).
PARAMETERS = (
    "TableName", "TableStreamArn", "BucketName", "UploadQueueArn", "UploadDLQUrl", "DeliveryQueueUrl",
    "DeliveryQueueArn", "DeliveryDLQUrl", "DispatchDLQUrl", "DispatchDLQArn", "KeyArn", "BlindIndexKeyArn",
    "UserPoolId", "MobileClientId", "MachineClientId", "DeliveryAlertsTopicArn",
    "ApplicantNotificationsTopicArn",
)

# The stream trigger: retried a bounded number of times, bisected to isolate the poison record,
# then parked on the on-failure queue so the records behind it move on.
STREAM_MAX_RETRIES = 5
STREAM_MAX_RECORD_AGE = 86400  # the stream keeps records for 24 h


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _error_body(code: str, zh: str, en: str) -> str:
    return json.dumps({"code": code, "message_zh": zh, "message_en": en}, ensure_ascii=False,
                      separators=(",", ":"))


def gateway_responses() -> dict[str, Any]:
    """API Gateway's own answers (the authorizer's 401, throttling, unknown routes) in the API's
    error format, from the same error classes the application uses."""
    internal = (INTERNAL_ERROR["code"], INTERNAL_ERROR["message_zh"], INTERNAL_ERROR["message_en"])
    table = {
        "UNAUTHORIZED": (401, (Unauthenticated.code, Unauthenticated.message_zh, Unauthenticated.message_en)),
        "ACCESS_DENIED": (403, (Forbidden.code, Forbidden.message_zh, Forbidden.message_en)),
        # API Gateway answers an unknown route with 403 "Missing Authentication Token": it is a 404.
        "MISSING_AUTHENTICATION_TOKEN": (404, ("route_not_found", NotFound.message_zh, NotFound.message_en)),
        "THROTTLED": (429, ("throttled", "请求过于频繁，请稍后重试", "Too many requests; please retry later")),
        "QUOTA_EXCEEDED": (429, ("quota_exceeded", "已超出调用配额", "The request quota is exhausted")),
        "REQUEST_TOO_LARGE": (413, ("body_too_large", "请求体过大", "The request body is too large")),
        "BAD_REQUEST_BODY": (400, ("bad_request", "请求无效", "The request is not valid")),
        "DEFAULT_4XX": (None, ("bad_request", "请求无效", "The request is not valid")),
        "AUTHORIZER_FAILURE": (500, internal),
        "AUTHORIZER_CONFIGURATION_ERROR": (500, internal),
        "INTEGRATION_TIMEOUT": (504, internal),
        "DEFAULT_5XX": (None, internal),
    }
    out: dict[str, Any] = {}
    for name, (status, (code, zh, en)) in table.items():
        response: dict[str, Any] = {
            "ResponseParameters": {"Headers": {"Cache-Control": "'no-store'"}},
            "ResponseTemplates": {"application/json": _error_body(code, zh, en)},
        }
        if status is not None:
            response["StatusCode"] = str(status)
        out[name] = response
    return out


def _queue_name(url_parameter: str) -> dict[str, Any]:
    """https://sqs.<region>.<suffix>/<account>/<name> -> <name>."""
    return {"Fn::Select": [4, {"Fn::Split": ["/", {"Ref": url_parameter}]}]}


def _alarm(description: str, metric: dict[str, Any], threshold: float, *, periods: int = 1,
           comparison: str = "GreaterThanOrEqualToThreshold") -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmDescription": description,
        "ComparisonOperator": comparison,
        "Threshold": threshold,
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
        **metric,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _metric(namespace: str, name: str, dimensions: dict[str, Any], statistic: str,
            period: int = 300) -> dict[str, Any]:
    return {"Namespace": namespace, "MetricName": name, "Statistic": statistic, "Period": period,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]}


# Counted once per breached deadline (chalicelib.services.statistics, from the breach event);
# tests/deploy/test_sla_alarm.py checks the code really emits it.
SLA_BREACH_METRIC = "SlaBreaches"


def business_dimensions(stage: str) -> dict[str, str]:
    """The dimensions chalicelib.metrics puts on every aggregated business metric."""
    return {"service": "onetrip", "stage": stage}


def alarms(stage: str) -> dict[str, Any]:
    settings = STAGE_SETTINGS[stage]
    out: dict[str, Any] = {}
    for fn in FUNCTIONS:
        dims = {"FunctionName": {"Ref": fn.logical}}
        out[f"{fn.logical}ErrorsAlarm"] = _alarm(
            f"{fn.name} raised errors (crash, timeout or an unhandled exception)",
            _metric("AWS/Lambda", "Errors", dims, "Sum"), 1)
        out[f"{fn.logical}ThrottlesAlarm"] = _alarm(
            f"{fn.name} was throttled (account or reserved concurrency exhausted)",
            _metric("AWS/Lambda", "Throttles", dims, "Sum"), 1)
    out["DispatchIteratorAgeAlarm"] = _alarm(
        "The outbox stream is more than 5 minutes behind: tasks reach departments late",
        _metric("AWS/Lambda", "IteratorAge", {"FunctionName": {"Ref": "Dispatch"}}, "Maximum"),
        300000, periods=2)
    for queue, what in (("UploadDLQ", "uploads that could not be verified"),
                        ("DeliveryDLQ", "webhooks that exhausted their retries"),
                        ("DispatchDLQ", "outbox stream batches that dispatch could not process")):
        out[f"{queue}DepthAlarm"] = _alarm(
            f"{queue} holds {what}: inspect and replay",
            _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": _queue_name(f"{queue}Url")},
                    "Maximum"), 1)
    dims = [{"Name": k, "Value": v} for k, v in business_dimensions(stage).items()]

    def stat(metric_id: str, name: str) -> dict[str, Any]:
        return {"Id": metric_id, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "OneTrip", "MetricName": name, "Dimensions": dims},
            "Period": 300, "Stat": "Sum"}}

    out["DeliveryFailureRateAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": f"More than {settings.delivery_failure_percent}% of webhook attempts failed "
                            "(at least 10 attempts in 5 minutes)",
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": settings.delivery_failure_percent,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
        "Metrics": [
            stat("failed", "DeliveriesFailed"),
            stat("delivered", "DeliveriesSucceeded"),
            {"Id": "rate", "Label": "failed attempts, %", "ReturnData": True,
             "Expression": "IF((FILL(failed,0)+FILL(delivered,0)) >= 10, "
                           "100*FILL(failed,0)/(FILL(failed,0)+FILL(delivered,0)), 0)"},
        ],
    }}
    out["SlaBreachAlarm"] = _alarm(
        "A case task passed its statutory deadline (超期): the supervising admins must act",
        _metric("OneTrip", SLA_BREACH_METRIC, business_dimensions(stage), "Sum"), 1)
    out["Api5xxAlarm"] = _alarm(
        "More than 5% of API requests answered 5xx",
        _metric("AWS/ApiGateway", "5XXError", {"ApiName": {"Ref": "AWS::StackName"}, "Stage": API_STAGE},
                "Average"), 0.05, comparison="GreaterThanThreshold")
    return out


def merge_template(stage: str) -> dict[str, Any]:
    """What `chalice package --merge-template` merges (deeply) into its SAM output for this stage."""
    if stage not in STAGE_SETTINGS:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    settings = STAGE_SETTINGS[stage]
    parameters: dict[str, Any] = {
        name: {"Type": "String", "Description": f"Output {name} of stack {stateful_stack_name(stage)}"}
        for name in PARAMETERS
    }
    parameters["AlarmEmail"] = {"Type": "String", "Default": "",
                                "Description": "On-call admins' address for alarm notifications (optional)"}
    parameters.update(identity_verifier.parameters())
    issuer = "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPoolId}"
    resources: dict[str, Any] = {}
    log_policy = "Retain" if settings.retain_logs else "Delete"
    for fn in FUNCTIONS:
        resources[f"{fn.logical}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": log_policy,
            "UpdateReplacePolicy": log_policy,
            "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{AWS::StackName}}-{fn.name}"),
                           "RetentionInDays": settings.log_retention_days},
        }
        # The roles cannot create log groups: the group (with its retention) must exist first.
        resources[fn.logical] = {"DependsOn": [f"{fn.logical}LogGroup"], "Properties": {
            "FunctionName": _sub(f"${{AWS::StackName}}-{fn.name}")}}
    # Only the API handler serves POST /v1/me/identity: the verifier's settings go to it alone, not Globals,
    # and its token to a secret only its role may read.
    resources[API_HANDLER]["Properties"]["Environment"] = {"Variables": identity_verifier.environment()}
    resources.update(identity_verifier.resources())
    sqs_trigger = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
    resources["VerifyMaterial"]["Properties"]["Events"] = {"VerifyMaterialSqsEventSource": {"Properties": {
        "Queue": _sub("${UploadQueueArn}"), **sqs_trigger}}}
    resources["Deliver"]["Properties"]["Events"] = {"DeliverSqsEventSource": {"Properties": {
        "Queue": _sub("${DeliveryQueueArn}"), **sqs_trigger}}}
    resources["Dispatch"]["Properties"]["Events"] = {"DispatchDynamodbEventSource": {"Properties": {
        "Stream": {"Ref": "TableStreamArn"},
        # From the oldest record: a recreated trigger must not skip outbox events (delivery is idempotent).
        "StartingPosition": "TRIM_HORIZON",
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": STREAM_MAX_RETRIES,
        "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE,
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Ref": "DispatchDLQArn"}}},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # Only outbox INSERTs invoke it (infra/onetrip/stream_filter.py; the local pump filters alike).
        "FilterCriteria": filter_criteria(),
    }}}
    resources["RestAPI"] = {"Properties": {
        "Name": {"Ref": "AWS::StackName"},
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                            "ThrottlingRateLimit": settings.throttle_rate,
                            "ThrottlingBurstLimit": settings.throttle_burst}],
        "GatewayResponses": gateway_responses(),
    }}
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {
        "DisplayName": _sub("OneTrip ${AWS::StackName} alarms")}}
    resources["AlarmEmailSubscription"] = {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                           "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                                          "Endpoint": {"Ref": "AlarmEmail"}}}
    resources.update(alarms(stage))
    template = {
        "Parameters": parameters,
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
                       **identity_verifier.conditions()},
        "Globals": {"Function": {"Environment": {"Variables": {
            "ONETRIP_TABLE": {"Ref": "TableName"},
            "ONETRIP_BUCKET": {"Ref": "BucketName"},
            "ONETRIP_DELIVERY_QUEUE_URL": {"Ref": "DeliveryQueueUrl"},
            "ONETRIP_KMS_KEY_ID": {"Ref": "KeyArn"},
            "ONETRIP_BLIND_INDEX_KEY_ID": {"Ref": "BlindIndexKeyArn"},
            "ONETRIP_USER_POOL_ID": {"Ref": "UserPoolId"},
            "ONETRIP_ALERTS_TOPIC_ARN": {"Ref": "DeliveryAlertsTopicArn"},
            "ONETRIP_APPLICANT_TOPIC_ARN": {"Ref": "ApplicantNotificationsTopicArn"},
            "ONETRIP_JWKS_URL": _sub(f"{issuer}/.well-known/jwks.json"),
            "ONETRIP_ISSUER": _sub(issuer),
            "ONETRIP_AUDIENCES": _sub("${MobileClientId},${MachineClientId}"),
        }}}},
        "Resources": resources,
        "Outputs": {
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "ApiUrl": {"Value": _sub(f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
                                     f"{API_STAGE}/")},
        },
    }
    usage_plans.apply(stage, template, load_template(TEMPLATE_PATH))  # throttling per kind and department
    return template


# --------------------------------------------------------------------------- build

@dataclass(frozen=True)
class Package:
    stage: str
    directory: Path

    @property
    def stateful_template(self) -> Path:
        return self.directory / "stateful.yaml"

    @property
    def app_template(self) -> Path:
        return self.directory / "app.json"

    @property
    def code(self) -> Path:
        return self.directory / "deployment.zip"

    @property
    def manifest(self) -> Path:
        return self.directory / "manifest.json"

    def load_app(self) -> dict[str, Any]:
        return json.loads(self.app_template.read_text(encoding="utf-8"))

    def load_manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest.read_text(encoding="utf-8"))


def package_dir(stage: str, dist: Path | None = None) -> Path:
    return (dist or PROJECT_ROOT / "dist") / stage


class PackageError(RuntimeError):
    """`chalice package` or the checks on its output failed."""


def build(stage: str, dist: Path | None = None, *, project_root: Path = PROJECT_ROOT, lint: bool = True,
          log=print) -> Package:
    out = package_dir(stage, dist)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pkg = Package(stage, out)
    merge_path = out / "merge-template.json"
    merge_path.write_text(json.dumps(merge_template(stage), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    chalice_out = out / "chalice"
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice insists on one; the output names none
    log(f"chalice package --stage {stage} (downloads Lambda wheels on the first run) ...")
    result = subprocess.run(
        [str(chalice), "--project-dir", str(project_root), "package", "--stage", stage,
         "--merge-template", str(merge_path), str(chalice_out)],
        capture_output=True, text=True, env=env, timeout=900, check=False)
    if result.returncode != 0:
        raise PackageError(f"chalice package failed:\n{result.stdout}{result.stderr}")
    template = json.loads((chalice_out / "sam.json").read_text(encoding="utf-8"))
    template["Description"] = (f"OneTrip {stage} application: functions, API, alarms "
                               f"(wired to stack {stateful_stack_name(stage)})")
    problems = check_app_template(template)
    if problems:
        raise PackageError("packaged template refused:\n  " + "\n  ".join(problems))
    pkg.app_template.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.move(str(chalice_out / "deployment.zip"), pkg.code)
    shutil.rmtree(chalice_out)
    # Lambda cannot write bytecode into its code directory: ship it, or every cold start compiles.
    runtimes = {r["Properties"]["Runtime"] for r in template["Resources"].values()
                if r.get("Type") == "AWS::Serverless::Function"}
    if len(runtimes) != 1:
        raise PackageError(f"one Python runtime expected for every function, found {sorted(runtimes)}")
    compiled = add_bytecode(pkg.code, runtimes.pop())
    shutil.copyfile(TEMPLATE_PATH, pkg.stateful_template)
    digest = hashlib.sha256(pkg.code.read_bytes()).hexdigest()
    pkg.manifest.write_text(json.dumps({
        "stage": stage,
        "stateful_stack": stateful_stack_name(stage),
        "app_stack": app_stack_name(stage),
        "code_sha256": digest,
        "code_bytes": pkg.code.stat().st_size,
        "functions": {fn.logical: function_name(stage, fn.name) for fn in FUNCTIONS},
    }, indent=2) + "\n", encoding="utf-8")
    if lint:
        findings = cfn_lint(pkg.stateful_template, pkg.app_template)
        if findings:
            raise PackageError(f"cfn-lint findings:\n{findings}")
    log(f"packaged {stage} into {out} (code {pkg.code.stat().st_size / 1e6:.1f} MB with "
        f"{compiled['modules_compiled']} compiled modules, sha256 {digest[:12]})")
    return pkg


def check_app_template(template: dict[str, Any]) -> list[str]:
    """What the merge must have fixed; an unmerged placeholder would deploy a trigger on nothing."""
    problems = []
    text = json.dumps(template)
    if "arn:aws:" in text:
        problems.append("a literal arn:aws: ARN (the China partition needs ${AWS::Partition})")
    for placeholder in ("onetrip-uploads", "onetrip-deliveries", "stream/placeholder"):
        if placeholder in text:
            problems.append(f"Chalice placeholder {placeholder!r} survived the merge")
    known = {fn.logical for fn in FUNCTIONS}
    for logical, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function" and logical not in known:
            # Without its own entry it would run with the API handler's role (Chalice's fallback).
            problems.append(f"function {logical} is not in infra.onetrip.package.FUNCTIONS: add it there and "
                            "give it .chalice/policy-<name>.json in config.json's lambda_functions")
        for key, value in resource.get("Properties", {}).items():
            if isinstance(value, dict) and len(value) > 1 and all(k.startswith("Fn::") or k == "Ref" for k in value):
                problems.append(f"{logical}.{key} merged two intrinsics: {sorted(value)}")
    return problems


def cfn_lint(*templates: Path) -> str:
    """cfn-lint output (errors, warnings and the informational checks); empty when clean."""
    exe = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(exe), "--include-checks", "I", "--", *map(str, templates)],
                            capture_output=True, text=True, timeout=300, check=False)
    return (result.stdout + result.stderr).strip() if result.returncode != 0 else ""


def cmd_package(args: Any) -> int:
    stages = STAGES if args.stage == "all" else (args.stage,)
    for stage in stages:
        try:
            build(stage, args.dist, project_root=args.project_root, lint=not args.no_lint,
                  log=lambda m: print(m, file=sys.stderr))
        except PackageError as exc:
            print(f"onetrip package: {exc}", file=sys.stderr)
            return 1
    return 0


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("package", help="build dist/<stage>/: the stateful and application templates")
    parser.add_argument("--stage", choices=(*STAGES, "all"), required=True)
    parser.add_argument("--dist", type=Path, default=None, help="output root (default: ./dist)")
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint on the outputs")
    parser.set_defaults(handler=cmd_package)
