"""Once-only through the API on moto: the second item of a life event (开办企业: individual business →
company) needs no upload for the premises proof verified in the first, after consent; without consent
nothing is reused; a department's e-certificate fills a material of a third item; every use and every
department read is in the applicant's access log."""

from __future__ import annotations

import hashlib

import pytest
import requests

from chalicelib.domain.ids import new_id
from infra.onetrip import samples

from .conftest import PDF, PNG, call, verify_upload

OWNER = "citizen-verified"
OWNER_ID_NUMBER = "11010519491231002X"  # infra/onetrip/seed.py: the seeded citizen's verified identity


def log_for(api, stack, app_id: str) -> list[dict]:
    status, page = call(api, "GET", "/v1/me/access-log?limit=100", stack.headers(OWNER))
    assert status == 200
    return [r for r in page["items"] if r["application_id"] == app_id]


# Content of its own: a vault keeps each content once, from its first verification (other tests of the
# session upload the shared sample PDF for the same applicant).
PREMISES = samples.pdf(f"premises proof {new_id()}")


@pytest.fixture(scope="module")
def first_case(stack):
    """YQ-AMR-0001 accepted for OWNER: its premises proof (reusable for 180 days) verified."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as api:
        status, draft = call(api, "POST", "/v1/applications", stack.headers(OWNER), {"item_code": "YQ-AMR-0001"})
        assert status == 201
        for material, data, ctype in (("application-form", PDF, "application/pdf"), ("operator-id", PNG, "image/png"),
                                      ("premises-proof", PREMISES, "application/pdf")):
            verify_upload(api, stack, draft["id"], material, data, ctype)
        status, case = call(api, "POST", f"/v1/applications/{draft['id']}/submit", stack.headers(OWNER))
        assert status == 200, case
        return case


def test_the_second_item_needs_no_upload_for_the_premises_proof_after_consent(api, stack, first_case):
    status, draft = call(api, "POST", "/v1/applications", stack.headers(OWNER),
                         {"item_code": "YQ-AMR-0002", "answers": {"shareholders": 1, "foreign_investor": False}})
    assert status == 201
    app_id = draft["id"]
    status, body = call(api, "GET", f"/v1/applications/{app_id}/offers", stack.headers(OWNER))
    assert status == 200
    offer = next(o for o in body["offers"] if o["source"] == "vault" and o["from_application"] == first_case["id"])
    assert offer["material"] == "premises-proof" and offer["sha256"] == hashlib.sha256(PREMISES).hexdigest()
    preview = requests.get(offer["preview_url"], timeout=10)  # the applicant sees what would be reused
    assert preview.status_code == 200 and preview.content == PREMISES

    reuse = {"source": "vault", "sha256": offer["sha256"]}
    status, refused = call(api, "POST", f"/v1/applications/{app_id}/materials/premises-proof/reuse",
                           stack.headers(OWNER), {**reuse, "consent": False})
    assert status == 422 and refused["code"] == "consent_required"
    status, unchanged = call(api, "GET", f"/v1/applications/{app_id}", stack.headers(OWNER))
    assert next(m for m in unchanged["materials"] if m["code"] == "premises-proof")["status"] == "missing"
    assert log_for(api, stack, app_id) == []

    status, reused = call(api, "POST", f"/v1/applications/{app_id}/materials/premises-proof/reuse",
                          stack.headers(OWNER), {**reuse, "consent": True})
    assert status == 200, reused
    slot = next(m for m in reused["application"]["materials"] if m["code"] == "premises-proof")
    assert (slot["status"], slot["sha256"], slot["reused_from"]) == ("verified", offer["sha256"], first_case["id"])
    assert reused["consent_receipt"]["action"] == "vault_reuse" and reused["consent_receipt"]["consent"]["given_by"]

    for material in ("application-form", "articles", "shareholder-id", "officers-appointment"):
        verify_upload(api, stack, app_id, material)
    status, case = call(api, "POST", f"/v1/applications/{app_id}/submit", stack.headers(OWNER))
    assert status == 200 and case["case"], case
    uploaded = {m["code"] for m in case["materials"] if m["upload_id"]}
    assert "premises-proof" not in uploaded  # obtained, never uploaded

    for department, username in (("yq-amr", "dept-yq-amr"), ("yq-tax", "dept-yq-tax")):
        task_id = next(t["task_id"] for t in case["tasks"] if t["department"] == department)
        status, detail = call(api, "GET", f"/v1/tasks/{task_id}", stack.headers(username))
        assert status == 200
        premises = next(m for m in detail["materials"] if m["code"] == "premises-proof")
        assert premises["source"] == "vault" and premises["reused_from"] == first_case["id"]
        assert requests.get(premises["download_url"], timeout=10).content == PREMISES
    log = log_for(api, stack, app_id)
    reads = [r for r in log if r["action"] == "department_read"]
    assert sorted(r["actor"]["binding"] for r in reads) == ["yq-amr", "yq-tax"]
    assert all(r["case_number"] == case["case"]["case_number"] for r in reads)
    assert {m["code"] for m in reads[0]["materials"]} == {"application-form", "articles", "shareholder-id",
                                                          "officers-appointment", "premises-proof"}
    assert [r["action"] for r in log][-1] == "vault_reuse"  # newest first: the reads came after the consent


def test_a_departments_e_certificate_fills_a_material_with_consent(api, stack):
    number = f"92330382MA{hashlib.sha256(stack.outputs['TableName'].encode()).hexdigest()[:8].upper()}"
    body = {"type": "营业执照", "number": number, "holder_id_number": OWNER_ID_NUMBER,
            "document_sha256": hashlib.sha256(b"licence").hexdigest(), "valid_until": "2030-12-31"}
    status, other = call(api, "POST", "/v1/certificates", stack.headers("dept-yq-amr"), {**body, "issuer": "yq-tax"})
    assert status == 403 and other["code"] == "certificate_issuer_not_own"
    status, cert = call(api, "POST", "/v1/certificates", stack.headers("dept-yq-amr"), body)
    assert status == 201, cert
    assert cert["issuer"] == "yq-amr" and OWNER_ID_NUMBER not in str(cert) and number not in str(cert)
    status, mine = call(api, "GET", "/v1/me/certificates", stack.headers(OWNER))
    assert status == 200 and cert["id"] in {c["id"] for c in mine["items"]}

    status, draft = call(api, "POST", "/v1/applications", stack.headers(OWNER),
                         {"item_code": "YQ-AMR-0004", "answers": {"business_type": "retail"}})
    assert status == 201
    status, offers = call(api, "GET", f"/v1/applications/{draft['id']}/offers", stack.headers(OWNER))
    offer = next(o for o in offers["offers"] if o.get("certificate_id") == cert["id"])
    assert offer["material"] == "business-licence" and offer["source"] == "e_certificate"
    status, used = call(api, "POST", f"/v1/applications/{draft['id']}/materials/business-licence/reuse",
                        stack.headers(OWNER), {"source": "e_certificate", "certificate_id": cert["id"], "consent": True})
    assert status == 200, used
    slot = next(m for m in used["application"]["materials"] if m["code"] == "business-licence")
    assert (slot["status"], slot["certificate_id"]) == ("verified", cert["id"])
    [receipt] = log_for(api, stack, draft["id"])
    assert receipt["action"] == "certificate_use" and receipt["materials"][0]["certificate_id"] == cert["id"]
    # Only its issuer (and admins) read the registration.
    status, _ = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers("dept-yq-tax"))
    assert status == 404


def test_the_access_log_is_the_callers_own_and_paginated(api, stack, first_case):
    task_id = first_case["tasks"][0]["task_id"]
    for _ in range(2):  # two reads, two records
        assert call(api, "GET", f"/v1/tasks/{task_id}", stack.headers("dept-yq-amr"))[0] == 200
    status, page = call(api, "GET", "/v1/me/access-log?limit=1", stack.headers("citizen-unverified"))
    assert status == 200 and page["items"] == []
    status, page = call(api, "GET", "/v1/me/access-log?limit=1", stack.headers(OWNER))
    assert status == 200 and len(page["items"]) == 1 and page["next_cursor"]
    status, refused = call(api, "GET", f"/v1/me/access-log?limit=1&cursor={page['next_cursor']}",
                           stack.headers("citizen-unverified"))
    assert status == 422 and refused["problems"][0]["code"] == "cursor_invalid"
    status, _ = call(api, "GET", "/v1/me/access-log", stack.headers("dept-yq-amr"))
    assert status == 403
