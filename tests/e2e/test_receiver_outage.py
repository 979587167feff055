"""A department endpoint that is down for two attempts still gets its task, once.

The yq-amr receiver answers 503 to its first two requests; the deliverer retries the same signed
message (same webhook-id) by the local backoff (1 s, 2 s), the third attempt verifies and is
answered 204, and the department decides exactly once.
"""

from __future__ import annotations

import pytest

from .conftest import wait_for


@pytest.mark.e2e
def test_fail_twice_then_succeed_one_webhook_id_one_decision(e2e, departments):
    receivers, desks = departments.open("yq-amr", fail_first={"yq-amr": 2})
    receiver, desk = receivers["yq-amr"], desks["yq-amr"]
    app = e2e.complete_amr_application()
    case = e2e.ok("POST", f"/v1/applications/{app['id']}/submit")
    task_id = case["tasks"][0]["task_id"]

    final = e2e.wait_decided(app["id"])
    wait_for(lambda: any(h["event_type"] == "onetrip.case.decided" for h in receiver.received),
             what="onetrip.case.decided at yq-amr")
    assert receiver.wait_idle(5)

    hits = receiver.received
    wid = hits[0]["webhook_id"]
    task_hits = [h for h in hits if h["webhook_id"] == wid]
    assert [h["status"] for h in task_hits] == [503, 503, 204], hits
    assert [h["signature_ok"] for h in task_hits] == [False, False, True]  # 503s answer before verifying
    assert task_hits[2]["event_type"] == "onetrip.task.assigned" and not task_hits[2]["duplicate"]
    assert task_hits[0]["time"] < task_hits[1]["time"] < task_hits[2]["time"]
    assert task_hits[1]["time"] - task_hits[0]["time"] >= 0.5  # backed off, not hammered
    # Nothing else under that id, and the only other webhook is the case decision.
    assert [h["event_type"] for h in hits if h["webhook_id"] != wid] == ["onetrip.case.decided"]

    record = e2e.delivery_record(wid)
    assert (record["status"], record["attempt"], record["event_type"]) == ("delivered", 3, "onetrip.task.assigned")

    decisions = [a for a in desk.actions if "decision" in a["step"]]
    assert [(a["step"], a["status"]) for a in decisions] == [
        (f"POST /v1/tasks/{task_id}/decision approved", 200)]
    assert final["outcome"] == "approved"
    assert [(t["department"], t["outcome"]) for t in final["tasks"]] == [("yq-amr", "approved")]
