"""Least privilege, checked against the code: each function's explicit policy file grants exactly the
actions its code (derived by infra/onetrip/iam_usage.py) and its triggers use — nothing missing (it
would fail in AWS with AccessDenied, which moto never does) and nothing granted in vain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.onetrip import iam_usage
from infra.onetrip.package import FUNCTIONS
from infra.onetrip.template import load_template

ROOT = iam_usage.PROJECT_ROOT


@pytest.fixture(scope="module")
def comparisons() -> dict[str, iam_usage.Comparison]:
    return {c.function: c for c in iam_usage.compare()}


@pytest.mark.parametrize("function", [fn.name for fn in FUNCTIONS])
def test_the_policy_grants_every_action_the_function_uses(comparisons, function):
    missing = comparisons[function].missing
    assert missing == {}, f"{function}: its policy lacks {sorted(missing)}, used at {missing}"


@pytest.mark.parametrize("function", [fn.name for fn in FUNCTIONS])
def test_the_policy_grants_nothing_the_function_does_not_use(comparisons, function):
    unused = comparisons[function].unused
    assert unused == [], f"{function}: its policy grants {unused}, which nothing in the function uses"


def test_the_derivation_follows_ports_to_their_adapters_and_triggers():
    usage = {name: u.actions for name, u in iam_usage.derive().items()}
    assert usage["jwt_authorizer"] == set(iam_usage.LOGS)  # verifies tokens offline: no AWS at all
    assert iam_usage.SQS_TRIGGER <= usage["verify_material"] and iam_usage.SQS_TRIGGER <= usage["deliver"]
    assert iam_usage.STREAM_TRIGGER <= usage["dispatch"]
    assert {"s3:DeleteObject", "s3:PutObject", "kms:GenerateDataKey"} <= usage["verify_material"]  # quarantine
    assert {"kms:GenerateMac", "cognito-idp:AdminUpdateUserAttributes", "s3:PutObject"} <= usage["api_handler"]
    assert "sqs:SendMessage" in usage["dispatch"]  # fan-out, and the stream's on-failure queue
    assert not any(a.startswith("dynamodb:Transact") for actions in usage.values() for a in actions)


def test_sse_kms_implications_match_the_bucket_encryption():
    bucket = load_template()["Resources"]["MaterialsBucket"]["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"  # what SSE_KMS assumes


def _copy_project(tmp_path: Path) -> Path:
    (tmp_path / ".chalice").mkdir()
    for path in (ROOT / ".chalice").glob("*.json"):
        shutil.copy(path, tmp_path / ".chalice" / path.name)
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _edit_policy(root: Path, function: str, change) -> None:
    path = iam_usage.policy_file(function, root)
    policy = json.loads(path.read_text(encoding="utf-8"))
    change(policy["Statement"])
    path.write_text(json.dumps(policy), encoding="utf-8")


def test_a_policy_that_lost_an_action_or_gained_one_is_reported(tmp_path):
    root = _copy_project(tmp_path)

    def change(statements):
        for statement in statements:
            statement["Action"] = [a for a in statement["Action"] if a != "dynamodb:Query"]
        statements.append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:x"})

    _edit_policy(root, "dispatch", change)
    [dispatch] = [c for c in iam_usage.compare(root) if c.function == "dispatch"]
    assert set(dispatch.missing) == {"dynamodb:Query"}
    assert dispatch.unused == ["s3:GetObject"]


def test_a_new_aws_call_in_an_adapter_is_attributed_to_every_function_that_reaches_it(tmp_path):
    root = _copy_project(tmp_path)
    sqs = root / "chalicelib" / "adapters" / "sqs.py"
    text = sqs.read_text(encoding="utf-8")
    marker = "            resp = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)\n"
    assert marker in text
    sqs.write_text(text.replace(marker, marker + "            self._sqs.purge_queue(QueueUrl=self._url)\n"),
                   encoding="utf-8")
    found = {c.function: c for c in iam_usage.compare(root)}
    assert "sqs:PurgeQueue" in found["dispatch"].missing and "sqs:PurgeQueue" in found["deliver"].missing
    assert "sqs:PurgeQueue" not in found["verify_material"].missing  # it never queues deliveries
