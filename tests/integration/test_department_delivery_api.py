"""The department registry, delivery log, missed-events pull and task desk through the API (moto)."""

from __future__ import annotations

import time

import pytest

from chalicelib.domain.webhooks import verify
from infra.onetrip.moto_stack import free_port
from infra.onetrip.receiver import DemoReceiver, Fault

from .conftest import accept_case, call


@pytest.fixture
def department(api, stack):
    code = f"dept-{int(time.time() * 1000) % 10**9}"
    status, body = call(api, "POST", "/v1/departments", stack.headers("admin"), {
        "code": code, "name_zh": "测试局", "name_en": "Test Bureau", "contact_email": "duty@test.example.gov.cn",
        "offices": [{"code": "hongqiao", "name_zh": "虹桥镇便民服务中心", "name_en": "Hongqiao Town Office"}]})
    assert status == 201, body
    return code


def _register(api, stack, department, url, **extra):
    return call(api, "POST", "/v1/endpoints", stack.headers("admin"), {
        "department": department, "url": url, "event_types": ["onetrip.task.assigned"], **extra})


def test_an_endpoint_is_active_only_after_answering_the_signed_verification(api, stack, department):
    port = free_port()
    answers = {"status": 503}
    secrets: list[str] = []
    receiver = DemoReceiver(department, ["whsec_" + "A" * 32], port=port,
                            fault=lambda n: Fault(status=answers["status"]) if answers["status"] else None)
    receiver.start()
    try:
        status, created = _register(api, stack, department, f"http://127.0.0.1:{port}/webhooks/{department}",
                                    ed25519=True)
        assert status == 201, created
        assert created["secret"].startswith("whsec_") and created["public_key"].startswith("whpk_")
        assert created["verification"]["http_status"] == 503
        assert created["endpoint"]["state"] == "pending"
        endpoint_id = created["endpoint"]["id"]
        secrets.append(created["secret"])
        # The secret is never shown again.
        _, shown = call(api, "GET", f"/v1/departments/{department}", stack.headers("admin"))
        assert "secret" not in str(shown["endpoints"]).replace("secrets", "")
        assert shown["offices"][0]["code"] == "hongqiao"
        receiver.secrets = secrets
        answers["status"] = None
        status, verified = call(api, "POST", f"/v1/departments/{department}/endpoints/{endpoint_id}/verification",
                                stack.headers("admin"))
        assert status == 200 and verified["verification"]["ok"], verified
        assert verified["endpoint"]["state"] == "active" and verified["endpoint"]["verified_at"]
        hit = receiver.received[-1]
        assert hit["signature_ok"] and hit["event_type"] == "onetrip.endpoint.verification"
    finally:
        receiver.stop()


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "https://10.0.0.8/hooks",
                                 "https://[fd00::1]/hooks", "ftp://example.org/x", "http://127.0.0.1.nip.invalid/"])
def test_registration_refuses_urls_the_ssrf_guard_refuses(api, stack, department, url):
    status, body = _register(api, stack, department, url)
    assert status == 422 and body["problems"][0]["code"] == "endpoint_url_refused", body


def test_registration_lists_every_problem_at_once(api, stack, department):
    status, body = call(api, "POST", "/v1/endpoints", stack.headers("admin"), {
        "department": department, "url": "https://10.1.2.3/x", "event_types": ["onetrip.task.assigned"],
        "item_codes": ["NO-SUCH-ITEM"]})
    assert status == 422
    assert {p["code"] for p in body["problems"]} == {"endpoint_url_refused", "item_unknown"}


def test_only_admins_register(api, stack, department):
    body = {"department": department, "url": "https://x.example/h", "event_types": ["onetrip.task.assigned"]}
    assert call(api, "POST", "/v1/endpoints", stack.headers("dept-yq-amr"), body)[0] == 403
    assert call(api, "GET", "/v1/departments", stack.headers("dept-yq-amr"))[0] == 403


def test_rotation_returns_a_new_secret_once_and_keeps_the_old_signing_for_the_grace(api, stack, department):
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.services.delivery import signed_headers
    from chalicelib.services.departments import add_endpoint

    d = build_deps(Settings.from_environ())
    endpoint, old = add_endpoint(d, department, "https://x.example/h", ("onetrip.task.assigned",))
    status, rotated = call(api, "POST", f"/v1/departments/{department}/endpoints/{endpoint.id}/rotation"
                                        "?grace_seconds=3600", stack.headers("admin"))
    assert status == 200 and rotated["secret"] != old
    assert len(rotated["endpoint"]["retiring_secrets_until"]) == 1
    stored = d.store.get_endpoint(department, endpoint.id)
    now = d.now()
    headers = signed_headers(d, stored, "msg_1", b"{}", now)
    for secret in (old, rotated["secret"]):
        verify(secret, headers, b"{}", now=int(now.timestamp()))


def test_the_task_desk_claims_comments_and_filters_by_status(api, stack):
    case = accept_case(api, stack)
    task_id = case["tasks"][0]["task_id"]
    amr = stack.headers("dept-yq-amr")
    status, claimed = call(api, "POST", f"/v1/tasks/{task_id}/claim", amr)
    assert status == 200 and claimed["claimed_by"]
    assert call(api, "POST", f"/v1/tasks/{task_id}/claim", amr)[0] == 200  # the same claimant: no change
    status, note = call(api, "POST", f"/v1/tasks/{task_id}/comments", amr, {"text": "材料齐全，待审核"})
    assert status == 201 and note["text"] == "材料齐全，待审核"
    assert [c["id"] for c in call(api, "GET", f"/v1/tasks/{task_id}/comments", amr)[1]["items"]] == [note["id"]]
    assert call(api, "GET", f"/v1/tasks/{task_id}/comments", stack.headers("dept-yq-tax"))[0] == 404
    open_ids = [t["id"] for t in call(api, "GET", "/v1/tasks?status=assigned&limit=100", amr)[1]["items"]]
    assert task_id in open_ids
    assert task_id not in [t["id"] for t in call(api, "GET", "/v1/tasks?status=decided&limit=100", amr)[1]["items"]]
    status, bad = call(api, "GET", "/v1/tasks?status=lost", amr)
    assert status == 422 and bad["problems"][0]["code"] == "status_invalid"


def test_a_department_pulls_its_events_in_order_with_the_webhook_ids(api, stack, monkeypatch):
    monkeypatch.setenv("ONETRIP_EVENTS_SETTLE", "0")
    from chalicelib import bootstrap
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    bootstrap.override(None, None)
    first = accept_case(api, stack)
    second = accept_case(api, stack)
    amr = stack.headers("dept-yq-amr")
    status, page = call(api, "GET", "/v1/events?limit=100", amr)
    assert status == 200
    events = [i["event"] for i in page["items"]]
    task_ids = [e["data"]["task_id"] for e in events if e["type"] == "onetrip.task.assigned"]
    assert task_ids[-2:] == [first["tasks"][0]["task_id"], second["tasks"][0]["task_id"]]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    cursor = events[-2]["id"]
    status, rest = call(api, "GET", f"/v1/events?after={cursor}", amr)
    assert [i["event"]["id"] for i in rest["items"]] == [events[-1]["id"]]
    _, tax = call(api, "GET", "/v1/events?limit=100", stack.headers("dept-yq-tax"))
    assert not {i["event"]["id"] for i in tax["items"]} & {e["id"] for e in events}
    assert call(api, "GET", "/v1/events?after=garbage", amr)[0] == 422
    get_settings.cache_clear()


def test_deliveries_are_listed_by_status_for_the_department_and_for_admins(api, stack):
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.domain.deliveries import Delivery, DeliveryStatus

    d = build_deps(Settings.from_environ())
    wid = f"msg_list_{int(time.time() * 1000)}"
    d.store.save_delivery(Delivery(webhook_id=wid, department="yq-tax", endpoint_id="ep_x",
                                   event_type="onetrip.task.assigned", status=DeliveryStatus.DEAD, attempt=10,
                                   created_at=d.now().isoformat(timespec="milliseconds"),
                                   updated_at=d.now().isoformat(timespec="milliseconds"), payload="{}"), None)
    _, mine = call(api, "GET", "/v1/deliveries?status=dead&limit=100", stack.headers("dept-yq-tax"))
    assert wid in [x["webhook_id"] for x in mine["items"]]
    _, theirs = call(api, "GET", "/v1/deliveries?status=dead&limit=100", stack.headers("dept-yq-amr"))
    assert wid not in [x["webhook_id"] for x in theirs["items"]]
    _, admin = call(api, "GET", "/v1/deliveries?department=yq-tax&status=dead", stack.headers("admin"))
    assert wid in [x["webhook_id"] for x in admin["items"]]
    status, missing = call(api, "GET", "/v1/deliveries", stack.headers("admin"))
    assert status == 422 and missing["problems"][0]["code"] == "department_required"
    status, bad = call(api, "GET", "/v1/deliveries?status=lost", stack.headers("dept-yq-tax"))
    assert status == 422
