"""The catalogue API through chalice.test.Client on the seeded sample catalogue in moto."""

from __future__ import annotations

from urllib.parse import quote

from tests.integration.conftest import call


def get(api, path, headers=None):
    resp = api.http.get(path, headers=headers or {})
    return resp


def test_the_local_stack_serves_the_sample_catalogue(api, stack):
    assert len(stack.seeded["items"]) >= 30
    status, guide = call(api, "GET", "/v1/items/YQ-PSB-HJ-0101")
    assert status == 200
    assert guide["main_item"] == "YQ-PSB-HJ-0100" and guide["base_code"] == "330000-QR-0201"
    assert guide["version"] == 1 and guide["status"] == "published" and len(guide["content_hash"]) == 64
    assert {m["source"] for m in guide["materials"]} == {"upload", "bus"}
    assert guide["form"][0]["name"] == "married_years" and guide["legal_basis"]


def test_a_guide_carries_its_etag_and_a_repeat_is_304(api, stack):
    first = get(api, "/v1/items/YQ-RE-0010")
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('"YQ-RE-0010.v1.') and "max-age" in first.headers["Cache-Control"]
    again = get(api, "/v1/items/YQ-RE-0010", {"If-None-Match": tag})
    assert again.status_code == 304 and not again.body and again.headers["ETag"] == tag
    stale = get(api, "/v1/items/YQ-RE-0010", {"If-None-Match": '"YQ-RE-0010.v0.0000"'})
    assert stale.status_code == 200


def test_search_by_chinese_text_department_and_channel(api, stack):
    status, body = call(api, "GET", "/v1/items?q=" + quote("驾驶证"))
    assert status == 200 and [i["code"] for i in body["items"]] == ["YQ-TRF-0001", "YQ-TRF-0002"]
    status, body = call(api, "GET", "/v1/items?q=" + quote("二手房"))
    assert [i["code"] for i in body["items"]] == ["YQ-RE-0010"]
    status, body = call(api, "GET", "/v1/items?department=yq-hrss&channel=terminal")
    assert {i["code"] for i in body["items"]} == {"YQ-HRSS-0001", "YQ-HRSS-0002"}
    seen, cursor = [], None
    for _ in range(20):
        status, body = call(api, "GET", "/v1/items?limit=3&q=" + quote("登记") + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 6
    status, body = call(api, "GET", "/v1/items?channel=fax&q=" + "x" * 60)
    assert status == 422 and {p["code"] for p in body["problems"]} == {"channel_invalid", "query_too_long"}


def test_checklist_returns_exactly_the_needed_materials_and_prerequisites(api, stack):
    h = {"Content-Type": "application/json"}
    status, body = call(api, "POST", "/v1/items/YQ-CIV-0001/checklist", h, {"answers": {"place_of_death": "unnatural"}})
    assert status == 200
    assert [(m["code"], m["source"]) for m in body["materials"]] == [
        ("police-death-certificate", "bus"), ("handler-id", "bus")]
    status, body = call(api, "POST", "/v1/items/YQ-NR-0001/checklist", h, {"answers": {}})
    assert status == 200 and body["prerequisites"][0]["item_code"] == "YQ-DRC-0001"
    assert all(m["source"] == "upload" and m["accepted_content_types"] for m in body["materials"])


def test_checklist_with_invalid_answers_is_422_listing_every_problem(api, stack):
    h = {"Content-Type": "application/json"}
    status, body = call(api, "POST", "/v1/items/YQ-PSB-CRJ-0001/checklist", h,
                        {"answers": {"age": "twelve", "hobby": "go"}})
    assert status == 422 and body["code"] == "answers_invalid"
    assert {(p["code"], p["target"]) for p in body["problems"]} == {
        ("answer_invalid", "answers.age"), ("answer_unknown_field", "answers.hobby"),
        ("answer_required", "answers.state_employee")}
    status, body = call(api, "POST", "/v1/items/YQ-PSB-CRJ-0001/checklist", h, {"answers": {}, "status": "x"})
    assert status == 422 and body["problems"][0]["code"] == "field_not_allowed"
    status, body = call(api, "POST", "/v1/items/NO-SUCH/checklist", h, {"answers": {}})
    assert status == 404 and body["detail"]["id"] == "NO-SUCH"
