"""The cheap parts of `make bench` on tiny inputs, so the benchmark code cannot rot between runs: the
request counter and its billing units, the design's minimum, the query-scale fake, the cost formula
and the summary table. (The full benchmark needs minutes and a moto server: `make bench`.)"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from bench import __main__ as bench_main
from bench import cold_start, cost, journey, scale, throughput
from bench.awscalls import CallRecorder, dynamodb_units, item_size, sqs_units


def test_the_minimum_per_journey_follows_its_formula():
    for n, k in ((1, 1), (3, 2), (4, 3), (10, 5)):
        rows = journey.minimum_per_step(n, k)
        assert sum(r["minimum"] for r in rows) == 10 + 6 * n + 14 * k
        assert all(r["reason"] for r in rows)


def test_write_units_round_up_per_kilobyte_double_in_transactions_and_count_the_index_copy():
    small = {"pk": {"S": "APP#1"}, "sk": {"S": "APP"}, "doc": {"S": "x" * 100}}
    big = {**small, "doc": {"S": "x" * 2000}, "gsi1pk": {"S": "OWNER#a"}}
    assert dynamodb_units("PutItem", {"Item": small}, {})["wru"] == 1
    units = dynamodb_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": big}}, {"Update": {}}]}, {})
    assert units["wru"] == 2 * 2 + 2 + 2  # 2 KB transactional, its index copy, one small update
    assert units["wru_index"] == 2
    assert units["wru_doc_compressed"] < units["wru"]
    assert units["wru_floor"] == 2 + 2  # the same put under 1 KB without its index copy; the update as it is
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": small})["rru"] == 1
    assert dynamodb_units("GetItem", {}, {"Item": small})["rru"] == 0.5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert sqs_units("SendMessageBatch", {"Entries": [{"MessageBody": "x" * 70000}]})["sqs_requests"] == 2


def test_the_recorder_counts_each_call_with_its_step_and_function(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        recorder = CallRecorder()
        recorder.attach(client)
        recorder.step, recorder.function = "draft", "api POST /v1/applications"
        client.put_item(TableName="t", Item={"pk": {"S": "a"}})
        client.get_item(TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True)
        client.generate_presigned_url("get_item", Params={"TableName": "t", "Key": {"pk": {"S": "a"}}})
    assert recorder.by_operation(recorder.calls) == {"dynamodb:GetItem": 1, "dynamodb:PutItem": 1}
    assert {(c.step, c.function) for c in recorder.calls} == {("draft", "api POST /v1/applications")}
    assert recorder.units(recorder.calls) == {"rru": 1.0, "wru": 1.0, "wru_doc_compressed": 1.0, "wru_floor": 1.0,
                                              "wru_index": 0.0}


def test_one_page_of_a_large_partition_costs_one_request_per_shard_and_one_page_of_items_from_each():
    rows = scale.generated(sizes=(1_000, 50_000), repeats=1)
    assert {r["query"] for r in rows} == {"my applications", "department inbox"}
    for row in rows:
        shards = scale.requests_per_page(row["query"])  # the inbox is sharded, "my applications" is not
        for page in ("first_page", "middle_page"):
            assert row[page]["requests"] == shards and row[page]["items"] == 20
            assert 20 <= row[page]["items_read"] <= shards * 21
        assert row["last_page"]["items"] == 19 and not row["last_page_has_next"]
    assert scale.requests_per_page("department inbox") > 1
    assert scale.position_of(scale.generated_id("app_", 123_456), "app_") == 123_456


def _journey_summary() -> dict:
    invocations = [
        {"function": "api POST /v1/applications", "wall_ms": 10.0, "aws_ms": 8.0, "webhook_ms": 0.0, "calls": 2,
         "log_bytes": 100, "services": {"dynamodb": 2}, "cpu_ms": 2.0, "records": 1, "webhooks": 0},
        {"function": "authorizer", "wall_ms": 1.0, "aws_ms": 0.0, "webhook_ms": 0.0, "calls": 0, "log_bytes": 0,
         "services": {}, "cpu_ms": 1.0, "records": 1, "webhooks": 0},
        {"function": "dispatch", "wall_ms": 1.0, "aws_ms": 0.0, "webhook_ms": 0.0, "calls": 0, "log_bytes": 0,
         "services": {}, "cpu_ms": 0.5, "records": 1, "webhooks": 0},
    ]
    return {"invocations": invocations, "by_operation": {"dynamodb:GetItem": 1, "dynamodb:PutItem": 1},
            "billing_units": {"wru": 4.0, "wru_index": 2.0, "wru_doc_compressed": 3.0, "wru_floor": 1.0, "rru": 0.5},
            "client_requests": {"api_gateway": 1, "s3_put": 1}, "event_source_batches": {"stream:dispatch": 1},
            "s3_notifications": 1, "departments_k": 1}


def test_the_cost_formula_adds_up_its_lines():
    summary = _journey_summary()
    usage = cost.usage(summary, 512)
    assert usage["lambda_requests"] == 3 and usage["api_requests"] == 1 and usage["sqs_requests"] == 1
    lines = cost.price_case(usage, "us-east-1", "arm64")
    assert lines["api gateway (REST)"] == pytest.approx(3.5e-6)
    assert lines["dynamodb writes"] == pytest.approx(4 * 0.625e-6)
    assert cost.billed_ms(summary["invocations"][0], 1769) == 2 + 2 * 6
    # The server's own S3 requests are billed by class: a copy is a PUT, a delete is free, a HEAD a GET.
    with_copies = {**summary, "by_operation": {**summary["by_operation"], "s3:CopyObject": 3, "s3:DeleteObject": 1,
                                               "s3:GetObject": 3, "s3:HeadObject": 1}}
    billed = cost.usage(with_copies, 512)
    assert (billed["s3_put"], billed["s3_get"]) == (1 + 3, 3 + 1)
    assert cost.price_case(usage, "cn-north-1", "x86")["lambda requests"] is None
    result = cost.run({"X": summary}, "X")
    assert result["items"]["X"]["estimates"]["cn-north-1 x86"]["per_1000_cases"] is None
    levers = {row["lever"]: row["saves"] for row in result["levers_us_east_1_arm64"]}
    assert all(saving >= 0 for saving in levers.values())
    # The REST levers together save at least what each saves alone (their savings add up).
    together = levers.pop("the three above that stay on REST, together")
    rest = {name: saving for name, saving in levers.items() if "HTTP API" not in name}
    assert together == pytest.approx(sum(rest.values()), abs=3e-4)  # each rounded to 4 places and together >= max(rest.values())
    assert "ABOVE GOAL" not in cost.table(result) and "US$" in cost.table(result)
    # The design's floors lie below every lever, and without table writes exactly the writes' line lower.
    floors = result["floors_us_east_1_arm64"]
    base = result["items"]["X"]["estimates"]["us-east-1 arm64"]
    assert floors["without_table_writes"] < floors["this_design"] <= base["per_1000_cases"] - together + 1e-4
    assert floors["this_design"] - floors["without_table_writes"] == pytest.approx(1.0 * 0.625e-6 * 1000, abs=1e-4)


def test_the_summary_table_has_one_line_per_row_and_the_probe_compiles():
    rows = bench_main.rows_scale(scale.run(sizes=(1_000,), moto_sizes=()))
    table = bench_main.summary_table(rows)
    assert len(table.splitlines()) == 2 + len(rows) and "my applications" in table
    compile(cold_start.PROBE, "probe", "exec")
    event = cold_start.http_event("/v1/x", "/v1/x", authorizer={"principalId": "s", "context": {"kind": "citizen"}})
    assert event["requestContext"]["authorizer"] == {"kind": "citizen", "principalId": "s"}
    assert throughput._percentile([1.0, 2.0, 3.0, 100.0], 0.99) == 100.0
