"""Races against the real (moto) table, with threads: two decisions on one task, two submissions of one
application, every department of a joint case deciding at once. Exactly one wins where one must;
nothing is lost or done twice. (Each request is atomic, as in DynamoDB: see tests/serial_client.py.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from chalicelib.domain.applications import Outcome, Reason
from chalicelib.domain.errors import Conflict
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.services import cases

from .conftest import PDF, PNG, accept_case, call, verify_upload

THREADS = 6


def race(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Start every call at the same moment; the results and the errors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            value = fn()
            with lock:
                results.append(value)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


@pytest.fixture
def deps(stack):
    """The real services on the moto table, each request atomic as in DynamoDB (tests/serial_client.py)."""
    from dataclasses import replace

    from chalicelib.adapters.dynamodb import DynamoStore
    from infra.onetrip.moto_stack import client
    from tests.serial_client import OneRequestAtATime

    built = build_deps(Settings.from_environ())
    table = OneRequestAtATime(client("dynamodb", stack.outputs["EndpointUrl"]))
    return replace(built, store=DynamoStore(table, stack.outputs["TableName"]))


def officer(stack, department: str) -> Principal:
    return Principal(sub=stack.users[f"dept-{department}"]["sub"], kind=PrincipalKind.DEPARTMENT,
                     department=department)


def owner(stack) -> Principal:
    return Principal(sub=stack.users["citizen-verified"]["sub"], kind=PrincipalKind.CITIZEN)


def outbox_types(stack, app_id: str) -> list[str]:
    import json

    items = stack.aws("dynamodb").query(
        TableName=stack.outputs["TableName"], KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
        ExpressionAttributeValues={":p": {"S": f"APP#{app_id}"}, ":e": {"S": "EVT#"}}, ConsistentRead=True)["Items"]
    return [json.loads(i["doc"]["S"])["type"] for i in items]


def test_concurrent_decisions_on_one_task_exactly_one_wins(api, stack, deps):
    case = accept_case(api, stack)
    task_id = case["tasks"][0]["task_id"]
    dept = officer(stack, "yq-amr")
    outcomes = [Outcome.APPROVED, Outcome.REJECTED] * (THREADS // 2)
    reject = [Reason(code="race", message_zh="并发测试", message_en="Race test")]
    results, errors = race([
        (lambda o=o: cases.decide_task(deps, dept, task_id, o, reject if o is Outcome.REJECTED else []))
        for o in outcomes])
    assert len(results) == 1, errors
    assert len(errors) == THREADS - 1 and all(isinstance(e, Conflict) for e in errors), errors
    assert {e.code for e in errors} <= {"task_already_decided", "illegal_transition"}
    stored = deps.store.get_application(case["id"])
    assert stored.outcome is results[0][1].outcome
    assert outbox_types(stack, case["id"]).count("onetrip.case.decided") == 1


def test_concurrent_submissions_accept_once(api, stack, deps):
    status, draft = call(api, "POST", "/v1/applications", stack.headers("citizen-verified"),
                         {"item_code": "YQ-AMR-0001"})
    assert status == 201
    for material, data, ctype in (("application-form", PDF, "application/pdf"), ("operator-id", PNG, "image/png"),
                                  ("premises-proof", PDF, "application/pdf")):
        verify_upload(api, stack, draft["id"], material, data, ctype)
    applicant = owner(stack)
    results, errors = race([lambda: cases.submit_application(deps, applicant, draft["id"])] * THREADS)
    assert len(results) == 1, errors
    assert all(isinstance(e, Conflict) and e.code == "application_not_draft" for e in errors), errors
    stored = deps.store.get_application(draft["id"])
    assert len(stored.tasks) == 1
    assert outbox_types(stack, draft["id"]).count("onetrip.case.accepted") == 1
    assert outbox_types(stack, draft["id"]).count("onetrip.task.assigned") == 1


def test_every_department_of_a_joint_case_deciding_at_once_decides_it_once(api, stack, deps):
    status, draft = call(api, "POST", "/v1/applications", stack.headers("citizen-verified"),
                         {"item_code": "YQ-RE-0010", "answers": {"marital_status": "single",
                                                                 "buyer_first_home": False}})
    assert status == 201, draft
    for material, data, ctype in (("sale-contract", PDF, "application/pdf"), ("property-certificate", PNG,
                                                                               "image/png"),
                                  ("tax-declaration", PDF, "application/pdf")):
        verify_upload(api, stack, draft["id"], material, data, ctype)
    case = cases.submit_application(deps, owner(stack), draft["id"])
    by_department = {ref.department: ref.task_id for ref in case.tasks}
    results, errors = race([
        (lambda d=d, t=t: cases.decide_task(deps, officer(stack, d), t, Outcome.APPROVED, []))
        for d, t in by_department.items()])
    assert errors == [] and len(results) == 2
    stored = deps.store.get_application(draft["id"])
    assert stored.status.value == "decided" and stored.outcome is Outcome.APPROVED
    assert outbox_types(stack, draft["id"]).count("onetrip.case.decided") == 1
