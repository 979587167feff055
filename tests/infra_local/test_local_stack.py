"""The whole local stack over real processes, with a stub Chalice app standing in for app.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jwt

from infra.onetrip.moto_stack import client, free_port
from infra.onetrip.stack import INFRA_ROOT, LocalStack, _alive

STUB_PROJECT = Path(__file__).parent / "stub_project"


def _stub_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(STUB_PROJECT, root)
    return root


def _get_json(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
        return json.load(resp)


def _wait_for_item(moto_url: str, table: str, key: dict, timeout: float = 10) -> bool:
    ddb = client("dynamodb", moto_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Item" in ddb.get_item(TableName=table, Key=key):
            return True
        time.sleep(0.1)
    return False


def test_local_stack_serves_the_app_and_pumps_events_then_stops_everything(tmp_path):
    root = _stub_project(tmp_path)
    # The lead's seed runs the real app's use cases: not this stub's business.
    with LocalStack.start(moto_port=free_port(), api_port=free_port(),
                          extra_env={"ONETRIP_TEST_MARKER": "from-test"},
                          project_root=root, seed=False) as stack:
        pids = [proc.pid for proc in stack.processes.values()]
        seen = _get_json(f"{stack.api_url}/v1/items")
        assert seen["table"] == stack.outputs["TableName"]
        assert seen["marker"] == "from-test"
        assert seen["audiences"] == (f"{stack.outputs['MobileClientId']},"
                                     f"{stack.outputs['MachineClientId']}")
        assert stack.env["AWS_ENDPOINT_URL"] == stack.moto_url
        assert stack.env["ONETRIP_API_BASE_URL"] == stack.api_url
        claims = jwt.decode(stack.token("dept-yq-amr"), options={"verify_signature": False})
        assert claims["cognito:groups"] == ["dept:yq-amr"]
        assert stack.users["dept-yq-amr"]["sub"] == claims["sub"]
        # table write -> stream -> dispatch -> delivery queue -> deliver -> table, all in the pump
        client("dynamodb", stack.moto_url).put_item(
            TableName=stack.outputs["TableName"],
            # An outbox-shaped record (`type: event`): the pump applies the deployed trigger's filter.
            Item={"pk": {"S": "stub#ping"}, "sk": {"S": "p1"}, "type": {"S": "event"}})
        assert _wait_for_item(stack.moto_url, stack.outputs["TableName"],
                              {"pk": {"S": "stub#delivered"}, "sk": {"S": "p1"}})
    assert not any(_alive(pid) for pid in pids)


def _onetrip(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infra.onetrip", "--project-root", str(root), *args],
        cwd=INFRA_ROOT, capture_output=True, text=True, timeout=90,
        env={**os.environ, "PYTHONPATH": str(INFRA_ROOT)})


def test_cli_up_detach_token_status_down(tmp_path):
    root = _stub_project(tmp_path)
    moto_port, api_port = free_port(), free_port()
    up = _onetrip(root, "up", "--port", str(moto_port), "--api-port", str(api_port), "--detach",
                  "--no-seed")  # the stub app has no catalogue to seed
    state_file = root / ".onetrip" / "state.json"
    try:
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{api_port}" in up.stdout
        assert "onetrip token citizen-verified" in up.stdout
        state = json.loads(state_file.read_text())
        assert set(state["processes"]) == {"moto", "api", "pump"}
        assert all(_alive(p["pid"]) for p in state["processes"].values())
        assert set(state["users"]) >= {"citizen-verified", "dept-yq-tax"}

        token = _onetrip(root, "token", "citizen-verified")
        assert token.returncode == 0, token.stderr
        claims = jwt.decode(token.stdout.strip(), options={"verify_signature": False})
        assert claims["cognito:groups"] == ["citizens"]
        assert claims["sub"] == state["users"]["citizen-verified"]["sub"]

        status = _onetrip(root, "status")
        assert json.loads(status.stdout)["processes"]["api"]["alive"] is True

        again = _onetrip(root, "up", "--port", str(free_port()), "--api-port", str(free_port()),
                         "--detach")
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        down = _onetrip(root, "down")
    assert down.returncode == 0, down.stderr
    assert not state_file.exists()
    assert not any(_alive(p["pid"]) for p in state["processes"].values())
