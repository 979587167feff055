"""The application path through `chalice.test.Client`, the real template on moto, and every event
handler fed the exact Lambda events of events/."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from chalicelib.domain.webhooks import generate_secret, verify
from infra.onetrip.receiver import DemoReceiver

from .conftest import PDF, PNG, call, delivery_event, drain, outbox_images, stream_event, upload, upload_event

CITIZEN = "citizen-verified"


def _draft(api, stack, item="YQ-AMR-0001", user=CITIZEN, answers=None):
    request = {"item_code": item, **({"answers": answers} if answers else {})}
    status, body = call(api, "POST", "/v1/applications", stack.headers(user), request)
    assert status == 201, body
    return body


def _upload_and_verify(api, stack, app_id, material, data, content_type="application/pdf", user=CITIZEN):
    status, ticket = call(api, "POST", f"/v1/applications/{app_id}/materials/{material}/uploads",
                          stack.headers(user), {"content_type": content_type, "file_name": "../证件.pdf"})
    assert status == 201, ticket
    assert upload(ticket, data) in (200, 204)
    key = ticket["fields"]["key"]
    # The notification moto really produced, then the exact Lambda event shape built from events/.
    notified = [m for m in drain(stack, "UploadQueueUrl") if key in unquote_plus(m["Body"])]
    assert notified, "S3 did not notify the upload queue"
    result = api.lambda_.invoke("verify_material", upload_event(stack.outputs["BucketName"], key))
    assert result.payload == {"batchItemFailures": []}
    return ticket


def test_service_guide_lists_items_with_materials_and_limits(api, stack):
    status, body = call(api, "GET", "/v1/items")
    assert status == 200
    codes = [i["code"] for i in body["items"]]
    assert codes == sorted(codes) and len(codes) == 20  # the seeded sample catalogue, first page
    assert "YQ-AMR-0001" in codes
    status, guide = call(api, "GET", "/v1/items/YQ-RE-0010")
    assert status == 200
    assert guide["departments"] == ["yq-realestate", "yq-tax"]
    contract = next(m for m in guide["materials"] if m["code"] == "sale-contract")
    assert contract["accepted_content_types"] == ["application/pdf"] and contract["max_size_bytes"] == 10485760
    assert guide["committed_days"] == 5


def test_unknown_item_is_404_with_its_code(api, stack):
    status, body = call(api, "GET", "/v1/items/NO-SUCH-ITEM")
    assert status == 404
    assert body["code"] == "item_not_found" and body["detail"]["id"] == "NO-SUCH-ITEM"
    assert body["message_zh"] and body["message_en"]


def test_paging_through_items_one_at_a_time(api, stack):
    seen, cursor = [], None
    for _ in range(50):
        status, body = call(api, "GET", "/v1/items?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 30  # every seeded item once
    assert {"YQ-AMR-0001", "YQ-RE-0010"} <= set(seen)
    assert call(api, "GET", "/v1/items?limit=0")[0] == 422
    assert call(api, "GET", "/v1/items?cursor=bm90LWEtY3Vyc29y")[0] == 422


def test_protected_routes_refuse_missing_and_invalid_tokens(api, stack):
    status, body = call(api, "POST", "/v1/applications", {"Content-Type": "application/json"}, {"item_code": "x"})
    assert status == 401
    for header in ("Bearer not-a-jwt", "Basic abc", "Bearer a.b", stack.headers(CITIZEN)["Authorization"] + "x"):
        status, body = call(api, "GET", "/v1/applications", {"Authorization": header})
        assert status == 401, header
        assert body["code"] == "unauthenticated"


def test_draft_lists_every_material_needed(api, stack):
    app = _draft(api, stack, "YQ-RE-0010")
    assert app["status"] == "draft" and app["item_version"] == 1
    assert [m["code"] for m in app["materials"]] == [
        "sale-contract", "property-certificate", "tax-declaration", "marriage-certificate"]
    assert all(m["status"] == "missing" for m in app["materials"])
    assert "owner_sub" not in app


def test_bad_bodies_get_clear_errors(api, stack):
    h = stack.headers(CITIZEN)
    status, body = call(api, "POST", "/v1/applications", h, raw=b"{not json")
    assert (status, body["code"]) == (400, "malformed_request")
    status, body = call(api, "POST", "/v1/applications", h, {"item_code": "YQ-AMR-0001", "status": "accepted",
                                                               "owner": "someone-else"})
    assert status == 422
    assert {p["target"] for p in body["problems"]} == {"status", "owner"}
    assert all(p["code"] == "field_not_allowed" for p in body["problems"])
    status, body = call(api, "POST", "/v1/applications", h, {})
    assert status == 422 and body["problems"][0]["code"] == "field_required"
    status, body = call(api, "POST", "/v1/applications", h, {"item_code": "NOPE"})
    assert (status, body["code"]) == (404, "item_not_found")
    status, body = call(api, "POST", "/v1/applications", h, raw=b"[1, 2]")
    assert status == 422


def test_upload_request_is_a_presigned_post_bound_to_a_generated_key(api, stack):
    app = _draft(api, stack)
    status, ticket = call(api, "POST", f"/v1/applications/{app['id']}/materials/application-form/uploads",
                          stack.headers(CITIZEN), {"content_type": "application/pdf", "file_name": "a/../b.pdf"})
    assert status == 201
    key = ticket["fields"]["key"]
    assert key.startswith(f"materials/{app['id']}/application-form/upl_") and "b.pdf" not in key
    assert ticket["max_size_bytes"] == 5242880
    slot = next(m for m in ticket["application"]["materials"] if m["code"] == "application-form")
    assert slot["status"] == "upload_requested" and slot["file_name"] == "b.pdf"
    status, body = call(api, "POST", f"/v1/applications/{app['id']}/materials/application-form/uploads",
                        stack.headers(CITIZEN), {"content_type": "image/png"})
    assert (status, body["problems"][0]["code"]) == (422, "content_type_not_accepted")
    status, body = call(api, "POST", f"/v1/applications/{app['id']}/materials/nope/uploads",
                        stack.headers(CITIZEN), {"content_type": "application/pdf"})
    assert status == 422 and body["problems"][0]["code"] == "material_unknown"


def test_a_file_whose_bytes_are_not_the_declared_type_is_rejected_with_the_reason(api, stack):
    app = _draft(api, stack)
    _upload_and_verify(api, stack, app["id"], "application-form", PNG)  # declared PDF, really PNG
    status, body = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(CITIZEN))
    slot = next(m for m in body["materials"] if m["code"] == "application-form")
    assert slot["status"] == "rejected"
    assert [p["code"] for p in slot["problems"]] == ["file_type_not_accepted"]


def test_test_event_and_duplicate_notifications_change_nothing(api, stack):
    app = _draft(api, stack)
    ticket = _upload_and_verify(api, stack, app["id"], "application-form", PDF)
    before = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(CITIZEN))[1]
    event = upload_event(stack.outputs["BucketName"], ticket["fields"]["key"])
    assert api.lambda_.invoke("verify_material", event).payload == {"batchItemFailures": []}
    test_event = json.loads(open("events/sqs/upload-test-event.json").read())
    assert api.lambda_.invoke("verify_material", test_event).payload == {"batchItemFailures": []}
    after = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(CITIZEN))[1]
    assert after["materials"] == before["materials"]


def test_submitting_an_incomplete_application_lists_every_problem_at_once(api, stack):
    app = _draft(api, stack, user="citizen-unverified")
    _upload_and_verify(api, stack, app["id"], "application-form", PNG, user="citizen-unverified")
    status, body = call(api, "POST", f"/v1/applications/{app['id']}/submit", stack.headers("citizen-unverified"))
    # Not verified: 403 telling how to raise the assurance level, still with every problem at once.
    assert status == 403 and body["code"] == "assurance_level_too_low"
    assert body["detail"]["how"] == "POST /v1/me/identity"
    problems = {(p["code"], p.get("target")) for p in body["problems"]}
    assert problems == {("identity_not_verified", "applicant"), ("material_rejected", "application-form"),
                        ("material_missing", "operator-id"), ("material_missing", "premises-proof")}


def test_other_peoples_objects_are_not_found(api, stack):
    app = _draft(api, stack)
    for user in ("citizen-unverified", "agent"):
        status, body = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(user))
        assert status == 404 and body["code"] == "application_not_found"
        status, _ = call(api, "POST", f"/v1/applications/{app['id']}/submit", stack.headers(user))
        assert status == 404
    status, body = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers("dept-yq-amr"))
    assert status == 403 and body["code"] == "principal_kind_not_allowed"
    status, _ = call(api, "GET", "/v1/tasks", stack.headers(CITIZEN))
    assert status == 403


def test_joint_item_travels_the_whole_path(api, stack):
    """Draft → uploads → verification → acceptance → outbox → dispatch → signed webhooks at both
    departments → their decisions → the decided case, through every handler."""
    app = _draft(api, stack, "YQ-RE-0010", answers={"marital_status": "single", "buyer_first_home": True})
    for material, data, ctype in (("sale-contract", PDF, "application/pdf"),
                                  ("property-certificate", PNG, "image/png"),
                                  ("tax-declaration", PDF, "application/pdf")):
        _upload_and_verify(api, stack, app["id"], material, data, ctype)
    status, case = call(api, "POST", f"/v1/applications/{app['id']}/submit", stack.headers(CITIZEN))
    assert status == 200, case
    assert case["status"] == "accepted"
    assert case["case"]["applicant"]["id_number_masked"] == "110105********002X"
    assert case["case"]["applicant"]["assurance_level"] == "L2"
    assert len(case["tasks"]) == 2
    # Submitting again changes nothing.
    assert call(api, "POST", f"/v1/applications/{app['id']}/submit", stack.headers(CITIZEN))[0] == 409

    # Outbox → dispatch, with the stream record shape of events/.
    every = outbox_images(stack, app["id"])
    images = [i for i in every if "onetrip.task.assigned" in i["doc"]["S"]]
    assert len(images) == 2
    # each verdict was written with its event (the application's progress; no department receives it)
    assert sum("onetrip.material.verified" in i["doc"]["S"] for i in every) == 3
    endpoints = {}
    receivers = {}
    from chalicelib import bootstrap
    from chalicelib.services.departments import add_endpoint

    try:
        for department in ("yq-realestate", "yq-tax"):
            receivers[department] = DemoReceiver(department, [generate_secret()]).start()
            endpoint, secret = add_endpoint(bootstrap.deps(), department, receivers[department].url,
                                            ("onetrip.task.assigned",))
            receivers[department].secrets = [secret]
            endpoints[department] = endpoint
        drain(stack, "DeliveryQueueUrl")
        for image in images:
            result = api.lambda_.invoke("dispatch", stream_event(image))
            assert result.payload == {"batchItemFailures": []}
        messages = drain(stack, "DeliveryQueueUrl")
        ours = [m for m in messages if json.loads(m["Body"])["endpoint_id"] in {e.id for e in endpoints.values()}]
        assert len(ours) == 2
        for message in ours:
            result = api.lambda_.invoke("deliver", delivery_event(message["Body"]))
            assert result.payload == {"batchItemFailures": []}
            # Redelivery of the same message sends nothing more.
            assert api.lambda_.invoke("deliver", delivery_event(message["Body"], 2)).payload == {
                "batchItemFailures": []}
        for department, receiver in receivers.items():
            got = [r for r in receiver.received if r["status"] == 204]
            assert len(got) == 1 and got[0]["signature_ok"], receiver.received
    finally:
        for receiver in receivers.values():
            receiver.stop()

    task_ids = {t["department"]: t["task_id"] for t in case["tasks"]}
    status, detail = call(api, "GET", f"/v1/tasks/{task_ids['yq-tax']}", stack.headers("dept-yq-tax"))
    assert status == 200 and len(detail["materials"]) == 3
    assert detail["case"]["case_number"] == case["case"]["case_number"]
    # Another department cannot see it.
    assert call(api, "GET", f"/v1/tasks/{task_ids['yq-tax']}", stack.headers("dept-yq-amr"))[0] == 404
    assert call(api, "POST", f"/v1/tasks/{task_ids['yq-tax']}/decision", stack.headers("dept-yq-amr"),
                {"outcome": "approved"})[0] == 404
    status, body = call(api, "POST", f"/v1/tasks/{task_ids['yq-tax']}/decision", stack.headers("dept-yq-tax"),
                        {"outcome": "rejected"})
    assert status == 422 and body["problems"][0]["code"] == "reasons_required"
    status, _ = call(api, "POST", f"/v1/tasks/{task_ids['yq-tax']}/decision", stack.headers("dept-yq-tax"),
                     {"outcome": "approved"})
    assert status == 200
    status, mid = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(CITIZEN))
    assert mid["status"] == "in_review"
    status, _ = call(api, "POST", f"/v1/tasks/{task_ids['yq-realestate']}/decision",
                     stack.headers("dept-yq-realestate"), {"outcome": "approved"})
    assert status == 200
    status, done = call(api, "GET", f"/v1/applications/{app['id']}", stack.headers(CITIZEN))
    assert done["status"] == "decided" and done["outcome"] == "approved"
    status, again = call(api, "POST", f"/v1/tasks/{task_ids['yq-tax']}/decision", stack.headers("dept-yq-tax"),
                         {"outcome": "approved"})
    assert (status, again["code"]) == (409, "task_already_decided")
    status, inbox = call(api, "GET", "/v1/tasks", stack.headers("dept-yq-tax"))
    assert task_ids["yq-tax"] in [t["id"] for t in inbox["items"]]
    decided = [i for i in outbox_images(stack, app["id"]) if "onetrip.case.decided" in i["doc"]["S"]]
    assert len(decided) == 1


def test_webhook_signature_covers_the_exact_body(api, stack):
    """A delivery whose body was altered in transit fails the department's verification."""
    import time

    from chalicelib.domain.webhooks import webhook_headers

    body = b'{"a":1}'
    headers = webhook_headers(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_x", int(time.time()), body)
    verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body)
    try:
        verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b'{"a":2}')
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("tampered body verified")


def test_openapi_describes_every_route(api, stack):
    status, doc = call(api, "GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    from app import app as chalice_app

    for path, methods in chalice_app.routes.items():
        for method in methods:
            assert method.lower() in doc["paths"][path], (method, path)
    assert "CreateApplication" in doc["components"]["schemas"]
    assert doc["paths"]["/v1/applications"]["post"]["security"] == [{"bearer": []}]


def test_chalices_own_refusals_use_the_api_error_format(api, stack):
    status, body = call(api, "POST", "/v1/applications", {**stack.headers(CITIZEN), "Content-Type": "text/plain"},
                        raw=b"item_code=YQ-AMR-0001")
    assert (status, body["code"]) == (415, "unsupported_media_type")
    assert body["message_zh"] and body["message_en"]
    resp = api.http.delete("/v1/items")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET"
    assert json.loads(resp.body)["code"] == "method_not_allowed"


def test_openapi_document_is_valid_openapi_3_1(api, stack):
    from openapi_spec_validator import validate

    validate(call(api, "GET", "/v1/openapi.json")[1])
