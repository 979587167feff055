"""`onetrip deploy|destroy --stage dev|prod`: CloudFormation change sets with a plan, a guard, progress.

Deploy applies dist/<stage>/ (built by `onetrip package`) as two stacks: first `onetrip-<stage>`
(the stateful template), then `onetrip-<stage>-app`, whose parameters are the first stack's outputs
plus the identity verifier's URL, token and CA bundle from the admin's shell (checked before anything).
Each stack gets a change set; its plan is printed; a replacement or removal of a stateful resource
(table, bucket, key, queue, user pool, log group) is refused unless `--allow-replace`; then it asks
(or `--yes`), executes, prints each stack event as it happens, and finally the outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.onetrip.identity_verifier import IdentityVerifierValues
from infra.onetrip.identity_verifier import add_arguments as add_identity_verifier_arguments
from infra.onetrip.package import (
    PARAMETERS,
    STAGES,
    Package,
    app_stack_name,
    package_dir,
    stateful_stack_name,
)

# Replacing or removing one of these loses data (cases, materials, keys, undelivered work,
# accounts, legally retained logs): the plan refuses it unless the admin says --allow-replace.
STATEFUL_TYPES = frozenset({
    "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SQS::Queue",
    "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolGroup", "AWS::Cognito::UserPoolClient",
    "AWS::Logs::LogGroup",
})
APP_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
SHOWN_OUTPUTS = ("ApiUrl", "UserPoolId", "MobileClientId", "MachineClientId", "BucketName", "TableName",
                 "AlarmTopicArn")
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


class DeployError(RuntimeError):
    """The deploy stopped; the message says why and what to do."""


@dataclass
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str  # True | False | Conditional | "" (adds and removes)

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def destructive(self) -> bool:
        """Data would be lost: a stateful resource replaced (or maybe replaced) or removed."""
        return self.stateful and (self.replacement in ("True", "Conditional") or self.action == "Remove")


@dataclass
class ChangeSet:
    stack: str
    arn: str
    kind: str  # CREATE | UPDATE
    changes: list[Change] = field(default_factory=list)
    empty: bool = False


@dataclass
class Io:
    """Where the deploy talks to the admin; tests replace all three."""

    out: Callable[[str], None] = print
    ask: Callable[[str], str] = input
    sleep: Callable[[float], None] = time.sleep
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())


class Deployer:
    def __init__(self, cfn: Any, s3: Any, io: Io | None = None, *, poll_seconds: float = 5.0,
                 timeout_seconds: float = 3600.0) -> None:
        self.cfn = cfn
        self.s3 = s3
        self.io = io or Io()
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    # ------------------------------------------------------------------ stacks
    def stack(self, name: str) -> dict[str, Any] | None:
        try:
            return self.cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise

    @staticmethod
    def outputs(stack: dict[str, Any] | None) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}

    # ------------------------------------------------------------------ change sets
    def create_change_set(self, stack_name: str, *, parameters: dict[str, str],
                          template_body: str | None = None, template_url: str | None = None,
                          capabilities: tuple[str, ...] = ()) -> ChangeSet:
        existing = self.stack(stack_name)
        kind = "CREATE" if existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS" else "UPDATE"
        kwargs: dict[str, Any] = {
            "StackName": stack_name,
            "ChangeSetName": f"onetrip-{int(time.time())}",
            "ChangeSetType": kind,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "Capabilities": list(capabilities),
            "Description": "onetrip deploy",
        }
        if template_url:
            kwargs["TemplateURL"] = template_url
        else:
            kwargs["TemplateBody"] = template_body
        arn = self.cfn.create_change_set(**kwargs)["Id"]
        change_set = ChangeSet(stack_name, arn, kind)
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            described = self.cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                break
            if status == "FAILED":
                reason = described.get("StatusReason", "")
                if any(marker in reason for marker in _NO_CHANGES):
                    self.cfn.delete_change_set(ChangeSetName=arn, StackName=stack_name)
                    change_set.empty = True
                    return change_set
                raise DeployError(f"{stack_name}: the change set failed: {reason}")
            if time.monotonic() > deadline:
                raise DeployError(f"{stack_name}: the change set is still {status}")
            self.io.sleep(min(self.poll_seconds, 2.0))
        while True:
            for item in described.get("Changes", []):
                rc = item["ResourceChange"]
                change_set.changes.append(Change(rc["Action"], rc["LogicalResourceId"], rc["ResourceType"],
                                                 rc.get("Replacement", "")))
            token = described.get("NextToken")
            if not token:
                return change_set
            described = self.cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name, NextToken=token)

    def show_plan(self, change_set: ChangeSet) -> None:
        out = self.io.out
        if change_set.empty:
            out(f"\n{change_set.stack}: no changes")
            return
        verb = "create" if change_set.kind == "CREATE" else "update"
        out(f"\n{change_set.stack}: {verb}, {len(change_set.changes)} resource change(s)")
        rows = [("ACTION", "RESOURCE", "TYPE", "REPLACE", "")]
        for c in change_set.changes:
            flag = "!! DATA LOSS: stateful resource" if c.destructive else ("stateful" if c.stateful else "")
            rows.append((c.action, c.logical_id, c.resource_type, c.replacement or "-", flag))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            out("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])

    def guard(self, change_set: ChangeSet, allow_replace: bool) -> None:
        destructive = [c for c in change_set.changes if c.destructive]
        if not destructive:
            return
        names = ", ".join(f"{c.logical_id} ({c.resource_type}, {c.action.lower()}"
                          f"{', replacement ' + c.replacement if c.replacement else ''})" for c in destructive)
        if allow_replace:
            self.io.out(f"\n!! --allow-replace: {change_set.stack} will replace or remove {names}")
            return
        self.discard(change_set)
        raise DeployError(
            f"REFUSED: {change_set.stack} would replace or remove stateful resources: {names}. "
            "Their data would be lost or orphaned. Change the template so the update is in place, "
            "or rerun with --allow-replace after taking a backup.")

    def confirm(self, change_set: ChangeSet, yes: bool) -> None:
        if yes:
            return
        if not self.io.interactive:
            self.discard(change_set)
            raise DeployError("not a terminal: rerun with --yes to apply, or --plan to only look")
        answer = self.io.ask(f"Apply these changes to {change_set.stack}? Type 'yes': ").strip().lower()
        if answer != "yes":
            self.discard(change_set)
            raise DeployError(f"{change_set.stack}: not applied (answer was {answer!r})")

    def discard(self, change_set: ChangeSet) -> None:
        if change_set.empty:
            return
        self.cfn.delete_change_set(ChangeSetName=change_set.arn, StackName=change_set.stack)
        if change_set.kind == "CREATE":
            # A refused first change set leaves an empty stack in REVIEW_IN_PROGRESS: remove it.
            self.cfn.delete_stack(StackName=change_set.stack)

    def execute(self, change_set: ChangeSet) -> dict[str, Any]:
        marker = self._newest_event_id(change_set.stack)
        self.cfn.execute_change_set(ChangeSetName=change_set.arn, StackName=change_set.stack)
        return self.wait(change_set.stack, marker)

    # ------------------------------------------------------------------ progress
    def _newest_event_id(self, stack_name: str) -> str | None:
        events = self.cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])
        return events[0]["EventId"] if events else None

    def wait(self, stack_name: str, marker: str | None, *, deleting: bool = False) -> dict[str, Any]:
        """Print each new stack event until the stack settles; return the stack (None once deleted)."""
        start = time.monotonic()
        while True:
            self.io.sleep(self.poll_seconds)
            try:
                events = self.cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])
            except ClientError as exc:
                if deleting and "does not exist" in str(exc):
                    return {}
                raise
            fresh = []
            for event in events:  # newest first
                if event["EventId"] == marker:
                    break
                fresh.append(event)
            if fresh:
                marker = fresh[0]["EventId"]
            for event in reversed(fresh):
                reason = event.get("ResourceStatusReason", "")
                stamp = event["Timestamp"].strftime("%H:%M:%S") if hasattr(event["Timestamp"], "strftime") \
                    else str(event["Timestamp"])
                self.io.out(f"  {stamp}  {event['LogicalResourceId']:<32} {event['ResourceStatus']:<28} {reason}"
                            .rstrip())
            stack = self.stack(stack_name)
            if stack is None:
                if deleting:
                    return {}
                raise DeployError(f"{stack_name} disappeared")
            status = stack["StackStatus"]
            if deleting and status == "DELETE_COMPLETE":
                return {}
            if status.endswith("_COMPLETE") and "ROLLBACK" not in status and status != "DELETE_COMPLETE":
                return stack
            if status.endswith(("_FAILED", "ROLLBACK_COMPLETE")):
                raise DeployError(f"{stack_name}: {status} {stack.get('StackStatusReason', '')}".rstrip()
                                  + " (the events above name the resource that failed)")
            if time.monotonic() - start > self.timeout_seconds:
                raise DeployError(f"{stack_name}: still {status} after {self.timeout_seconds:.0f} s")

    # ------------------------------------------------------------------ artifacts
    def upload(self, bucket: str, key: str, body: bytes) -> None:
        """Content-addressed: an object already there is the same bytes, so it is not sent again."""
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def stage_app_template(self, pkg: Package, bucket: str, region: str) -> str:
        """Upload the code and the app template (which names the code's S3 location); return its URL."""
        digest = hashlib.sha256(pkg.code.read_bytes()).hexdigest()
        code_key = f"artifacts/{pkg.stage}/code-{digest}.zip"
        self.io.out(f"uploading the function code to s3://{bucket}/{code_key} ...")
        self.upload(bucket, code_key, pkg.code.read_bytes())
        template = pkg.load_app()
        for resource in template["Resources"].values():
            if resource.get("Type") == "AWS::Serverless::Function":
                resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": code_key}
        body = json.dumps(template, indent=1, ensure_ascii=False).encode()
        template_key = f"artifacts/{pkg.stage}/app-{hashlib.sha256(body).hexdigest()}.json"
        self.upload(bucket, template_key, body)
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return f"https://{bucket}.s3.{region}.{suffix}/{template_key}"

    # ------------------------------------------------------------------ the whole flow
    def deploy(self, pkg: Package, region: str, *, identity_verifier: IdentityVerifierValues,
               plan_only: bool = False, yes: bool = False, allow_replace: bool = False,
               alarm_email: str = "") -> dict[str, str]:
        stage = pkg.stage
        out = self.io.out
        # Checked before the first stack is touched: a stateful stack updated and an application stack
        # refused for a missing parameter would be a half-deployed stage.
        problems = identity_verifier.problems(pkg.code)
        if problems:
            raise DeployError("nothing deployed: the identity verifier is not configured:\n  " + "\n  ".join(problems))
        # 1. the stateful stack
        stateful_name = stateful_stack_name(stage)
        stateful_cs = self.create_change_set(
            stateful_name, template_body=pkg.stateful_template.read_text(encoding="utf-8"),
            parameters={"Stage": stage})
        self.show_plan(stateful_cs)
        self.guard(stateful_cs, allow_replace)
        if plan_only:
            self.discard(stateful_cs)
            current = self.stack(stateful_name)
            if current is None:
                out(f"\n{app_stack_name(stage)}: planned once {stateful_name} exists "
                    f"({sum(1 for _ in pkg.load_app()['Resources'])} resources)")
                return {}
            return self._app(pkg, region, self.outputs(current), plan_only=True, yes=yes,
                             allow_replace=allow_replace, alarm_email=alarm_email,
                             identity_verifier=identity_verifier)
        if stateful_cs.empty:
            stateful = self.stack(stateful_name)
        else:
            self.confirm(stateful_cs, yes)
            out(f"applying {stateful_name} ...")
            stateful = self.execute(stateful_cs)
        stateful_outputs = self.outputs(stateful)
        # 2. the application stack, wired to the stateful outputs
        app_outputs = self._app(pkg, region, stateful_outputs, plan_only=False, yes=yes,
                                allow_replace=allow_replace, alarm_email=alarm_email,
                                identity_verifier=identity_verifier)
        if stage == "prod":
            for name in (stateful_name, app_stack_name(stage)):
                self.cfn.update_termination_protection(EnableTerminationProtection=True, StackName=name)
            out("termination protection is on for both prod stacks")
        merged = {**stateful_outputs, **app_outputs}
        out("")
        for key in SHOWN_OUTPUTS:
            if key in merged:
                out(f"  {key:<16} {merged[key]}")
        return merged

    def _app(self, pkg: Package, region: str, stateful_outputs: dict[str, str], *, plan_only: bool,
             yes: bool, allow_replace: bool, alarm_email: str,
             identity_verifier: IdentityVerifierValues) -> dict[str, str]:
        name = app_stack_name(pkg.stage)
        missing = [p for p in PARAMETERS if p not in stateful_outputs]
        if missing:
            raise DeployError(f"{stateful_stack_name(pkg.stage)} lacks outputs {missing}: deploy it first")
        bucket = stateful_outputs["ArtifactsBucketName"]
        url = self.stage_app_template(pkg, bucket, region)
        parameters = {p: stateful_outputs[p] for p in PARAMETERS}
        parameters["AlarmEmail"] = alarm_email
        parameters.update(identity_verifier.parameters())
        change_set = self.create_change_set(name, template_url=url, parameters=parameters,
                                            capabilities=APP_CAPABILITIES)
        self.show_plan(change_set)
        self.guard(change_set, allow_replace)
        if plan_only:
            self.discard(change_set)
            return {}
        if change_set.empty:
            return self.outputs(self.stack(name))
        self.confirm(change_set, yes)
        self.io.out(f"applying {name} ...")
        return self.outputs(self.execute(change_set))

    # ------------------------------------------------------------------ destroy
    def destroy(self, stage: str, dynamodb: Any, *, yes: bool = False) -> None:
        out = self.io.out
        app_name, stateful_name = app_stack_name(stage), stateful_stack_name(stage)
        stateful = self.stack(stateful_name)
        app = self.stack(app_name)
        protected = [s["StackName"] for s in (app, stateful) if s and s.get("EnableTerminationProtection")]
        outputs = self.outputs(stateful)
        if outputs.get("TableName"):
            table = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]
            if table.get("DeletionProtectionEnabled"):
                protected.append(f"table {outputs['TableName']}")
        if protected:
            raise DeployError(
                f"REFUSED: deletion protection is on for {', '.join(protected)}. Destroying {stage} "
                "must be a deliberate act: turn the protection off by hand first "
                "(aws cloudformation update-termination-protection --no-enable-termination-protection, "
                "aws dynamodb update-table --no-deletion-protection-enabled).")
        if app is None and stateful is None:
            out(f"nothing to destroy: neither {app_name} nor {stateful_name} exists")
            return
        if not yes:
            if not self.io.interactive:
                raise DeployError("not a terminal: rerun with --yes")
            answer = self.io.ask(f"Delete {app_name} and {stateful_name}? Type the stage name ({stage}): ")
            if answer.strip() != stage:
                raise DeployError("not destroyed")
        for name, stack in ((app_name, app), (stateful_name, stateful)):
            if stack is None:
                continue
            if name == stateful_name and outputs.get("ArtifactsBucketName"):
                self._empty_bucket(outputs["ArtifactsBucketName"])
            marker = self._newest_event_id(name)
            out(f"deleting {name} ...")
            self.cfn.delete_stack(StackName=name)
            self.wait(name, marker, deleting=True)
        kept = {k: v for k, v in outputs.items() if k in ("TableName", "BucketName", "KeyArn", "UserPoolId",
                                                          "UploadQueueUrl", "DeliveryQueueUrl",
                                                          "UploadDLQUrl", "DeliveryDLQUrl", "DispatchDLQUrl")}
        if kept:
            out("kept (DeletionPolicy: Retain; delete by hand once nothing in them is needed):")
            for key, value in kept.items():
                out(f"  {key:<16} {value}")

    def _empty_bucket(self, bucket: str) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


# --------------------------------------------------------------------------- CLI

def _session(args: Any) -> Any:
    import boto3

    return boto3.session.Session(profile_name=args.profile, region_name=args.region)


def load_package(stage: str, dist: Path | None) -> Package:
    pkg = Package(stage, package_dir(stage, dist))
    for path in (pkg.stateful_template, pkg.app_template, pkg.code):
        if not path.exists():
            raise DeployError(f"{path} is missing: run `onetrip package --stage {stage}` (or `make package`)")
    return pkg


def cmd_deploy(args: Any) -> int:
    try:
        pkg = load_package(args.stage, args.dist)
        session = _session(args)
        region = session.region_name
        if not region:
            raise DeployError("no region: pass --region or set AWS_REGION")
        deployer = Deployer(session.client("cloudformation"), session.client("s3"))
        identity = IdentityVerifierValues.from_environ(os.environ, url=args.identity_verifier_url,
                                                      ca_bundle=args.identity_verifier_ca_bundle)
        deployer.deploy(pkg, region, plan_only=args.plan, yes=args.yes, allow_replace=args.allow_replace,
                        alarm_email=args.alarm_email, identity_verifier=identity)
    except DeployError as exc:
        print(f"\nonetrip deploy: {exc}", file=sys.stderr)
        return 3 if str(exc).startswith("REFUSED") else 1
    return 0


def cmd_destroy(args: Any) -> int:
    try:
        session = _session(args)
        deployer = Deployer(session.client("cloudformation"), session.client("s3"))
        deployer.destroy(args.stage, session.client("dynamodb"), yes=args.yes)
    except DeployError as exc:
        print(f"onetrip destroy: {exc}", file=sys.stderr)
        return 3 if str(exc).startswith("REFUSED") else 1
    return 0


def add_aws_arguments(parser: Any) -> None:
    parser.add_argument("--profile", default=None, help="AWS profile (default: the environment's credentials)")
    parser.add_argument("--region", default=None, help="AWS region, e.g. cn-north-1 (default: AWS_REGION)")


def add_parsers(sub: Any) -> None:
    deploy = sub.add_parser("deploy", help="plan and apply dist/<stage>/ through CloudFormation change sets")
    deploy.add_argument("--stage", choices=STAGES, required=True)
    deploy.add_argument("--plan", action="store_true", help="show what would change, change nothing")
    deploy.add_argument("--yes", action="store_true", help="apply without asking")
    deploy.add_argument("--allow-replace", action="store_true",
                        help="allow replacing or removing stateful resources (data loss)")
    deploy.add_argument("--alarm-email", default="", help="subscribe this address to the alarm topic")
    add_identity_verifier_arguments(deploy)
    deploy.add_argument("--dist", type=Path, default=None, help=argparse.SUPPRESS)
    add_aws_arguments(deploy)
    deploy.set_defaults(handler=cmd_deploy)
    destroy = sub.add_parser("destroy", help="delete a stage's stacks (refused while deletion protection is on)")
    destroy.add_argument("--stage", choices=STAGES, required=True)
    destroy.add_argument("--yes", action="store_true", help="do not ask")
    add_aws_arguments(destroy)
    destroy.set_defaults(handler=cmd_destroy)

