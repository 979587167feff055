"""The stateful stack a deploy applies is infra/template.yaml, it deploys to moto's CloudFormation for
a deployed stage too, and its outputs feed every parameter of the application stack."""

from __future__ import annotations

import pytest

from infra.onetrip import moto_stack
from infra.onetrip.package import PARAMETERS


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    for name, value in moto_stack.FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_stateful_template_deploys_for_dev_and_yields_every_app_parameter(moto_url, packages):
    body = packages["dev"].stateful_template.read_text(encoding="utf-8")
    assert body == moto_stack.TEMPLATE_PATH.read_text(encoding="utf-8")  # what `onetrip up` deploys
    raw = moto_stack.deploy_template(moto_url, stage="dev", stack_name="onetrip-dev")
    outputs = moto_stack.apply_skipped(moto_url, raw, stage="dev", stack_name="onetrip-dev")
    missing = [p for p in (*PARAMETERS, "ArtifactsBucketName") if not outputs.get(p)]
    assert missing == []
    sqs = moto_stack.client("sqs", moto_url)
    attrs = sqs.get_queue_attributes(QueueUrl=outputs["DispatchDLQUrl"], AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["QueueArn"] == outputs["DispatchDLQArn"]
    s3 = moto_stack.client("s3", moto_url)
    block = s3.get_public_access_block(Bucket=outputs["ArtifactsBucketName"])["PublicAccessBlockConfiguration"]
    assert all(block.values())
