"""End to end over real HTTP on the local stack: a joint item (不动产 + 税务) with one supplement round
(补正), the real estate centre's licence attached to its decision, the result downloaded through a
presigned GET, a dissatisfied rating and the rectification it opens — from the first request to the
closed case. Prints the timeline (run with -s to see it)."""

from __future__ import annotations

import time

import requests

from infra.onetrip import samples

from .conftest import CITIZEN, PDF, PNG, wait_for

ITEM = "YQ-RE-0010"
UPLOADS = (("sale-contract", PDF, "application/pdf"), ("property-certificate", PNG, "image/png"),
           ("tax-declaration", PDF, "application/pdf"))
ASK = [{"material": "sale-contract", "code": "contract_unsigned", "message_zh": "买卖合同缺少买方签字",
        "message_en": "The sale contract lacks the buyer's signature"}]
LICENCE = samples.pdf("Real estate title certificate No. 0001")
SIGNED_CONTRACT = samples.pdf("Sale contract, signed by both parties")


def test_a_joint_case_with_a_supplement_round_a_result_and_a_rating(e2e, departments):
    started = time.monotonic()
    timeline: list[tuple[float, str, str]] = []

    def note(who: str, what: str) -> None:
        timeline.append((time.monotonic() - started, who, what))

    departments.open("yq-tax")
    _, desks = departments.open("yq-realestate")
    desks["yq-realestate"].supplement = ASK
    desks["yq-realestate"].result_pdf = LICENCE

    app = e2e.ok("POST", "/v1/applications", 201, json={
        "item_code": ITEM, "answers": {"marital_status": "single", "buyer_first_home": True}})
    note("citizen", f"draft {app['id']}")
    for material, data, ctype in UPLOADS:
        e2e.upload(app["id"], material, data, ctype)
        note("bus", f"{material} verified")
    case = e2e.ok("POST", f"/v1/applications/{app['id']}/submit")
    assert case["status"] == "accepted" and len(case["tasks"]) == 2
    note("citizen", f"submitted: accepted as {case['case']['case_number']}, deadline {case['case']['deadline']}")

    asked = wait_for(lambda: (a := e2e.application(app["id"]))["status"] == "supplement_requested" and a,
                     what="the supplement request")
    (request,) = asked["case"]["supplements"]
    assert [i["material"] for i in request["items"]] == ["sale-contract"]
    assert request["items"][0]["legal_basis"]  # the catalogue's legal basis travels with the request
    note("dept yq-realestate", "supplement requested (补正): sale-contract, clock paused")

    # Only what was asked for may change; the other materials stay sealed.
    refused = e2e.call("POST", f"/v1/applications/{app['id']}/materials/tax-declaration/uploads",
                       json={"content_type": "application/pdf"})
    assert refused.status_code == 409 and refused.json()["code"] == "not_requested_in_supplement"
    e2e.upload(app["id"], "sale-contract", SIGNED_CONTRACT, "application/pdf")
    resumed = e2e.ok("POST", f"/v1/applications/{app['id']}/resubmit")
    assert resumed["status"] == "resubmitted" and resumed["trips"]["supplement_rounds"] == 1
    note("citizen", f"resubmitted; deadline now {resumed['case']['deadline']}")

    decided = e2e.wait_decided(app["id"])
    assert decided["outcome"] == "approved"
    note("bus", "both departments decided: approved")

    taken = e2e.ok("POST", f"/v1/applications/{app['id']}/result", json={"method": "download"})
    (document,) = taken["documents"]
    assert document["department"] == "yq-realestate"
    downloaded = requests.get(document["download_url"], timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == LICENCE
    note("citizen", f"result issued by download ({document['name_zh']}, {len(downloaded.content)} bytes)")

    rated = e2e.ok("POST", f"/v1/applications/{app['id']}/rating", 201, json={"level": 2, "comment": "补正了一次"})
    assert rated["status"] == "closed"
    rectification_id = rated["case"]["rating"]["rectification_task_id"]
    note("citizen", "rated 2 (不满意): rectification opened for yq-realestate; case closed")

    def rectified():
        found = next(t for t in e2e.application(app["id"])["tasks"] if t["task_id"] == rectification_id)
        return found["status"] == "decided" and found

    wait_for(rectified, what="the rectification to be closed")
    note("dept yq-realestate", "rectification closed")

    steps = [a["step"] for a in desks["yq-realestate"].actions]
    assert any("supplement-request" in s for s in steps) and any("rectification" in s for s in steps)
    print("\n  t (s)  who                 what")
    for at, who, what in timeline:
        print(f"  {at:5.1f}  {who:<19} {what}")


def test_a_withdrawn_case_tells_its_departments_and_refuses_decisions(e2e, departments):
    receivers, _ = departments.open("yq-amr")
    receivers["yq-amr"].decide = None  # this department does not act: the applicant withdraws first
    app = e2e.complete_amr_application()
    case = e2e.ok("POST", f"/v1/applications/{app['id']}/submit")
    withdrawn = e2e.ok("POST", f"/v1/applications/{app['id']}/withdraw")
    assert withdrawn["status"] == "withdrawn"
    task_id = case["tasks"][0]["task_id"]
    late = e2e.call("POST", f"/v1/tasks/{task_id}/decision", "dept-yq-amr", json={"outcome": "approved"})
    assert late.status_code == 409 and late.json()["detail"]["current_state"] == "withdrawn"
    wait_for(lambda: any(h["event_type"] == "onetrip.case.withdrawn" for h in receivers["yq-amr"].received),
             what="the withdrawal webhook")
    again = e2e.call("POST", f"/v1/applications/{app['id']}/rating", CITIZEN, json={"level": 5})
    assert again.status_code == 409 and again.json()["detail"]["current_state"] == "withdrawn"
