"""Enterprises and their agents through the API: registration by credit code (stored like an ID
number), authorization by an admin or the legal representative, and applications on the
enterprise's behalf that record both the agent and the enterprise."""

from __future__ import annotations

import secrets

from chalicelib.domain.identity import credit_code_check_character

from .conftest import accept_case, call

USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def fresh_credit_code() -> str:
    body = "91330382" + "".join(secrets.choice(USCC) for _ in range(9))
    return body + credit_code_check_character(body)


def _register(api, stack, code=None, rep="11010519491231002X"):
    body = {"credit_code": code or fresh_credit_code(), "name_zh": "乐清市示例五金有限公司"}
    if rep:
        body["legal_representative_id_number"] = rep
    return call(api, "POST", "/v1/enterprises", stack.headers("admin"), body)


def test_registration_validates_masks_and_refuses_duplicates(api, stack):
    code = fresh_credit_code()
    status, enterprise = _register(api, stack, code)
    assert status == 201 and enterprise["id"].startswith("ent_")
    assert enterprise["credit_code_masked"] == code[:8] + "******" + code[-4:]
    assert code not in str(enterprise)
    assert _register(api, stack, code)[1]["code"] == "enterprise_exists"
    status, body = _register(api, stack, code[:-1] + ("0" if code[-1] != "0" else "1"), rep="110105194912310021")
    assert status == 422
    assert {p["code"] for p in body["problems"]} == {"credit_code_invalid", "id_number_invalid"}
    assert call(api, "POST", "/v1/enterprises", stack.headers("citizen-verified"),
                {"credit_code": code, "name_zh": "x"})[0] == 403


def test_the_legal_representative_authorizes_an_agent_who_then_applies_for_the_enterprise(api, stack):
    _, enterprise = _register(api, stack)  # legal representative: 张三 (citizen-verified)
    agent_sub = stack.users["agent"]["sub"]
    grant = {"agent_sub": agent_sub, "items": ["YQ-AMR-0001"], "valid_until": "2027-12-31"}
    # Someone who is not the representative does not even see the enterprise.
    status, _ = call(api, "POST", f"/v1/enterprises/{enterprise['id']}/agents", stack.headers("citizen-unverified"),
                     grant)
    assert status == 404
    status, granted = call(api, "POST", f"/v1/enterprises/{enterprise['id']}/agents",
                           stack.headers("citizen-verified"), grant)
    assert status == 201 and granted["items"] == ["YQ-AMR-0001"]
    status, mine = call(api, "GET", "/v1/me/enterprises", stack.headers("agent"))
    assert enterprise["id"] in {row["enterprise"]["id"] for row in mine["items"]}

    agent = stack.headers("agent")
    status, body = call(api, "POST", "/v1/applications", agent, {"item_code": "YQ-AMR-0001"})
    assert (status, body["problems"][0]["code"]) == (422, "enterprise_required")
    status, body = call(api, "POST", "/v1/applications", agent,
                        {"item_code": "YQ-RE-0010", "enterprise_id": enterprise["id"]})
    assert (status, body["code"]) == (403, "agent_not_authorized")
    status, body = call(api, "POST", "/v1/applications", stack.headers("citizen-verified"),
                        {"item_code": "YQ-AMR-0001", "enterprise_id": enterprise["id"]})
    assert (status, body["code"]) == (403, "enterprise_not_allowed")
    status, draft = call(api, "POST", "/v1/applications", agent,
                         {"item_code": "YQ-AMR-0001", "enterprise_id": enterprise["id"]})
    assert status == 201 and draft["enterprise"]["id"] == enterprise["id"]


def test_a_case_filed_by_an_agent_records_the_agent_and_the_enterprise(api, stack):
    _, enterprise = _register(api, stack, rep=None)
    status, _ = call(api, "POST", f"/v1/enterprises/{enterprise['id']}/agents", stack.headers("admin"),
                     {"agent_sub": stack.users["agent"]["sub"], "items": ["*"], "valid_until": "2027-12-31"})
    assert status == 201
    case = accept_case(api, stack, "agent", enterprise_id=enterprise["id"])
    applicant = case["case"]["applicant"]
    assert applicant["kind"] == "enterprise_agent" and applicant["id_number_masked"] == "440524********0014"
    assert applicant["enterprise_id"] == enterprise["id"]
    assert applicant["enterprise_credit_code_masked"] == enterprise["credit_code_masked"]
