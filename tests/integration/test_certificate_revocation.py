"""Revoking an e-certificate (注销/吊销) through the API on moto: the issuing department revokes it once
and its holder can no longer fill a material with it; an admin may revoke; another department is told
it does not exist; a second revocation is 409; a bad body is refused with every problem at once."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.domain.ids import new_id

from .conftest import call

HOLDER = "citizen-verified"
HOLDER_ID_NUMBER = "11010519491231002X"  # infra/onetrip/seed.py: the seeded citizen's verified identity


def register(api, stack, issuer: str = "dept-yq-amr") -> dict:
    body = {"type": "营业执照", "number": f"92330382RV{new_id()[-8:].upper()}", "holder_id_number": HOLDER_ID_NUMBER,
            "document_sha256": hashlib.sha256(new_id().encode()).hexdigest(), "valid_until": "2030-12-31"}
    status, cert = call(api, "POST", "/v1/certificates", stack.headers(issuer), body)
    assert status == 201, cert
    return cert


def revoke(api, stack, user: str, certificate_id: str, body: object = None) -> tuple[int, dict]:
    return call(api, "POST", f"/v1/certificates/{certificate_id}/revocation", stack.headers(user),
                {"reason": "营业执照被依法吊销"} if body is None else body)


def test_the_issuer_revokes_and_the_holder_can_no_longer_use_it_for_a_material(api, stack):
    cert = register(api, stack)
    status, draft = call(api, "POST", "/v1/applications", stack.headers(HOLDER),
                         {"item_code": "YQ-AMR-0004", "answers": {"business_type": "retail"}})
    assert status == 201, draft
    status, offers = call(api, "GET", f"/v1/applications/{draft['id']}/offers", stack.headers(HOLDER))
    assert status == 200 and cert["id"] in {o.get("certificate_id") for o in offers["offers"]}

    status, revoked = revoke(api, stack, "dept-yq-amr", cert["id"])

    assert status == 200, revoked
    assert revoked["id"] == cert["id"] and revoked["revocation"]["reason"] == "营业执照被依法吊销"
    assert revoked["revocation"]["at"] and "actor" not in revoked["revocation"]
    status, offers = call(api, "GET", f"/v1/applications/{draft['id']}/offers", stack.headers(HOLDER))
    assert status == 200 and cert["id"] not in {o.get("certificate_id") for o in offers["offers"]}
    status, refused = call(api, "POST", f"/v1/applications/{draft['id']}/materials/business-licence/reuse",
                           stack.headers(HOLDER),
                           {"source": "e_certificate", "certificate_id": cert["id"], "consent": True})
    assert status == 422, refused
    assert refused["code"] == "certificate_refused"
    [problem] = refused["problems"]
    assert (problem["code"], problem["target"]) == ("certificate_revoked", "business-licence")
    assert problem["message_zh"] and problem["message_en"]
    # The holder sees when and why among their certificates; the issuer reads it on the registration.
    status, mine = call(api, "GET", "/v1/me/certificates", stack.headers(HOLDER))
    [listed] = [c for c in mine["items"] if c["id"] == cert["id"]]
    assert listed["revocation"] == revoked["revocation"]
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("dept-yq-amr"))
    assert status == 200 and read["revocation"] == revoked["revocation"]


def test_a_second_revocation_is_a_conflict_and_the_first_stands(api, stack):
    cert = register(api, stack)
    status, first = revoke(api, stack, "dept-yq-amr", cert["id"], {"reason": "第一次"})
    assert status == 200, first
    status, again = revoke(api, stack, "admin", cert["id"], {"reason": "第二次"})
    assert status == 409, again
    assert again["code"] == "certificate_already_revoked" and again["message_zh"] and again["message_en"]
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("admin"))
    assert read["revocation"] == first["revocation"]


def test_an_admin_may_revoke_any_departments_certificate(api, stack):
    cert = register(api, stack)
    status, revoked = revoke(api, stack, "admin", cert["id"], {"reason": "登记错误"})
    assert status == 200, revoked
    assert revoked["revocation"]["reason"] == "登记错误"


def test_another_department_gets_the_same_404_as_for_an_unknown_certificate(api, stack):
    cert = register(api, stack)
    status, hidden = revoke(api, stack, "dept-yq-tax", cert["id"])
    unknown_id = new_id("crt_")
    status_unknown, unknown = revoke(api, stack, "dept-yq-amr", unknown_id)
    assert (status, status_unknown) == (404, 404)
    assert hidden["code"] == "certificate_not_found"
    assert hidden["detail"].pop("id") == cert["id"] and unknown["detail"].pop("id") == unknown_id
    assert hidden == unknown
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("dept-yq-amr"))
    assert read["revocation"] is None


def test_the_holder_cannot_revoke_and_learns_nothing_about_the_certificate(api, stack):
    """Holders are citizens or agents: the route is for issuers only, so they get the same answer for
    their own certificate as for an id that does not exist."""
    cert = register(api, stack)
    status, own = revoke(api, stack, HOLDER, cert["id"])
    status_unknown, unknown = revoke(api, stack, HOLDER, new_id("crt_"))
    assert status == status_unknown == 403
    assert own == unknown and own["code"] == "principal_kind_not_allowed"
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("dept-yq-amr"))
    assert read["revocation"] is None


@pytest.mark.parametrize(("body", "problems"), [
    ({}, [("field_required", "reason")]),
    ({"reason": ""}, [("field_invalid", "reason")]),
    ({"reason": "x" * 501}, [("field_invalid", "reason")]),
    ({"reason": "吊销", "revoked_by": "admin", "revoked_at": "2020-01-01"},
     [("field_not_allowed", "revoked_by"), ("field_not_allowed", "revoked_at")]),
], ids=["missing", "empty", "too-long", "extra-fields"])
def test_a_bad_body_is_refused_with_every_problem_and_revokes_nothing(api, stack, body, problems):
    cert = register(api, stack)
    status, refused = revoke(api, stack, "dept-yq-amr", cert["id"], body)
    assert status == 422, refused
    assert refused["code"] == "validation_failed" and refused["message_zh"] and refused["message_en"]
    assert sorted((p["code"], p["target"]) for p in refused["problems"]) == sorted(problems)
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("dept-yq-amr"))
    assert read["revocation"] is None


def test_a_body_that_is_not_json_is_a_400(api, stack):
    cert = register(api, stack)
    status, refused = call(api, "POST", f"/v1/certificates/{cert['id']}/revocation", stack.headers("dept-yq-amr"),
                           raw=b"{reason:")
    assert status == 400 and refused["code"] == "malformed_request"


def test_a_certificate_revoked_after_it_filled_a_material_is_refused_at_submission_with_the_rest(api, stack):
    cert = register(api, stack)
    status, draft = call(api, "POST", "/v1/applications", stack.headers(HOLDER),
                         {"item_code": "YQ-AMR-0004", "answers": {"business_type": "retail"}})
    assert status == 201, draft
    status, used = call(api, "POST", f"/v1/applications/{draft['id']}/materials/business-licence/reuse",
                        stack.headers(HOLDER), {"source": "e_certificate", "certificate_id": cert["id"], "consent": True})
    assert status == 200, used

    status, revoked = revoke(api, stack, "dept-yq-amr", cert["id"])
    assert status == 200, revoked
    status, refused = call(api, "POST", f"/v1/applications/{draft['id']}/submit", stack.headers(HOLDER))

    assert status == 422, refused
    by_code = {(p["code"], p["target"]): p for p in refused["problems"]}
    revoked_problem = by_code[("certificate_revoked", "business-licence")]
    assert revoked_problem["message_zh"] and revoked_problem["message_en"]
    assert revoked_problem["detail"]["reason"] == "营业执照被依法吊销"
    # Every other problem of the draft is listed in the same answer (一次性告知).
    assert len(refused["problems"]) > 1
