"""Integration fixtures: the real template on a moto server (one per session), the app in-process
behind `chalice.test.Client`, and helpers that feed its event handlers the exact Lambda events of
events/ filled with what moto really produced."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.config import get_settings
from infra.onetrip import moto_stack, samples, users
from infra.onetrip.moto_stack import endpoint_for, free_port, start_moto, stop_process
from infra.onetrip.seed import seed
from infra.onetrip.stack import app_env

EVENTS = Path(__file__).resolve().parents[2] / "events"

# Real files: the verifier parses what arrives (infra/onetrip/samples.py builds them from the specs).
PDF = samples.pdf()
PNG = samples.png()


@dataclass
class Stack:
    outputs: dict[str, str]
    users: dict[str, dict[str, Any]]
    seeded: dict[str, Any]
    env: dict[str, str]

    def token(self, username: str) -> str:
        return users.token(self.outputs, username)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}", "Content-Type": "application/json"}

    def aws(self, service: str) -> Any:
        return moto_stack.client(service, self.outputs["EndpointUrl"])


def _reset_app_caches() -> None:
    get_settings.cache_clear()
    aws.client.cache_clear()
    bootstrap.override(None, None)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    port = free_port()
    proc = start_moto(port)
    saved = dict(os.environ)
    try:
        outputs = moto_stack.deploy(endpoint_for(port))
        demo_users = users.create_users(outputs)
        env = app_env(outputs, api_port=0)
        os.environ.update(env)
        _reset_app_caches()
        seeded = seed(outputs, demo_users)
        yield Stack(outputs, demo_users, seeded, env)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _reset_app_caches()
        stop_process(proc)


@pytest.fixture
def api(stack: Stack) -> Iterator[Client]:
    from app import app

    _reset_app_caches()
    with Client(app, stage_name="local") as client:
        yield client


def call(api: Client, method: str, path: str, headers: dict[str, str] | None = None,
         body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    resp = getattr(api.http, method.lower())(path, headers=headers or {}, body=data)
    text = resp.body.decode() if resp.body else ""
    return resp.status_code, json.loads(text) if text else None


def upload(ticket: dict[str, Any], data: bytes) -> int:
    """A real multipart POST of the file to the presigned URL (moto's S3), as a mobile client does."""
    resp = requests.post(ticket["url"], data=ticket["fields"],
                         files={"file": ("upload.bin", data, ticket["content_type"])}, timeout=10)
    return resp.status_code


def upload_event(bucket: str, key: str) -> dict[str, Any]:
    text = (EVENTS / "sqs" / "upload-object-created.json").read_text()
    return json.loads(text.replace("__BUCKET__", bucket).replace("__KEY__", key))


def delivery_event(body: str, receive_count: int = 1) -> dict[str, Any]:
    event = json.loads((EVENTS / "sqs" / "delivery.json").read_text())
    record = event["Records"][0]
    record["body"] = body
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    record["messageAttributes"]["webhook_id"]["stringValue"] = json.loads(body)["webhook_id"]
    return event


def stream_event(image: dict[str, Any]) -> dict[str, Any]:
    event = json.loads((EVENTS / "dynamodb" / "outbox-insert.json").read_text())
    record = event["Records"][0]
    record["dynamodb"]["Keys"] = {"pk": image["pk"], "sk": image["sk"]}
    record["dynamodb"]["NewImage"] = image
    return event


def drain(stack: Stack, queue_url_output: str) -> list[dict[str, Any]]:
    """Every message currently on a queue (received and deleted), as SQS returned them."""
    sqs = stack.aws("sqs")
    url = stack.outputs[queue_url_output]
    messages: list[dict[str, Any]] = []
    for _ in range(20):
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   AttributeNames=["All"], MessageAttributeNames=["All"])
        batch = resp.get("Messages", [])
        if not batch:
            break
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


def outbox_images(stack: Stack, application_id: str) -> list[dict[str, Any]]:
    resp = stack.aws("dynamodb").query(
        TableName=stack.outputs["TableName"], KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": f"APP#{application_id}"}, ":s": {"S": "EVT#"}})
    return resp["Items"]


def verify_upload(api: Any, stack: Stack, app_id: str, material: str, data: bytes = PDF,
                  ctype: str = "application/pdf", owner: str = "citizen-verified") -> None:
    """One material through its presigned POST, judged by the real `verify_material` on S3's event."""
    status, ticket = call(api, "POST", f"/v1/applications/{app_id}/materials/{material}/uploads",
                          stack.headers(owner), {"content_type": ctype})
    assert status == 201 and upload(ticket, data) in (200, 204)
    drain(stack, "UploadQueueUrl")
    api.lambda_.invoke("verify_material", upload_event(stack.outputs["BucketName"], ticket["fields"]["key"]))


def accept_case(api: Any, stack: Stack, owner: str = "citizen-verified",
                enterprise_id: str | None = None) -> dict[str, Any]:
    """A single-department case (YQ-AMR-0001) accepted for `owner`, its materials verified."""
    body = {"item_code": "YQ-AMR-0001", **({"enterprise_id": enterprise_id} if enterprise_id else {})}
    status, draft = call(api, "POST", "/v1/applications", stack.headers(owner), body)
    assert status == 201
    for material, data, ctype in (("application-form", PDF, "application/pdf"),
                                  ("operator-id", PNG, "image/png"), ("premises-proof", PDF, "application/pdf")):
        verify_upload(api, stack, draft["id"], material, data, ctype, owner=owner)
    status, case = call(api, "POST", f"/v1/applications/{draft['id']}/submit", stack.headers(owner))
    assert status == 200, case
    return case


def new_user(stack: Stack, groups: list[str]) -> dict[str, str]:
    """A fresh user in the stack's pool (tests that change a user's state must not share one)."""
    from chalicelib.domain.ids import new_id

    username = new_id("user-").lower()
    password = users.load_users()["password"]
    cognito = stack.aws("cognito-idp")
    pool = stack.outputs["UserPoolId"]
    cognito.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    auth = cognito.admin_initiate_auth(UserPoolId=pool, ClientId=stack.outputs["MobileClientId"],
                                       AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": username, "PASSWORD": password})
    token = auth["AuthenticationResult"]["AccessToken"]
    return {"username": username, "token": token,
            "headers": {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}}
