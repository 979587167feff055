"""The deploy and destroy flows against botocore's Stubber (moto cannot run change sets of SAM templates)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from infra.onetrip.deploy import APP_CAPABILITIES, Deployer, DeployError, Io
from infra.onetrip.identity_verifier import IdentityVerifierValues
from infra.onetrip.package import PARAMETERS

STATEFUL, APP = "onetrip-dev", "onetrip-dev-app"
CS_STATEFUL = "arn:aws-cn:cloudformation:cn-north-1:111122223333:changeSet/onetrip-1/aaa"
CS_APP = "arn:aws-cn:cloudformation:cn-north-1:111122223333:changeSet/onetrip-2/bbb"
NOW = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
OUTPUTS = {name: f"value-of-{name}" for name in PARAMETERS} | {"ArtifactsBucketName": "artifacts-bucket"}
IDENTITY = IdentityVerifierValues("https://idv.example.gov.cn/v1/verify", "s3cr3t-bearer-t0ken")


def _clients():
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="cn-north-1")
    return session.client("cloudformation"), session.client("s3"), session.client("dynamodb")


class Recorder:
    def __init__(self, answers=()):
        self.lines: list[str] = []
        self.answers = list(answers)
        self.io = Io(out=self.lines.append, ask=lambda _prompt: self.answers.pop(0), sleep=lambda _s: None,
                     interactive=True)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _missing(stub: Stubber, stack: str) -> None:
    stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {stack} does not exist",
                          expected_params={"StackName": stack})


def _stack(status: str, name: str, outputs: dict | None = None, protection: bool = False) -> dict:
    return {"Stacks": [{"StackName": name, "StackStatus": status, "CreationTime": NOW,
                        "EnableTerminationProtection": protection,
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()]}]}


def _change(action, logical, rtype, replacement=None):
    rc = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype}
    if replacement:
        rc["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": rc}


def _change_set(stub, stack, arn, kind, changes, parameters=None, template_url=None):
    expected = {"StackName": stack, "ChangeSetName": ANY, "ChangeSetType": kind, "Parameters": parameters or ANY,
                "Capabilities": ANY, "Description": "onetrip deploy"}
    expected["TemplateURL" if template_url else "TemplateBody"] = template_url or ANY
    stub.add_response("create_change_set", {"Id": arn, "StackId": f"id-{stack}"}, expected)
    stub.add_response("describe_change_set", {"Status": "CREATE_PENDING", "ChangeSetName": "x"},
                      {"ChangeSetName": arn, "StackName": stack})
    stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "ChangeSetName": "x",
                                              "Changes": changes}, {"ChangeSetName": arn, "StackName": stack})


def _execute(stub, stack, arn, final_status, outputs=None):
    stub.add_response("describe_stack_events", {"StackEvents": [
        {"EventId": "old", "StackId": "s", "StackName": stack, "Timestamp": NOW}]}, {"StackName": stack})
    stub.add_response("execute_change_set", {}, {"ChangeSetName": arn, "StackName": stack})
    stub.add_response("describe_stack_events", {"StackEvents": [
        {"EventId": "e2", "StackId": "s", "StackName": stack, "Timestamp": NOW, "LogicalResourceId": "Table",
         "ResourceStatus": "CREATE_COMPLETE"},
        {"EventId": "e1", "StackId": "s", "StackName": stack, "Timestamp": NOW, "LogicalResourceId": "Table",
         "ResourceStatus": "CREATE_IN_PROGRESS"},
        {"EventId": "old", "StackId": "s", "StackName": stack, "Timestamp": NOW}]}, {"StackName": stack})
    stub.add_response("describe_stacks", _stack(final_status, stack, outputs), {"StackName": stack})


def _uploads(s3_stub, code_exists=False):
    if code_exists:
        s3_stub.add_response("head_object", {}, {"Bucket": "artifacts-bucket", "Key": ANY})
    else:
        s3_stub.add_client_error("head_object", "404", "Not Found", 404, expected_params={
            "Bucket": "artifacts-bucket", "Key": ANY})
        s3_stub.add_response("put_object", {}, {"Bucket": "artifacts-bucket", "Key": ANY, "Body": ANY})
    s3_stub.add_client_error("head_object", "404", "Not Found", 404,
                             expected_params={"Bucket": "artifacts-bucket", "Key": ANY})
    s3_stub.add_response("put_object", {}, {"Bucket": "artifacts-bucket", "Key": ANY, "Body": ANY})


APP_PARAMETERS = [{"ParameterKey": k, "ParameterValue": OUTPUTS[k]} for k in PARAMETERS] + [
    {"ParameterKey": "AlarmEmail", "ParameterValue": "oncall@example.gov.cn"},
    {"ParameterKey": "IdentityVerifierUrl", "ParameterValue": "https://idv.example.gov.cn/v1/verify"},
    {"ParameterKey": "IdentityVerifierToken", "ParameterValue": "s3cr3t-bearer-t0ken"},
    {"ParameterKey": "IdentityVerifierCaBundle", "ParameterValue": ""}]


def test_first_deploy_creates_both_stacks_with_progress_and_prints_outputs(packages):
    cfn, s3, _ = _clients()
    rec = Recorder()
    with Stubber(cfn) as stub, Stubber(s3) as s3_stub:
        _missing(stub, STATEFUL)
        _change_set(stub, STATEFUL, CS_STATEFUL, "CREATE",
                    [_change("Add", "Table", "AWS::DynamoDB::Table"), _change("Add", "Key", "AWS::KMS::Key")],
                    parameters=[{"ParameterKey": "Stage", "ParameterValue": "dev"}])
        _execute(stub, STATEFUL, CS_STATEFUL, "CREATE_COMPLETE", OUTPUTS)
        _uploads(s3_stub)
        _missing(stub, APP)
        _change_set(stub, APP, CS_APP, "CREATE", [_change("Add", "Dispatch", "AWS::Lambda::Function")],
                    parameters=APP_PARAMETERS, template_url=ANY)
        _execute(stub, APP, CS_APP, "CREATE_COMPLETE", {"ApiUrl": "https://abc.execute-api.cn-north-1.amazonaws.com.cn/api/"})
        outputs = Deployer(cfn, s3, rec.io, poll_seconds=0).deploy(
            packages["dev"], "cn-north-1", yes=True, alarm_email="oncall@example.gov.cn", identity_verifier=IDENTITY)
        stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    assert outputs["ApiUrl"].endswith("amazonaws.com.cn/api/")
    assert outputs["TableName"] == "value-of-TableName"
    text = rec.text
    assert "onetrip-dev: create, 2 resource change(s)" in text
    assert "Table" in text and "CREATE_IN_PROGRESS" in text and "CREATE_COMPLETE" in text
    # progress lines come oldest first
    assert text.index("CREATE_IN_PROGRESS") < text.index("CREATE_COMPLETE")
    assert "ApiUrl" in text and "UserPoolId" in text
    assert IDENTITY.token not in text


def test_app_template_names_the_uploaded_code_and_takes_capabilities(packages):
    cfn, s3, _ = _clients()
    captured = {}
    with Stubber(s3) as s3_stub:
        _uploads(s3_stub, code_exists=True)
        original = s3.put_object

        def put_object(**kwargs):
            captured[kwargs["Key"]] = kwargs["Body"]
            return original(**kwargs)

        s3.put_object = put_object
        url = Deployer(cfn, s3, Recorder().io).stage_app_template(packages["dev"], "artifacts-bucket", "cn-north-1")
    [(key, body)] = captured.items()  # the code was already there: only the template is sent
    assert url == f"https://artifacts-bucket.s3.cn-north-1.amazonaws.com.cn/{key}"
    template = json.loads(body)
    code = {json.dumps(r["Properties"]["CodeUri"], sort_keys=True) for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"}
    [only] = code
    assert json.loads(only)["Bucket"] == "artifacts-bucket"
    assert json.loads(only)["Key"].startswith("artifacts/dev/code-")
    assert set(APP_CAPABILITIES) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}


def test_replacing_a_stateful_resource_is_refused_and_the_change_set_deleted(packages):
    cfn, s3, _ = _clients()
    rec = Recorder()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        _change_set(stub, STATEFUL, CS_STATEFUL, "UPDATE", [
            _change("Modify", "UploadQueue", "AWS::SQS::Queue", "False"),
            _change("Modify", "Table", "AWS::DynamoDB::Table", "True")])
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_STATEFUL, "StackName": STATEFUL})
        with pytest.raises(DeployError, match=r"REFUSED: .*Table \(AWS::DynamoDB::Table, modify, replacement True\)"):
            Deployer(cfn, s3, rec.io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", yes=True,
                                                             identity_verifier=IDENTITY)
        stub.assert_no_pending_responses()  # nothing executed
    assert "!! DATA LOSS" in rec.text


def test_allow_replace_lets_a_conditional_replacement_through_loudly(packages):
    cfn, s3, _ = _clients()
    rec = Recorder()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        _change_set(stub, STATEFUL, CS_STATEFUL, "UPDATE",
                    [_change("Modify", "UserPool", "AWS::Cognito::UserPool", "Conditional")])
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_STATEFUL, "StackName": STATEFUL})
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        with Stubber(s3) as s3_stub:
            _uploads(s3_stub, code_exists=True)
            stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", APP), {"StackName": APP})
            _change_set(stub, APP, CS_APP, "UPDATE", [], template_url=ANY)
            stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_APP, "StackName": APP})
            Deployer(cfn, s3, rec.io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", plan_only=True,
                                                             allow_replace=True, identity_verifier=IDENTITY)
        stub.assert_no_pending_responses()
    assert "--allow-replace: onetrip-dev will replace or remove UserPool" in rec.text


def test_plan_only_shows_the_plan_and_leaves_no_stack_behind(packages):
    cfn, s3, _ = _clients()
    rec = Recorder()
    with Stubber(cfn) as stub:
        _missing(stub, STATEFUL)
        _change_set(stub, STATEFUL, CS_STATEFUL, "CREATE", [_change("Add", "Table", "AWS::DynamoDB::Table")])
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_STATEFUL, "StackName": STATEFUL})
        stub.add_response("delete_stack", {}, {"StackName": STATEFUL})  # the REVIEW_IN_PROGRESS shell
        _missing(stub, STATEFUL)
        assert Deployer(cfn, s3, rec.io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", plan_only=True,
                                                                identity_verifier=IDENTITY) == {}
        stub.assert_no_pending_responses()
    assert "onetrip-dev-app: planned once onetrip-dev exists" in rec.text


def test_no_changes_skips_execution_and_a_declined_confirmation_applies_nothing(packages):
    cfn, s3, _ = _clients()
    rec = Recorder(answers=["no"])
    with Stubber(cfn) as stub, Stubber(s3) as s3_stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        stub.add_response("create_change_set", {"Id": CS_STATEFUL}, None)
        stub.add_response("describe_change_set", {"Status": "FAILED", "StatusReason":
                          "The submitted information didn't contain changes."}, None)
        stub.add_response("delete_change_set", {}, None)
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        _uploads(s3_stub, code_exists=True)
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", APP), {"StackName": APP})
        _change_set(stub, APP, CS_APP, "UPDATE", [_change("Modify", "Deliver", "AWS::Lambda::Function", "False")],
                    template_url=ANY)
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_APP, "StackName": APP})
        with pytest.raises(DeployError, match="not applied"):
            Deployer(cfn, s3, rec.io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", identity_verifier=IDENTITY)
        stub.assert_no_pending_responses()
    assert "onetrip-dev: no changes" in rec.text


def test_a_failed_update_reports_the_rollback(packages):
    cfn, s3, _ = _clients()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        _change_set(stub, STATEFUL, CS_STATEFUL, "UPDATE", [_change("Modify", "UploadQueue", "AWS::SQS::Queue", "False")])
        _execute(stub, STATEFUL, CS_STATEFUL, "UPDATE_ROLLBACK_COMPLETE")
        with pytest.raises(DeployError, match="UPDATE_ROLLBACK_COMPLETE"):
            Deployer(cfn, s3, Recorder().io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", yes=True,
                                                                    identity_verifier=IDENTITY)


def test_destroy_refuses_prod_while_deletion_protection_is_on():
    cfn, s3, ddb = _clients()
    with Stubber(cfn) as stub, Stubber(ddb) as ddb_stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", "onetrip-prod", OUTPUTS, protection=True),
                          {"StackName": "onetrip-prod"})
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", "onetrip-prod-app", protection=True),
                          {"StackName": "onetrip-prod-app"})
        ddb_stub.add_response("describe_table", {"Table": {"TableName": "cases", "DeletionProtectionEnabled": True}},
                              {"TableName": OUTPUTS["TableName"]})
        with pytest.raises(DeployError, match="REFUSED: deletion protection is on for onetrip-prod-app, "
                                              "onetrip-prod, table"):
            Deployer(cfn, s3, Recorder().io).destroy("prod", ddb, yes=True)
        stub.assert_no_pending_responses()  # no delete_stack was called


def test_destroy_dev_deletes_app_then_empties_artifacts_then_deletes_stateful():
    cfn, s3, ddb = _clients()
    rec = Recorder()
    with Stubber(cfn) as stub, Stubber(ddb) as ddb_stub, Stubber(s3) as s3_stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", STATEFUL, OUTPUTS), {"StackName": STATEFUL})
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", APP), {"StackName": APP})
        ddb_stub.add_response("describe_table", {"Table": {"TableName": "cases", "DeletionProtectionEnabled": False}})
        for name in (APP, STATEFUL):
            if name == STATEFUL:
                s3_stub.add_response("list_objects_v2", {"Contents": [{"Key": "artifacts/dev/code-1.zip"}]},
                                     {"Bucket": "artifacts-bucket"})
                s3_stub.add_response("delete_objects", {}, {"Bucket": "artifacts-bucket", "Delete": {
                    "Objects": [{"Key": "artifacts/dev/code-1.zip"}], "Quiet": True}})
            stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": name})
            stub.add_response("delete_stack", {}, {"StackName": name})
            stub.add_response("describe_stack_events", {"StackEvents": [
                {"EventId": "d", "StackId": "s", "StackName": name, "Timestamp": NOW, "LogicalResourceId": name,
                 "ResourceStatus": "DELETE_IN_PROGRESS"}]}, {"StackName": name})
            stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {name} does not exist")
        Deployer(cfn, s3, rec.io, poll_seconds=0).destroy("dev", ddb, yes=True)
        stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    assert "kept (DeletionPolicy: Retain" in rec.text and "value-of-TableName" in rec.text
