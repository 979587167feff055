"""Local AWS: a moto server, the stateful template deployed to it, and what moto skips.

moto's CloudFormation creates the table, queues, key and bucket but silently skips the Cognito
resources, queue and bucket policies, the bucket's notification, public access block and
lifecycle, and the table's TTL and PITR. `apply_skipped` applies those by direct API calls
derived from the same parsed template, so infra/template.yaml stays the one source of truth.
Local only: moto's Cognito signing key is public.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

from infra.onetrip.lifetime import checkpoint, held, spawn, stop_process
from infra.onetrip.template import (
    TEMPLATE_PATH,
    Resolver,
    known_values_from_outputs,
    load_template,
    resources_of_type,
)

log = logging.getLogger("onetrip.moto")

REGION = "us-east-1"
PARTITION = "aws"
DEFAULT_PORT = 4566
DEFAULT_STACK_NAME = "onetrip-local"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# moto answers some errors with HTTP 500 pages that botocore would retry for long.
BOTO_CONFIG = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def endpoint_for(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client on moto with fake credentials, whatever the caller's environment holds."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    ).client(service, endpoint_url=endpoint_url, config=BOTO_CONFIG)


# --------------------------------------------------------------------------- the server

def start_moto(port: int = DEFAULT_PORT, *, detach: bool = False, log_path: str | None = None,
               timeout: float = 20.0) -> subprocess.Popen:
    """Start `python -m moto.server` on 127.0.0.1:port and wait until it answers (see `spawn_moto`)."""
    with held():
        proc = spawn_moto(port, detach=detach, log_path=log_path)
    try:
        wait_for_moto(proc, port, timeout)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def spawn_moto(port: int = DEFAULT_PORT, *, detach: bool = False, log_path: str | None = None) -> subprocess.Popen:
    """Spawn `python -m moto.server` on 127.0.0.1:port without waiting for it.

    It runs in its own session either way (infra/onetrip/lifetime.py). detach=True: it outlives the
    process that started it (`onetrip up --detach`); otherwise it exits when that process dies.
    """
    if _answers(endpoint_for(port)):
        raise RuntimeError(f"something already listens on 127.0.0.1:{port}")
    env = {**os.environ, **FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}
    env.pop("AWS_ENDPOINT_URL", None)
    with open(log_path or os.devnull, "ab") as out:
        return spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                     outlive_parent=detach, stdout=out, stderr=subprocess.STDOUT,
                     stdin=subprocess.DEVNULL, env=env)


def wait_for_moto(proc: subprocess.Popen, port: int, timeout: float = 20.0) -> None:
    wait_until(lambda: _answers(endpoint_for(port)), timeout, f"moto on port {port}", alive=proc)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until(predicate, timeout: float, what: str, alive: subprocess.Popen | None = None,
               interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        checkpoint()
        if predicate():
            return
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {alive.returncode}")
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


# --------------------------------------------------------------------------- deploy

def deploy_template(endpoint_url: str, stage: str = "local",
                    stack_name: str = DEFAULT_STACK_NAME, timeout: float = 60.0) -> dict[str, str]:
    """Create the stack on moto's CloudFormation and return its outputs (moto's subset)."""
    cfn = client("cloudformation", endpoint_url)
    body = TEMPLATE_PATH.read_text(encoding="utf-8")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise RuntimeError(f"stack {stack_name}: {status} {stack.get('StackStatusReason', '')}")
        time.sleep(0.2)


def apply_skipped(endpoint_url: str, outputs: Mapping[str, str], stage: str = "local",
                  stack_name: str = DEFAULT_STACK_NAME,
                  template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Apply what moto's CloudFormation skipped; return the complete outputs plus JwksUrl/Issuer."""
    template = template or load_template()
    outputs = dict(outputs)
    account = client("sts", endpoint_url).get_caller_identity()["Account"]
    refs, atts = known_values_from_outputs(template, outputs)
    refs.update({
        "Stage": stage,
        "AWS::Region": REGION,
        "AWS::Partition": PARTITION,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    })
    # Attributes no output carries but that follow from a known name.
    for logical in resources_of_type(template, "AWS::S3::Bucket"):
        if logical in refs:
            atts.setdefault(f"{logical}.Arn", f"arn:{PARTITION}:s3:::{refs[logical]}")
    resolver = Resolver(template, refs, atts)

    _apply_queue_policies(endpoint_url, template, resolver)
    _apply_bucket_settings(endpoint_url, template, resolver)
    _apply_bucket_policies(endpoint_url, template, resolver)
    _apply_table_settings(endpoint_url, template, resolver)
    cognito_ids = _apply_cognito(endpoint_url, template, resolver)
    _apply_kms_key_specs(endpoint_url, template, resolver, outputs)

    # Outputs moto dropped because they referenced skipped resources, now resolvable.
    for name, spec in template.get("Outputs", {}).items():
        if name not in outputs:
            outputs[name] = resolver.resolve(spec["Value"])
    pool_id = outputs["UserPoolId"]
    outputs["JwksUrl"] = f"{endpoint_url}/{pool_id}/.well-known/jwks.json"
    # moto signs with the AWS issuer, so the JWKS URL cannot be derived from `iss`.
    outputs["Issuer"] = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    outputs["EndpointUrl"] = endpoint_url
    outputs["Region"] = REGION
    log.info("applied skipped resources: %s", ", ".join(sorted(cognito_ids)) or "none")
    return outputs


def _apply_kms_key_specs(endpoint_url: str, template: Mapping[str, Any], resolver: Resolver,
                         outputs: dict[str, str]) -> None:
    """moto's CloudFormation creates every KMS key as a symmetric encryption key, ignoring KeySpec and
    KeyUsage (an HMAC key then refuses GenerateMac). Such a key is created again by direct API call
    from the same template properties, and the outputs that name it are pointed at the new key."""
    kms = client("kms", endpoint_url)
    for logical, resource in resources_of_type(template, "AWS::KMS::Key").items():
        props = _resolved_props(resolver, resource)
        spec = props.get("KeySpec", "SYMMETRIC_DEFAULT")
        if spec == "SYMMETRIC_DEFAULT":
            continue
        created = kms.create_key(KeySpec=spec, KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                                 Description=props.get("Description", logical))["KeyMetadata"]
        for name, output in template.get("Outputs", {}).items():
            value = output.get("Value")
            if value == {"Ref": logical}:
                outputs[name] = created["KeyId"]
            elif value == {"Fn::GetAtt": [logical, "Arn"]} or value == {"Fn::GetAtt": f"{logical}.Arn"}:
                outputs[name] = created["Arn"]


def deploy(endpoint_url: str, stage: str = "local",
           stack_name: str = DEFAULT_STACK_NAME) -> dict[str, str]:
    """deploy_template + apply_skipped."""
    return apply_skipped(endpoint_url, deploy_template(endpoint_url, stage, stack_name),
                         stage, stack_name)


# --------------------------------------------------------------------------- appliers

def _resolved_props(resolver: Resolver, resource: Mapping[str, Any]) -> dict[str, Any]:
    if "Condition" in resource and not resolver.condition(resource["Condition"]):
        return {}
    return resolver.resolve(resource.get("Properties", {})) or {}


def _apply_queue_policies(endpoint_url: str, template, resolver: Resolver) -> None:
    sqs = client("sqs", endpoint_url)
    for resource in resources_of_type(template, "AWS::SQS::QueuePolicy").values():
        props = _resolved_props(resolver, resource)
        for queue_url in props.get("Queues", []):
            sqs.set_queue_attributes(
                QueueUrl=queue_url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})


def _apply_bucket_settings(endpoint_url: str, template, resolver: Resolver) -> None:
    s3 = client("s3", endpoint_url)
    for logical, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        if logical not in resolver.refs:
            continue  # bucket not exported: nothing to apply it to
        bucket = resolver.refs[logical]
        props = _resolved_props(resolver, resource)
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "BucketEncryption" in props:
            # moto's CloudFormation drops BucketKeyEnabled.
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [_encryption_rule(rule) for rule in
                          props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={
                "Rules": [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]})
        if "NotificationConfiguration" in props:
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration=_notification(props["NotificationConfiguration"]))


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])}
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
    return out


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    supported = {"Id", "Status", "Prefix", "ExpirationInDays"}
    unknown = set(rule) - supported
    if unknown:
        raise ValueError(f"lifecycle rule properties not applied locally: {sorted(unknown)}")
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    return out


def _notification(config: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration -> the S3 API's shape."""
    unknown = set(config) - {"QueueConfigurations"}
    if unknown:
        raise ValueError(f"notification configurations not applied locally: {sorted(unknown)}")
    queues = []
    for entry in config.get("QueueConfigurations", []):
        item: dict[str, Any] = {"QueueArn": entry["Queue"], "Events": [entry["Event"]]}
        rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        if rules:
            item["Filter"] = {"Key": {"FilterRules": [
                {"Name": rule["Name"], "Value": rule["Value"]} for rule in rules]}}
        queues.append(item)
    return {"QueueConfigurations": queues}


def _apply_bucket_policies(endpoint_url: str, template, resolver: Resolver) -> None:
    """Deliberately not applied: moto evaluates bucket policies, and the template's only one
    denies plain HTTP, which is all the local endpoint speaks (every request would get 403).
    Kept as a named step so the omission is visible; the template is linted instead."""


def _apply_table_settings(endpoint_url: str, template, resolver: Resolver) -> None:
    ddb = client("dynamodb", endpoint_url)
    for logical, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        if logical not in resolver.refs:
            continue
        table = resolver.refs[logical]
        props = _resolved_props(resolver, resource)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])})
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr:
            ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": bool(pitr["PointInTimeRecoveryEnabled"])})


# CloudFormation property names that differ from the Cognito API's parameter names.
_COGNITO_RENAMES = {"CreateUserPool": {"UserPoolName": "PoolName"}}


def _api_params(cognito, operation: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """Map resolved CFN properties to an API call's parameters, refusing what has no equivalent."""
    renames = _COGNITO_RENAMES.get(operation, {})
    members = cognito.meta.service_model.operation_model(operation).input_shape.members
    params = {renames.get(key, key): value for key, value in props.items()}
    unknown = set(params) - set(members)
    if unknown:
        raise ValueError(f"{operation}: template properties not applied locally: {sorted(unknown)}")
    return params


def _apply_cognito(endpoint_url: str, template, resolver: Resolver) -> list[str]:
    """Create the user pools, then groups and clients (which Ref their pool)."""
    cognito = client("cognito-idp", endpoint_url)
    created: list[str] = []
    for logical, resource in resources_of_type(template, "AWS::Cognito::UserPool").items():
        if logical in resolver.refs:
            continue  # a moto that creates it itself: nothing to do
        pool = cognito.create_user_pool(
            **_api_params(cognito, "CreateUserPool", _resolved_props(resolver, resource)))["UserPool"]
        resolver.refs[logical] = pool["Id"]
        resolver.atts[f"{logical}.Arn"] = pool["Arn"]
        resolver.atts[f"{logical}.ProviderName"] = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
        created.append(logical)
    for logical, resource in resources_of_type(template, "AWS::Cognito::UserPoolGroup").items():
        if logical in resolver.refs:
            continue
        group = cognito.create_group(
            **_api_params(cognito, "CreateGroup", _resolved_props(resolver, resource)))["Group"]
        resolver.refs[logical] = group["GroupName"]
        created.append(logical)
    for logical, resource in resources_of_type(template, "AWS::Cognito::UserPoolClient").items():
        if logical in resolver.refs:
            continue
        app_client = cognito.create_user_pool_client(
            **_api_params(cognito, "CreateUserPoolClient",
                          _resolved_props(resolver, resource)))["UserPoolClient"]
        resolver.refs[logical] = app_client["ClientId"]
        created.append(logical)
    return created
