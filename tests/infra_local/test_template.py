"""The template itself: the short-tag loader, the resolver, and cfn-lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.onetrip.template import (
    TEMPLATE_PATH,
    Resolver,
    UnresolvedError,
    load_template,
    parse_template,
)

SNIPPET = """
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Thing:
    Properties:
      A: !Ref Bucket
      B: !GetAtt Queue.Arn
      C: !GetAtt [Queue, QueueName]
      D: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root
      E: !Sub ["${Name}-x", {Name: !Ref Stage}]
      F: !If [IsProd, true, false]
      G: !Join ["-", [a, !Ref Stage]]
      H: !If [IsProd, 1, !Ref AWS::NoValue]
      I: "${NotATag}"
"""


def test_loader_turns_short_tags_into_long_forms():
    props = parse_template(SNIPPET)["Resources"]["Thing"]["Properties"]
    assert props["A"] == {"Ref": "Bucket"}
    assert props["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert props["C"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert props["D"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert props["E"] == {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}
    assert props["F"] == {"Fn::If": ["IsProd", True, False]}
    assert props["G"] == {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}


@pytest.mark.parametrize("stage, prod", [("prod", True), ("local", False)])
def test_resolver_resolves_refs_attributes_subs_and_conditions(stage, prod):
    template = parse_template(SNIPPET)
    refs = {"Stage": stage, "Bucket": "b1", "AWS::Partition": "aws-cn", "AWS::AccountId": "111"}
    atts = {"Queue.Arn": "arn:q", "Queue.QueueName": "q"}
    props = Resolver(template, refs, atts).resolve(template["Resources"]["Thing"]["Properties"])
    assert props["A"] == "b1"
    assert props["B"] == "arn:q"
    assert props["C"] == "q"
    assert props["D"] == "arn:aws-cn:iam::111:root"
    assert props["E"] == f"{stage}-x"
    assert props["F"] is prod
    assert props["G"] == f"a-{stage}"
    assert ("H" in props) is prod  # AWS::NoValue removes the key
    assert props["I"] == "${NotATag}"  # plain strings are left alone


def test_resolver_refuses_unknown_references():
    template = parse_template(SNIPPET)
    with pytest.raises(UnresolvedError):
        Resolver(template, {}).resolve({"Ref": "Nowhere"})


def test_real_template_keeps_logical_ids_outputs_and_partition_neutral_arns():
    template = load_template()
    assert {"Table", "Key", "UploadQueue", "UploadDLQ", "DeliveryQueue", "DeliveryDLQ",
            "UploadQueuePolicy", "MaterialsBucket", "MaterialsBucketPolicy", "UserPool",
            "MobileClient", "MachineClient"} <= set(template["Resources"])
    assert set(template["Outputs"]) == {
        "TableName", "TableStreamArn", "BucketName", "UploadQueueUrl", "UploadQueueArn",
        "UploadDLQUrl", "DeliveryQueueUrl", "DeliveryQueueArn", "DeliveryDLQUrl", "KeyId",
        "KeyArn", "UserPoolId", "MobileClientId", "MachineClientId",
        "DispatchDLQUrl", "DispatchDLQArn", "ArtifactsBucketName", "DeliveryAlertsTopicArn",
        "BlindIndexKeyId", "BlindIndexKeyArn", "ApplicantNotificationsTopicArn"}
    assert "arn:aws:" not in TEMPLATE_PATH.read_text(encoding="utf-8")
    groups = {r["Properties"]["GroupName"] for r in template["Resources"].values()
              if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"citizens", "enterprise-agents", "admins", "window:yq-centre", "terminal:yq-centre-kiosk-01",
                      "dept:yq-amr", "dept:yq-tax", "dept:yq-realestate"}


def test_table_deletion_protection_only_in_prod():
    template = load_template()
    table = template["Resources"]["Table"]
    for stage, expected in (("prod", True), ("dev", False), ("local", False)):
        props = Resolver(template, {"Stage": stage}).resolve(
            {"P": table["Properties"]["DeletionProtectionEnabled"]})
        assert props["P"] is expected
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE_PATH)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
