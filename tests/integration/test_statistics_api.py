"""Statistics end to end in-process: case events as the lifecycle raises them go through the real
stream handler (`dispatch`, which runs the projections) into the moto table, and the admin route
reports them; redelivered stream records change nothing; only supervising admins may read."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.ids import new_id
from chalicelib.entrypoints.stats_schemas import StatsReport
from tests import statistics_samples as ev

from .conftest import call, stream_event

MONTH = "2031-03"  # a month no other test's events fall in: the month-wide figures are ours alone


def feed(api, stack, events) -> None:
    records = DynamoStore(None, stack.outputs["TableName"])
    for event in events:
        result = api.lambda_.invoke("dispatch", stream_event(records._event_record(event)))
        assert result.payload == {"batchItemFailures": []}


def test_case_events_through_the_stream_become_the_admin_report(api, stack):
    busy, quiet = f"ZZ-BUSY-{new_id()[-6:]}", f"ZZ-QUIET-{new_id()[-6:]}"
    events = [*(ev.accepted(busy) for _ in range(3)), ev.accepted(quiet),
              ev.decided(busy, working_days=2, committed=5, rounds=0, visits=1),
              ev.decided(busy, working_days=7, committed=5, on_time=False, rounds=3, visits=2),
              ev.rated(busy, 5), ev.rated(busy, 2, rectification=True), ev.withdrawn(quiet), ev.breached(busy)]
    feed(api, stack, events)
    feed(api, stack, events[:4] + events[-3:])  # the stream redelivers part of it

    status, report = call(api, "GET", f"/v1/admin/stats?month={MONTH}", stack.headers("admin"))
    assert status == 200, report
    StatsReport.model_validate(report)  # what the OpenAPI document promises
    assert report["period"] == MONTH and report["item_code"] is None
    assert report["volume"]["accepted"] == 4 and report["volume"]["top_share"] == 1.0
    assert report["volume"]["top_items"] == [{"item_code": busy, "accepted": 3, "share": 0.75},
                                             {"item_code": quiet, "accepted": 1, "share": 0.25}]
    assert report["cases"]["withdrawn"] == 1 and report["cases"]["decided"] == 2
    assert report["timeliness"] == {"on_time": 1, "on_time_rate": 0.5, "average_working_days": 4.5,
                                    "average_committed_days": 5.0, "working_to_committed": 0.9,
                                    "deadline_breaches": 1}
    assert report["supplements"] == {"average_rounds": 1.5, "rounds": {"0": 1, "1": 0, "2": 0, "3+": 1}}
    assert report["visits"]["one_trip_rate"] == 0.5
    assert report["satisfaction"]["average_level"] == 3.5 and report["satisfaction"]["satisfied_rate"] == 0.5

    status, mine = call(api, "GET", f"/v1/admin/stats?month={MONTH}&item_code={quiet}", stack.headers("admin"))
    assert status == 200
    assert (mine["volume"]["item_rank"], mine["volume"]["item_share"]) == (2, 0.25)
    assert mine["cases"]["accepted"] == 1 and mine["cases"]["decided"] == 0
    status, since_start = call(api, "GET", f"/v1/admin/stats?month=all&item_code={busy}", stack.headers("admin"))
    assert status == 200 and since_start["rectifications"]["open"] == 1
    assert since_start["cases"]["accepted"] == 3


def test_only_supervising_admins_read_statistics(api, stack):
    assert call(api, "GET", "/v1/admin/stats")[0] == 401
    for user in ("citizen-verified", "dept-yq-amr", "window-yq-centre"):
        status, body = call(api, "GET", "/v1/admin/stats", stack.headers(user))
        assert (status, body["code"]) == (403, "principal_kind_not_allowed")
    status, body = call(api, "GET", "/v1/admin/stats", stack.headers("admin"))
    assert status == 200 and len(body["period"]) == 7


def test_a_bad_query_lists_every_problem_and_an_unknown_item_is_not_found(api, stack):
    status, body = call(api, "GET", "/v1/admin/stats?month=2031-3&item_code=..%2Fx", stack.headers("admin"))
    assert status == 422
    assert [p["code"] for p in body["problems"]] == ["month_invalid", "item_code_invalid"]
    assert all(p["message_zh"] and p["message_en"] for p in body["problems"])
    status, body = call(api, "GET", f"/v1/admin/stats?month={MONTH}&item_code=NO-SUCH-ITEM", stack.headers("admin"))
    assert (status, body["code"]) == (404, "item_not_found")
    status, body = call(api, "GET", "/v1/admin/stats?month=2031-03&item_code=YQ-AMR-0001", stack.headers("admin"))
    assert status == 200 and body["cases"]["accepted"] == 0  # a catalogue item without cases that month


def test_the_openapi_document_declares_the_route_for_admins_with_the_supervise_scope(api, stack):
    status, doc = call(api, "GET", "/v1/openapi.json")
    operation = doc["paths"]["/v1/admin/stats"]["get"]
    assert operation["x-principal-kinds"] == ["admin"] and operation["x-scope"] == "cases:supervise"
    assert {p["name"] for p in operation["parameters"]} >= {"month", "item_code"}
