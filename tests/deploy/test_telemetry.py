"""Correlation ids and business metrics: one EMF flush per invocation, nothing carried over, lazy import."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from chalicelib import metrics
from chalicelib.entrypoints import telemetry
from infra.onetrip.package import business_dimensions, gateway_responses


def _emf(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch, without_local_stack_env):
    monkeypatch.setenv("ONETRIP_STAGE", "dev")
    monkeypatch.setattr(metrics, "_metrics", None)
    yield
    if metrics._metrics is not None:
        metrics._metrics.clear_metrics()


def test_counts_flush_once_per_invocation_and_never_leak_into_the_next(capsys):
    def first(_event):
        metrics.count("DeliveriesFailed")
        metrics.count("DeliveriesFailed")
        return "ok"

    event = SimpleNamespace(context=SimpleNamespace(aws_request_id="r-1"))
    assert telemetry.correlate(event, first) == "ok"
    [record] = _emf(capsys.readouterr().out)
    assert record["DeliveriesFailed"] == [1.0, 1.0]
    dims = set(record["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0])
    assert dims == set(business_dimensions("dev"))  # exactly what the failure-rate alarm selects
    assert {k: record[k] for k in dims} == business_dimensions("dev")

    telemetry.correlate(event, lambda _e: "nothing counted")
    assert _emf(capsys.readouterr().out) == []  # no stale counts, no empty record


def test_an_invocation_that_raises_still_flushes_its_counts(capsys):
    def boom(_event):
        metrics.count("ApplicationsSubmitted")
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        telemetry.correlate(SimpleNamespace(context=None), boom)
    [record] = _emf(capsys.readouterr().out)
    assert record["ApplicationsSubmitted"] == [1.0]


def test_rejections_carry_their_reason_as_a_dimension(capsys):
    metrics.count("MaterialsRejected", reason="content_type_mismatch")
    [record] = _emf(capsys.readouterr().out)
    assert record["reason"] == "content_type_mismatch" and record["stage"] == "dev"
    assert record["MaterialsRejected"] == [1.0]


def test_http_requests_get_request_and_route_ids():
    request = SimpleNamespace(context={"requestId": "api-req-1"}, lambda_context=SimpleNamespace(aws_request_id="l-1"),
                              uri_params={"application_id": "app_01", "material_code": "M1"})
    assert telemetry.correlation_keys(request) == {"request_id": "api-req-1", "application_id": "app_01",
                                                   "lambda_request_id": "l-1"}


def test_metrics_are_not_imported_with_the_app():
    code = ("import sys, app; import chalicelib.metrics as m; "
            "print(m._metrics is None, 'aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True"  # no Metrics object is built at import time


def test_gateway_401_body_is_the_one_the_authorizer_gives_locally():
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        # (Without any header the local gateway answers {"message": "Unauthorized"} itself: the case the
        # deployed GatewayResponses exist for.)
        response = client.http.get("/v1/applications", headers={"Authorization": "Bearer not.a.jwt"})
    local = json.loads(response.body)
    deployed = json.loads(gateway_responses()["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])
    assert response.status_code == 401
    assert {k: local[k] for k in ("code", "message_zh", "message_en")} == deployed
