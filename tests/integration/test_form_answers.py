"""Form answers drive the materials one applicant needs: a conditional material (the seller's
marriage certificate when married) appears and disappears with its condition, and invalid answers
are refused all at once."""

from __future__ import annotations

from .conftest import call

CITIZEN = "citizen-verified"


def _needed(app: dict) -> set[str]:
    return {m["code"] for m in app["materials"] if m["required"]}


def test_conditional_material_follows_the_answers(api, stack):
    h = stack.headers(CITIZEN)
    status, app = call(api, "POST", "/v1/applications", h,
                       {"item_code": "YQ-RE-0010", "answers": {"marital_status": "married", "buyer_first_home": True}})
    assert status == 201, app
    assert "marriage-certificate" in _needed(app)
    status, refused = call(api, "POST", f"/v1/applications/{app['id']}/submit", h)
    assert ("material_missing", "marriage-certificate") in {(p["code"], p.get("target")) for p in refused["problems"]}

    status, app = call(api, "PUT", f"/v1/applications/{app['id']}/answers", h,
                       {"answers": {"marital_status": "single", "buyer_first_home": False}})
    assert status == 200, app
    assert "marriage-certificate" not in _needed(app)
    assert app["answers"] == {"marital_status": "single", "buyer_first_home": False}


def test_invalid_answers_are_all_listed(api, stack):
    status, body = call(api, "POST", "/v1/applications", stack.headers(CITIZEN),
                        {"item_code": "YQ-RE-0010", "answers": {"marital_status": "complicated",
                                                                "buyer_first_home": "yes", "shoe_size": 42}})
    assert status == 422 and body["code"] == "answers_invalid"
    targets = {p["target"] for p in body["problems"]}
    assert {"answers.marital_status", "answers.buyer_first_home", "answers.shoe_size"} <= targets
