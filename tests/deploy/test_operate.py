"""`onetrip logs` and `onetrip status --stage` against botocore's Stubber; the CLI wiring."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from infra.onetrip import cli, operate

NOW = 1_735_718_400.0  # 2025-01-01T08:00:00Z


class Session:
    """A boto3 session whose clients are stubbed, one per service, created on demand."""

    def __init__(self):
        self._session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                              region_name="cn-north-1")
        self.clients, self.stubs = {}, {}

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            self.clients[service] = self._session.client(service)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.stubs[service]

    def client(self, service: str):
        self.stub(service)
        return self.clients[service]


def test_since_parses_durations_and_refuses_nonsense():
    assert operate.parse_since("90s") == 90
    assert operate.parse_since("15m") == 900
    assert operate.parse_since("1h") == 3600
    assert operate.parse_since("2d") == 172800
    for bad in ("1x", "h", "0m", "-1h", ""):
        with pytest.raises(ValueError):
            operate.parse_since(bad)


def test_logs_filters_the_functions_log_group_since_the_window_across_pages(capsys):
    session = Session()
    logs = session.stub("logs")
    group = "/aws/lambda/onetrip-dev-app-deliver"
    start = int((NOW - 3600) * 1000)
    line = json.dumps({"level": "ERROR", "message": "record_failed", "service": "onetrip",
                       "timestamp": "x", "source": "deliveries", "application_id": "app_1"})
    logs.add_response("filter_log_events", {"events": [{"timestamp": start + 2000, "message": line}],
                                            "nextToken": "t1"},
                      {"logGroupName": group, "startTime": start, "filterPattern": '{ $.level = "ERROR" }'})
    logs.add_response("filter_log_events", {"events": [{"timestamp": start + 1000, "message": "START RequestId: r1"}]},
                      {"logGroupName": group, "startTime": start, "filterPattern": '{ $.level = "ERROR" }',
                       "nextToken": "t1"})
    events = operate.fetch_logs(session.client("logs"), group, 3600, operate.ERROR_PATTERN, now=NOW)
    logs.assert_no_pending_responses()
    assert [e["timestamp"] for e in events] == [start + 1000, start + 2000]  # oldest first
    rendered = operate._line(events[1])
    assert "ERROR" in rendered and "record_failed" in rendered and 'application_id="app_1"' in rendered
    assert "service" not in rendered


def test_logs_command_names_a_missing_log_group(capsys):
    session = Session()
    session.stub("logs").add_client_error("filter_log_events", "ResourceNotFoundException", "no group")
    args = SimpleNamespace(since="1h", stage="prod", function="dispatch", filter=None)
    assert operate.cmd_logs(args, session) == 1
    assert "no log group /aws/lambda/onetrip-prod-app-dispatch" in capsys.readouterr().err


def test_stage_status_shows_stacks_queue_depths_alarms_and_recent_errors():
    session = Session()
    cfn = session.stub("cloudformation")
    when = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    outputs = [{"OutputKey": k, "OutputValue": f"https://sqs/{k}"} for k in
               ("UploadQueueUrl", "DeliveryQueueUrl", "UploadDLQUrl", "DeliveryDLQUrl", "DispatchDLQUrl")]
    cfn.add_response("describe_stacks", {"Stacks": [{"StackName": "onetrip-dev", "StackStatus": "UPDATE_COMPLETE",
                                                     "CreationTime": when, "Outputs": outputs}]})
    cfn.add_response("describe_stacks", {"Stacks": [{"StackName": "onetrip-dev-app",
                                                     "StackStatus": "UPDATE_COMPLETE", "CreationTime": when}]})
    sqs = session.stub("sqs")
    for key in ("UploadQueueUrl", "DeliveryQueueUrl", "UploadDLQUrl", "DeliveryDLQUrl", "DispatchDLQUrl"):
        waiting = "3" if key == "DeliveryDLQUrl" else "0"
        sqs.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": waiting,
                                                                 "ApproximateNumberOfMessagesNotVisible": "1"}},
                         {"QueueUrl": f"https://sqs/{key}", "AttributeNames": [
                             "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]})
    session.stub("cloudwatch").add_response(
        "describe_alarms", {"MetricAlarms": [{"AlarmName": "onetrip-dev-app-DeliveryDLQDepthAlarm-X",
                                              "AlarmDescription": "DeliveryDLQ holds webhooks"}]},
        {"AlarmNamePrefix": "onetrip-dev-app", "StateValue": "ALARM"})
    logs = session.stub("logs")
    for fn in operate.FUNCTION_NAMES:
        events = [{"timestamp": int(NOW * 1000), "message": '{"level":"ERROR","message":"request_failed"}'}] \
            if fn == "api_handler" else []
        logs.add_response("filter_log_events", {"events": events})
    lines: list[str] = []
    rc = operate.stage_status(session, "dev", out=lines.append, now=NOW)
    text = "\n".join(lines)
    for stub in session.stubs.values():
        stub.assert_no_pending_responses()
    assert rc == 1  # a DLQ holds messages and an alarm fires
    assert "onetrip-dev-app" in text and "UPDATE_COMPLETE" in text
    assert "DeliveryDLQ" in text and "parked work" in text
    assert "ALARMS FIRING: 1" in text
    assert "api_handler" in text and "request_failed" in text


def test_cli_status_without_a_stage_stays_local(tmp_path, capsys):
    # The local behaviour is unchanged: no AWS call, the local state file is read.
    assert cli.main(["--project-root", str(tmp_path), "status"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "STACK" not in err


def test_cli_registers_deploy_destroy_package_logs():
    parser = cli._parser()
    for argv in (["package", "--stage", "dev"], ["deploy", "--stage", "prod", "--plan"],
                 ["destroy", "--stage", "dev", "--yes"], ["logs", "deliver", "--since", "2h"],
                 ["status", "--stage", "prod"]):
        args = parser.parse_args(argv)
        assert args.command == argv[0]
