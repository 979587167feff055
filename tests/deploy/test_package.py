"""`onetrip package` output: what the merge wires, least privilege, partition-neutral ARNs, cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.onetrip.identity_verifier import PARAMETER_NAMES as IDENTITY_VERIFIER_PARAMETERS
from infra.onetrip.package import (
    FUNCTIONS,
    PARAMETERS,
    STREAM_MAX_RETRIES,
    business_dimensions,
    cfn_lint,
    check_app_template,
    function_name,
)
from infra.onetrip.template import TEMPLATE_PATH, load_template

STATEFUL = load_template()
POLICY_DIR = Path(__file__).resolve().parents[2] / ".chalice"
# Actions that read or change data; none of them may be granted on "*".
DATA_SERVICES = ("dynamodb:", "s3:", "sqs:", "kms:", "sns:", "logs:", "cognito-idp:", "lambda:")


def _app(packages, stage):
    return packages[stage].load_app()


def _functions(template):
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def _events(template, event_type):
    for logical, fn in _functions(template).items():
        for name, event in fn["Properties"].get("Events", {}).items():
            if event["Type"] == event_type:
                yield logical, name, event["Properties"]


def _stateful_resource_for(parameter: str) -> dict:
    """App parameter -> the stateful output of the same name -> the resource it names."""
    value = STATEFUL["Outputs"][parameter]["Value"]
    logical = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    return STATEFUL["Resources"][logical]


def _parameter_of(value) -> str:
    """`{"Ref": P}` or `{"Fn::Sub": "${P}"}` -> P."""
    if "Ref" in value:
        return value["Ref"]
    text = value["Fn::Sub"]
    assert text.startswith("${") and text.endswith("}") and text.count("$") == 1, text
    return text[2:-1]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_sqs_trigger_reports_batch_item_failures_on_a_real_queue(packages, stage):
    triggers = list(_events(_app(packages, stage), "SQS"))
    assert {logical for logical, _, _ in triggers} == {"VerifyMaterial", "Deliver"}
    for _logical, _name, props in triggers:
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        parameter = _parameter_of(props["Queue"])
        assert parameter in PARAMETERS
        assert _stateful_resource_for(parameter)["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stream_trigger_bisects_retries_finitely_and_parks_failures_on_a_queue(packages, stage):
    [(logical, _name, props)] = list(_events(_app(packages, stage), "DynamoDB"))
    assert logical == "Dispatch"
    assert _parameter_of(props["Stream"]) == "TableStreamArn"
    assert _stateful_resource_for("TableStreamArn")["Type"] == "AWS::DynamoDB::Table"
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 <= props["MaximumRetryAttempts"] == STREAM_MAX_RETRIES <= 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    [only] = props["FilterCriteria"]["Filters"]  # only outbox inserts invoke it
    assert json.loads(only["Pattern"]) == {"eventName": ["INSERT"],
                                           "dynamodb": {"NewImage": {"type": {"S": ["event"]}}}}
    destination = props["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    assert _stateful_resource_for(_parameter_of(destination["Destination"]))["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(packages, stage):
    template = _app(packages, stage)
    functions = _functions(template)
    for logical, _name, props in _events(template, "SQS"):
        queue = _stateful_resource_for(_parameter_of(props["Queue"]))
        timeout = functions[logical]["Properties"]["Timeout"]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout, logical


def test_every_work_queue_has_a_dead_letter_queue_and_every_queue_a_retention():
    queues = {k: r for k, r in STATEFUL["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    dead_letter = {r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                   for r in queues.values() if "RedrivePolicy" in r["Properties"]}
    # The stream's on-failure destination is itself a dead-letter queue (Lambda writes to it).
    parked = {"DispatchDLQ"}
    for logical, queue in queues.items():
        assert queue["Properties"]["MessageRetentionPeriod"] >= 4 * 86400, logical
        assert queue["DeletionPolicy"] == "Retain", logical
        if logical in dead_letter | parked:
            continue
        assert 1 <= queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] <= 10, logical
    assert dead_letter == {"UploadDLQ", "DeliveryDLQ"}


def _role_statements(template):
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield logical, statement
            assert not resource["Properties"].get("ManagedPolicyArns"), logical


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_iam_statement_grants_a_data_action_on_star(packages, stage):
    statements = list(_role_statements(_app(packages, stage)))
    assert statements
    for role, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert statement["Effect"] == "Allow"
        assert all(a != "*" and not a.endswith(":*") for a in actions), (role, actions)
        if any(a.startswith(DATA_SERVICES) for a in actions):
            assert all(r != "*" and "*:*" not in json.dumps(r) for r in resources), (role, statement)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_has_its_own_role_with_exactly_its_policy_file(packages, stage):
    template = _app(packages, stage)
    roles = {}
    for logical, fn in _functions(template).items():
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        roles[logical] = role
        name = next(f.name for f in FUNCTIONS if f.logical == logical)
        policy_file = POLICY_DIR / f"policy-{name.replace('_', '-')}.json"
        [policy] = template["Resources"][role]["Properties"]["Policies"]
        assert policy["PolicyDocument"] == json.loads(policy_file.read_text(encoding="utf-8"))
        # Its log statement names its own log group only.
        [logs] = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "WriteOwnLogGroup"]
        assert logs["Resource"]["Fn::Sub"].endswith(f"/aws/lambda/${{AWS::StackName}}-{name}:*")
        assert "logs:CreateLogGroup" not in logs["Action"]  # the template owns the group and its retention
    assert len(set(roles.values())) == len(roles) == len(FUNCTIONS)


def test_chalice_config_turns_off_the_autogenerated_policy():
    config = json.loads((POLICY_DIR / "config.json").read_text(encoding="utf-8"))
    assert config["autogen_policy"] is False
    for stage in ("dev", "prod"):
        assert config["stages"][stage].get("autogen_policy", False) is False


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_literal_aws_partition_anywhere(packages, stage):
    pkg = packages[stage]
    for path in (pkg.app_template, pkg.stateful_template, *POLICY_DIR.glob("policy-*.json")):
        assert "arn:aws:" not in path.read_text(encoding="utf-8"), path


def test_check_refuses_unmerged_placeholders_and_double_intrinsics():
    bad = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
        "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:x:y:onetrip-uploads", "Ref": "UploadQueueArn"},
        "Stream": "arn:aws:dynamodb:us-east-1:000000000000:table/onetrip/stream/placeholder"}}}}
    problems = check_app_template(bad)
    assert any("arn:aws:" in p for p in problems)
    assert any("onetrip-uploads" in p for p in problems)
    assert any("stream/placeholder" in p for p in problems)
    assert any("two intrinsics" in p for p in problems)
    assert any("function Fn is not in" in p for p in problems)  # it would inherit the API handler's role


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_app_parameters_are_exactly_stateful_outputs_and_wire_the_environment(packages, stage):
    template = _app(packages, stage)
    assert set(template["Parameters"]) == set(PARAMETERS) | {"AlarmEmail", *IDENTITY_VERIFIER_PARAMETERS}
    assert set(PARAMETERS) <= set(STATEFUL["Outputs"])
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ONETRIP_TABLE"] == {"Ref": "TableName"}
    assert env["ONETRIP_BUCKET"] == {"Ref": "BucketName"}
    assert env["ONETRIP_DELIVERY_QUEUE_URL"] == {"Ref": "DeliveryQueueUrl"}
    assert env["ONETRIP_KMS_KEY_ID"] == {"Ref": "KeyArn"}
    assert env["ONETRIP_JWKS_URL"]["Fn::Sub"].startswith("https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/")
    for fn in _functions(template).values():
        assert fn["Properties"]["Environment"]["Variables"]["ONETRIP_STAGE"] == stage


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_functions_have_names_log_groups_with_retention(packages, stage):
    template = _app(packages, stage)
    for fn in FUNCTIONS:
        resource = template["Resources"][fn.logical]
        assert resource["Properties"]["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{fn.name}"}
        group = template["Resources"][f"{fn.logical}LogGroup"]
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{fn.name}"}
        assert f"{fn.logical}LogGroup" in resource["DependsOn"]
        days = group["Properties"]["RetentionInDays"]
        assert days >= 180 if stage == "prod" else days <= 90  # prod: Cybersecurity Law Art. 21
    assert packages[stage].load_manifest()["functions"]["Deliver"] == function_name(stage, "deliver")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_api_is_regional_throttled_and_answers_gateway_errors_in_the_api_format(packages, stage):
    api = _app(packages, stage)["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == "REGIONAL"  # edge endpoints do not exist in the China regions
    [settings] = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]
    responses = api["GatewayResponses"]
    for name in ("UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX",
                 "DEFAULT_5XX", "AUTHORIZER_FAILURE"):
        body = json.loads(responses[name]["ResponseTemplates"]["application/json"])
        assert set(body) == {"code", "message_zh", "message_en"} and all(body.values()), name
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["THROTTLED"]["StatusCode"] == "429"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_alarms_cover_dlqs_function_errors_throttles_and_delivery_failure_rate(packages, stage):
    resources = _app(packages, stage)["Resources"]
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    for fn in FUNCTIONS:
        assert alarms[f"{fn.logical}ErrorsAlarm"]["MetricName"] == "Errors"
        assert alarms[f"{fn.logical}ThrottlesAlarm"]["MetricName"] == "Throttles"
    dlq_alarms = {k for k, a in alarms.items() if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"}
    assert dlq_alarms == {"UploadDLQDepthAlarm", "DeliveryDLQDepthAlarm", "DispatchDLQDepthAlarm"}
    rate = alarms["DeliveryFailureRateAlarm"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m}
    assert names == {"DeliveriesFailed", "DeliveriesSucceeded"}
    for metric in rate["Metrics"]:
        if "MetricStat" in metric:
            dims = {d["Name"]: d["Value"] for d in metric["MetricStat"]["Metric"]["Dimensions"]}
            assert dims == business_dimensions(stage)


def test_stateful_template_in_dist_is_the_one_the_local_stack_deploys(packages):
    for pkg in packages.values():
        assert pkg.stateful_template.read_bytes() == TEMPLATE_PATH.read_bytes()


def test_cfn_lint_is_clean_on_every_output_including_informational_checks(packages):
    paths = [p for pkg in packages.values() for p in (pkg.app_template, pkg.stateful_template)]
    assert cfn_lint(*paths) == ""


def test_cfn_lint_check_reports_a_broken_template(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {
        "VisibilityTimeout": "soon"}}}}), encoding="utf-8")
    assert "VisibilityTimeout" in cfn_lint(broken) or "E" in cfn_lint(broken)
