"""The SLA-breach alarm: on the EMF metric the code really emits, with exactly the dimensions it emits
them with, notifying the on-call admins' topic."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from chalicelib import metrics
from infra.onetrip.package import SLA_BREACH_METRIC, business_dimensions

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"


def _counted_metric_names() -> set[str]:
    """Every literal metric name passed to chalicelib.metrics.count anywhere in the functions' code."""
    names = set()
    for path in CHALICELIB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "count" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "metrics" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
    return names


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_breached_deadline_alarms_the_on_call_topic(packages, stage):
    resources = packages[stage].load_app()["Resources"]
    alarm = resources["SlaBreachAlarm"]["Properties"]
    assert alarm["Namespace"] == metrics.NAMESPACE and alarm["MetricName"] == SLA_BREACH_METRIC
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == business_dimensions(stage)
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum", 1, "GreaterThanOrEqualToThreshold")  # one breach is one too many
    assert alarm["TreatMissingData"] == "notBreaching"  # no breach, no datapoint
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    subscription = resources["AlarmEmailSubscription"]["Properties"]
    assert subscription["TopicArn"] == {"Ref": "AlarmTopic"}  # `onetrip deploy --alarm-email`


def test_the_alarmed_metric_is_one_the_code_emits():
    assert SLA_BREACH_METRIC in _counted_metric_names()


def test_the_emitted_record_carries_exactly_the_alarms_dimensions(monkeypatch, capsys, without_local_stack_env):
    monkeypatch.setenv("ONETRIP_STAGE", "prod")
    monkeypatch.setattr(metrics, "_metrics", None)
    metrics.count(SLA_BREACH_METRIC)
    metrics.flush()
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.NAMESPACE
    assert [m["Name"] for m in directive["Metrics"]] == [SLA_BREACH_METRIC]
    [dimensions] = directive["Dimensions"]
    assert {d: record[d] for d in dimensions} == business_dimensions("prod")
    monkeypatch.setattr(metrics, "_metrics", None)
