"""The IAM analysis checked against what really happens: one case through the real handlers on moto
(the bench's journey: API in-process, event handlers fed by the pump's code, demo receivers), plus a
rejected upload, a real-name verification and both scheduled sweeps, with every AWS request recorded
per Lambda function. Each request must be (1) one the static analysis (infra/onetrip/iam_usage.py)
derives for that function — so the analysis misses no path the journey takes — and (2) allowed by a
statement of that function's policy file on that very resource (table, index, object key prefix,
queue, key, topic, user pool), the policy's intrinsics resolved with the stack's outputs.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from infra.onetrip import iam_usage

ITEM = "YQ-AMR-0001"
LI_SI = {"name": "李四", "id_number": "330382199001011237"}  # the demo registry's unverified citizen


@dataclass(frozen=True)
class Request:
    function: str
    action: str
    resource: str


def _function_of(label: str) -> str | None:
    if label.startswith("api "):
        return "api_handler"
    return None if label in ("-", "authorizer") else label


class _Arns:
    def __init__(self, outputs: dict[str, str]) -> None:
        _, _, _, self.region, self.account, _ = outputs["KeyArn"].split(":", 5)
        self.outputs = outputs
        self.bucket_key = outputs["KeyArn"]

    def table(self, name: str, index: str | None = None) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}" + (f"/index/{index}" if index else "")

    def queue(self, url: str) -> str:
        account, name = url.rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:{self.region}:{account}:{name}"

    def key(self, key_id: str) -> str:
        return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}"

    def requests(self, function: str, service: str, operation: str, params: dict[str, Any]) -> list[Request]:
        """The IAM actions one API call needs, each with the resource it acts on."""
        out: list[tuple[str, str]] = []
        if service == "dynamodb":
            if operation == "TransactWriteItems":
                for entry in params["TransactItems"]:
                    (kind, item), = entry.items()
                    out.append((iam_usage.TRANSACTION_ITEM_ACTIONS[kind], self.table(item["TableName"])))
            elif operation == "BatchGetItem":
                out += [("dynamodb:BatchGetItem", self.table(t)) for t in params["RequestItems"]]
            else:
                out.append((f"dynamodb:{operation}", self.table(params["TableName"], params.get("IndexName"))))
        elif service == "s3":
            if "Key" not in params:  # a presigned POST: its key is a condition of the signed policy, not a param
                return []
            obj = f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
            if operation == "CopyObject":
                source = params["CopySource"]  # botocore may have turned it into "bucket/key" already
                copied = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else unquote(source)
                out += [("s3:GetObject", f"arn:aws:s3:::{copied.split('?')[0]}"), ("s3:PutObject", obj),
                        ("kms:Decrypt", self.bucket_key), ("kms:GenerateDataKey", self.bucket_key)]
            else:
                for action in iam_usage.Analysis._actions("s3", operation):
                    out.append((action, self.bucket_key if action.startswith("kms:") else obj))
        elif service == "sqs":
            for action in iam_usage.Analysis._actions("sqs", operation):
                out.append((action, self.queue(params["QueueUrl"])))
        elif service == "kms":
            out.append((f"kms:{operation}", self.key(params["KeyId"])))
        elif service == "sns":
            out.append((f"sns:{operation}", params["TopicArn"]))
        elif service == "cognito-idp":
            out.append((f"cognito-idp:{operation}",
                        f"arn:aws:cognito-idp:{self.region}:{self.account}:userpool/{params['UserPoolId']}"))
        else:
            raise AssertionError(f"{function} called an unexpected service {service}:{operation}")
        return [Request(function, action, resource) for action, resource in out]

    def resolve(self, value: Any) -> list[str]:
        """A policy statement's Resource with its intrinsics resolved against this stack."""
        if isinstance(value, list):
            return [r for v in value for r in self.resolve(v)]
        text = value["Fn::Sub"] if isinstance(value, dict) else value
        known = {"AWS::Partition": "aws", "AWS::Region": self.region, "AWS::AccountId": self.account,
                 "AWS::StackName": "onetrip-test-app", **self.outputs}
        return [re.sub(r"\$\{([^}]+)\}", lambda m: known.get(m.group(1), "<unresolved " + m.group(1) + ">"), text)]


@pytest.fixture(scope="module")
def observed() -> Iterator[tuple[list[Request], _Arns]]:
    from bench.journey import JourneyBench
    from bench.motostack import MotoStack
    from bench.samples import PDF, PNG
    from chalicelib.adapters import aws
    from infra.onetrip.moto_stack import free_port
    from infra.onetrip.receiver import DemoReceiver
    from infra.onetrip.seed import load_catalogue

    ports = {d["code"]: free_port() for d in load_catalogue()["departments"]}
    urls = {code: f"http://127.0.0.1:{port}/webhooks/{code}" for code, port in ports.items()}
    with MotoStack(urls) as stack:
        receivers = {code: DemoReceiver(code, [stack.seeded["departments"][code]["secret"]], port=port).start()
                     for code, port in ports.items()}
        bench = JourneyBench(stack, receivers, profile=False)
        arns = _Arns(stack.outputs)
        seen: list[Request] = []

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            function = _function_of(bench.recorder.function)
            if function is not None:  # only the app's own invocations (the bench's setup is not counted)
                seen.extend(arns.requests(function, model.service_model.endpoint_prefix, model.name, params))

        clients = [aws.client(s) for s in iam_usage.SERVICES]
        for client in clients:
            client.meta.events.register("before-parameter-build", record)
        try:
            bench.run(ITEM)
            # A file that is not what it claims: rejected and moved to quarantine.
            draft = bench.api("POST", "/v1/applications", "/v1/applications", "citizen-verified",
                              {"item_code": ITEM}, expect=201)
            ticket = bench.api("POST", f"/v1/applications/{draft['id']}/materials/application-form/uploads",
                               "/v1/applications/{id}/materials/{code}/uploads", "citizen-verified",
                               {"content_type": "application/pdf"}, expect=201)
            assert requests.post(ticket["url"], data=ticket["fields"],
                                 files={"file": ("f.pdf", PNG, "application/pdf")}, timeout=10).status_code in (200, 204)
            bench.drain()
            # Real-name verification: blind index, envelope encryption, the user pool attribute.
            bench.api("POST", "/v1/me/identity", "/v1/me/identity", "citizen-unverified", LI_SI)
            for name in ("sweep_due_deliveries", "sweep_deadlines"):
                bench.pump._invoke(name, {"version": "0", "id": "iam", "detail-type": "Scheduled Event",
                                          "source": "aws.events", "account": arns.account, "region": arns.region,
                                          "time": "2026-11-27T09:30:00Z", "resources": [], "detail": {}})
            assert PDF  # the journey's own uploads are the real sample files
            yield seen, arns
        finally:
            for client in clients:
                client.meta.events.unregister("before-parameter-build", record)
            bench.close()
            for receiver in receivers.values():
                receiver.stop()


def test_the_journey_made_requests_in_every_function_that_uses_aws(observed):
    seen, _ = observed
    functions = {r.function for r in seen}
    assert {"api_handler", "verify_material", "dispatch", "deliver", "sweep_due_deliveries"} <= functions
    actions = {r.action for r in seen}
    assert {"s3:DeleteObject", "kms:GenerateMac", "cognito-idp:AdminUpdateUserAttributes"} <= actions


def test_every_request_is_one_the_analysis_derives_for_its_function(observed):
    seen, _ = observed
    derived = {name: usage.actions for name, usage in iam_usage.derive().items()}
    missed = sorted({(r.function, r.action) for r in seen if r.action not in derived[r.function]})
    assert missed == [], f"the static analysis missed these (function, action) pairs: {missed}"


def test_every_request_is_allowed_by_its_functions_policy_on_that_resource(observed):
    seen, arns = observed
    refused = set()
    for request in set(seen):
        policy = json.loads(iam_usage.policy_file(request.function).read_text(encoding="utf-8"))
        allowed = any(
            request.action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            and any(fnmatch.fnmatchcase(request.resource, pattern) for pattern in arns.resolve(s["Resource"]))
            for s in policy["Statement"] if s["Effect"] == "Allow")
        if not allowed:
            refused.add((request.function, request.action, request.resource))
    assert sorted(refused) == [], f"AWS would refuse these requests (function, action, resource): {sorted(refused)}"
