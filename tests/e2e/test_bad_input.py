"""Bad input over real HTTP (`chalice local`) always gets a clear 4xx answer: never a 5xx, never a
dropped connection."""

from __future__ import annotations

import json

import pytest
import requests

from .conftest import AMR_ITEM, CITIZEN, OTHER_CITIZEN

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def foreign_app(e2e) -> str:
    """An application of citizen-verified, that nobody else may see."""
    return e2e.draft(AMR_ITEM, CITIZEN)["id"]


def _send(e2e, method: str, path: str, username: str | None, headers: dict[str, str] | None = None,
          data: bytes | None = None) -> requests.Response:
    try:
        resp = e2e.call(method, path, username, headers=headers or {}, data=data)
    except requests.ConnectionError as exc:  # a dropped connection is a failure, not a skip
        pytest.fail(f"{method} {path}: connection dropped: {exc}")
    assert resp.status_code < 500, f"{method} {path}: {resp.status_code} {resp.text}"
    return resp


def _json(resp: requests.Response) -> dict:
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    return resp.json()


@pytest.mark.e2e
@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/applications", None),
    ("POST", "/v1/applications", json.dumps({"item_code": AMR_ITEM}).encode()),
    ("GET", "/v1/tasks", None),
])
def test_no_token_is_401(e2e, method, path, body):
    resp = _send(e2e, method, path, None, JSON, body)
    assert resp.status_code == 401


@pytest.mark.e2e
@pytest.mark.parametrize("authorization", [
    "Bearer garbage",
    "Bearer a.b.c",
    "Bearer " + "A" * 4000,
    "Basic Y2l0aXplbjpwYXNz",
    "Bearer",
])
def test_a_garbage_bearer_is_401(e2e, authorization):
    resp = _send(e2e, "GET", "/v1/applications", None, {"Authorization": authorization})
    assert resp.status_code == 401


@pytest.mark.e2e
def test_a_tampered_token_is_401(e2e):
    header, payload, signature = e2e.stack.token(CITIZEN).split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    resp = _send(e2e, "GET", "/v1/applications", None, {"Authorization": f"Bearer {tampered}"})
    assert resp.status_code == 401


@pytest.mark.e2e
@pytest.mark.parametrize("raw", [b"{not json", b'{"item_code": "YQ-AMR-0001"', b"\xff\xfe\x00", b""])
def test_malformed_json_is_400(e2e, raw):
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, JSON, raw)
    assert resp.status_code == 400
    assert _json(resp)["code"] == "malformed_request"


@pytest.mark.e2e
def test_unknown_fields_are_422_each_named(e2e):
    body = {"item_code": AMR_ITEM, "status": "accepted", "owner": "someone-else"}
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, JSON, json.dumps(body).encode())
    assert resp.status_code == 422
    problems = _json(resp)["problems"]
    assert {(p["code"], p["target"]) for p in problems} == {
        ("field_not_allowed", "status"), ("field_not_allowed", "owner")}


@pytest.mark.e2e
def test_a_json_array_body_is_422(e2e):
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, JSON, b"[1, 2]")
    assert resp.status_code == 422


@pytest.mark.e2e
@pytest.mark.parametrize("username", [OTHER_CITIZEN, "agent"])
def test_another_citizens_application_is_404(e2e, foreign_app, username):
    for method, path, body in (("GET", f"/v1/applications/{foreign_app}", None),
                               ("POST", f"/v1/applications/{foreign_app}/submit", None),
                               ("POST", f"/v1/applications/{foreign_app}/materials/application-form/uploads",
                                json.dumps({"content_type": "application/pdf"}).encode())):
        resp = _send(e2e, method, path, username, JSON, body)
        assert resp.status_code == 404, (method, path, resp.text)
        assert _json(resp)["code"] == "application_not_found"
    # ...and its owner still sees it, untouched.
    assert e2e.application(foreign_app)["status"] == "draft"


@pytest.mark.e2e
def test_unknown_item_is_404_with_its_code(e2e):
    resp = _send(e2e, "GET", "/v1/items/NO-SUCH-ITEM", None)
    assert resp.status_code == 404
    body = _json(resp)
    assert body["code"] == "item_not_found" and body["detail"]["id"] == "NO-SUCH-ITEM"
    assert body["message_zh"] and body["message_en"]
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, JSON, json.dumps({"item_code": "NO-SUCH-ITEM"}).encode())
    assert resp.status_code == 404 and _json(resp)["code"] == "item_not_found"


@pytest.mark.e2e
def test_a_70_kb_body_is_422(e2e):
    body = json.dumps({"item_code": AMR_ITEM, "padding": "x" * (70 * 1024)}).encode()
    assert len(body) > 70 * 1024
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, JSON, body)
    assert resp.status_code == 422
    assert [p["code"] for p in _json(resp)["problems"]] == ["body_too_large"]


@pytest.mark.e2e
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_non_json_content_type_is_4xx(e2e, content_type):
    resp = _send(e2e, "POST", "/v1/applications", CITIZEN, {"Content-Type": content_type},
                 json.dumps({"item_code": AMR_ITEM}).encode())
    assert 400 <= resp.status_code < 500


@pytest.mark.e2e
def test_the_api_still_serves_after_the_abuse(e2e):
    assert not e2e.stack.dead_processes()
    assert e2e.ok("GET", "/v1/items", username=None)["items"]
