"""The audit trail and the applicant's notifications end to end in-process. A real case, accepted and
decided through the API, has every event of its outbox in its chain (written by the changes
themselves); the supervisors' route and the CLI verify the chain (and find a tampered entry). Lifecycle
events as the contract describes them go through the real stream handler (`dispatch`, which runs the
projections) and the applicant reads what they were told."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from chalicelib.adapters import keys
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.principals import Principal, PrincipalKind
from infra.onetrip import cli
from infra.onetrip.moto_stack import client

from .conftest import accept_case, call, drain, outbox_images, stream_event


def feed(api, stack, images) -> None:
    for image in images:
        result = api.lambda_.invoke("dispatch", stream_event(image))
        assert result.payload == {"batchItemFailures": []}


def lifecycle_events(app: dict, stack) -> list[DomainEvent]:
    """Events the lead's lifecycle raises for this case (constructed here as the contract gives them)."""
    number = app["case"]["case_number"]
    common = {"application_id": app["id"], "item_code": app["item_code"], "item_version": app["item_version"],
              "case_number": number}
    officer = Principal(sub=stack.users["dept-yq-amr"]["sub"], kind=PrincipalKind.DEPARTMENT, department="yq-amr")
    owner = Principal(sub=stack.users["citizen-verified"]["sub"], kind=PrincipalKind.CITIZEN)
    now = datetime.now(UTC)
    return [
        DomainEvent.raised("onetrip.task.supplement_requested", now, application_id=app["id"],
                           subject=f"cases/{number}", recipients=["yq-amr"], actor=officer.actor(),
                           data={**common, "task_id": app["tasks"][0]["task_id"], "department": "yq-amr",
                                 "round": 1, "items": [{"material": "premises-proof", "code": "illegible"}]}),
        DomainEvent.raised("onetrip.case.decided", now, application_id=app["id"], subject=f"cases/{number}",
                           recipients=["yq-amr"], actor=officer.actor(),
                           data={**common, "outcome": "approved", "committed_days": 5, "working_days_used": 2,
                                 "on_time": True, "supplement_rounds": 1, "visits": 0}),
        DomainEvent.raised("onetrip.case.rated", now, application_id=app["id"], subject=f"cases/{number}",
                           recipients=[], actor=owner.actor(),
                           data={**common, "level": 5, "rectification_task_id": None}),
    ]


def test_every_event_of_a_decided_case_is_in_its_verified_trail(api, stack):
    app = accept_case(api, stack)
    status, _ = call(api, "POST", f"/v1/tasks/{app['tasks'][0]['task_id']}/decision", stack.headers("dept-yq-amr"),
                     {"outcome": "approved"})
    assert status == 200
    raised = [json.loads(i["doc"]["S"]) for i in outbox_images(stack, app["id"])]
    assert {e["type"] for e in raised} >= {"onetrip.material.verified", "onetrip.case.accepted",
                                           "onetrip.task.assigned", "onetrip.case.decided"}

    status, trail = call(api, "GET", f"/v1/admin/cases/{app['id']}/audit", stack.headers("admin"))
    assert status == 200, trail
    assert trail["verification"]["ok"] is True and trail["verification"]["entries"] == len(raised)
    assert trail["case_number"] == app["case"]["case_number"]
    assert [e["seq"] for e in trail["entries"]] == list(range(1, len(raised) + 1))
    assert sorted(e["event_id"] for e in trail["entries"]) == sorted(e["id"] for e in raised)
    times = [e["occurred_at"] for e in trail["entries"]]
    assert times == sorted(times)  # the order of the changes that raised them
    decided = next(e for e in trail["entries"] if e["type"] == "onetrip.case.decided")
    assert decided["actor"] == {"sub": stack.users["dept-yq-amr"]["sub"], "kind": "department", "binding": "yq-amr"}
    assert (decided["item_code"], decided["item_version"]) == (app["item_code"], app["item_version"])


def test_lifecycle_events_become_the_applicants_notifications(api, stack):
    app = accept_case(api, stack)
    records = DynamoStore(None, stack.outputs["TableName"])
    images = [*outbox_images(stack, app["id"]), *(records._event_record(e) for e in lifecycle_events(app, stack))]
    feed(api, stack, images)
    feed(api, stack, images[::-1])  # the stream redelivers every record
    drain(stack, "DeliveryQueueUrl")

    status, told = call(api, "GET", f"/v1/applications/{app['id']}/events?limit=2", stack.headers("citizen-verified"))
    assert status == 200, told
    assert [n["type"] for n in told["items"]] == ["onetrip.case.rated", "onetrip.case.decided"]
    assert app["case"]["case_number"] in told["items"][1]["text_zh"] and "approved" in told["items"][1]["text_en"]
    assert told["items"][0]["delivery"] == "recorded"  # the local stage records; SNS sends in AWS
    status, rest = call(api, "GET", f"/v1/applications/{app['id']}/events?cursor={told['next_cursor']}",
                        stack.headers("citizen-verified"))
    assert status == 200 and rest["items"][0]["type"] == "onetrip.task.supplement_requested"
    assert "经营场所" in rest["items"][0]["text_zh"] or "premises" in rest["items"][0]["text_en"].lower()
    assert rest["next_cursor"] is None


def test_a_tampered_trail_is_reported_by_the_route_and_the_cli(api, stack):
    app = accept_case(api, stack)
    table = stack.outputs["TableName"]
    store = DynamoStore(client("dynamodb", stack.outputs["EndpointUrl"]), table)
    args = cli._parser().parse_args(["audit", "verify", app["id"]])
    assert args.handler(args, io.StringIO(), io.StringIO(), store=store) == 0

    second = store.list_audit_entries(app["id"])[1]
    forged = second.model_copy(update={"actor": {"sub": "someone-else", "kind": "admin"}})
    stack.aws("dynamodb").update_item(
        TableName=table, Key={k: {"S": v} for k, v in keys.audit_entry(app["id"], 2).items()},
        UpdateExpression="SET #d = :d", ExpressionAttributeNames={"#d": "doc"},
        ExpressionAttributeValues={":d": {"S": forged.model_dump_json()}})

    status, trail = call(api, "GET", f"/v1/admin/cases/{app['id']}/audit", stack.headers("admin"))
    assert status == 200
    assert trail["verification"] | {"message_zh": None, "message_en": None} == {
        "ok": False, "entries": len(outbox_images(stack, app["id"])), "head_hash": None, "broken_seq": 2, "code": "audit_entry_modified",
        "message_zh": None, "message_en": None}
    err = io.StringIO()
    assert args.handler(args, io.StringIO(), err, store=store) == 1 and "seq 2" in err.getvalue()


def test_only_supervising_admins_read_trails_and_only_owners_their_notifications(api, stack):
    app = accept_case(api, stack)
    for user in ("citizen-verified", "dept-yq-amr", "window-yq-centre", "agent"):
        assert call(api, "GET", f"/v1/admin/cases/{app['id']}/audit", stack.headers(user))[0] == 403
    assert call(api, "GET", f"/v1/admin/cases/{app['id']}/audit")[0] == 401
    assert call(api, "GET", f"/v1/applications/{app['id']}/events", stack.headers("agent"))[0] == 404
    assert call(api, "GET", f"/v1/applications/{app['id']}/events", stack.headers("admin"))[0] == 403
    status, bad = call(api, "GET", f"/v1/applications/{app['id']}/events?cursor=abc",
                       stack.headers("citizen-verified"))
    assert status == 422 and bad["problems"][0]["code"] == "cursor_invalid"


def test_the_routes_are_in_the_openapi_document(api):
    _, doc = call(api, "GET", "/v1/openapi.json")
    audit = doc["paths"]["/v1/admin/cases/{application_id}/audit"]["get"]
    assert audit["x-scope"] == "cases:supervise" and audit["x-principal-kinds"] == ["admin"]
    events = doc["paths"]["/v1/applications/{application_id}/events"]["get"]
    assert events["x-scope"] == "applications:own" and {"limit", "cursor"} <= {p["name"] for p in events["parameters"]}
