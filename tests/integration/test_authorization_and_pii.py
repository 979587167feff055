"""Object-level authorization generated from the route table (a new route cannot escape it), and no
full ID number anywhere: logs, responses, S3 keys, DynamoDB keys or readable attributes."""

from __future__ import annotations

import re

import pytest

import app as _app  # noqa: F401  (importing the app registers every route in ROUTES)
from chalicelib.domain.ids import new_id
from chalicelib.domain.principals import PrincipalKind
from chalicelib.entrypoints.http import ROUTES

from .conftest import accept_case, call

OWNER = "citizen-verified"
FULL_IDS = ("11010519491231002X", "440524188001010014")
USER_KIND = {"citizen-verified": PrincipalKind.CITIZEN, "citizen-unverified": PrincipalKind.CITIZEN,
             "agent": PrincipalKind.ENTERPRISE_AGENT, "dept-yq-tax": PrincipalKind.DEPARTMENT,
             "dept-yq-amr": PrincipalKind.DEPARTMENT, "admin": PrincipalKind.ADMIN}


@pytest.fixture(scope="module")
def accepted(stack):
    """An accepted single-department case owned by OWNER, with its yq-amr task."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as api:
        return accept_case(api, stack, OWNER)


def _fill(path: str, case: dict, missing: bool) -> str:
    values = {"application_id": new_id("app_") if missing else case["id"], "material_code": "application-form",
              "task_id": new_id("tsk_") if missing else case["tasks"][0]["task_id"], "code": "YQ-AMR-0001"}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


ID_ROUTES = [r for r in ROUTES if "{" in r.path and r.kinds is not None]


def test_the_route_table_has_routes_with_ids():
    assert {r.path for r in ID_ROUTES} >= {"/v1/applications/{application_id}", "/v1/tasks/{task_id}"}


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("user", ["citizen-unverified", "agent", "dept-yq-tax", "admin"])
def test_other_principals_never_reach_an_object(api, stack, accepted, route, user):
    body = {"content_type": "application/pdf"} if "uploads" in route.path else (
        {"outcome": "approved"} if "decision" in route.path else None)
    status, answer = call(api, route.method, _fill(route.path, accepted, False), stack.headers(user), body)
    expected = 404 if USER_KIND[user] in route.kinds else 403
    assert status == expected, (route.path, user, answer)


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_missing_id_is_not_found_even_for_the_right_kind(api, stack, accepted, route):
    user = OWNER if PrincipalKind.CITIZEN in route.kinds else "dept-yq-amr"
    body = {"content_type": "application/pdf"} if "uploads" in route.path else (
        {"outcome": "approved"} if "decision" in route.path else None)
    status, _ = call(api, route.method, _fill(route.path, accepted, True), stack.headers(user), body)
    assert status == 404


def test_no_full_id_number_in_logs_responses_keys_or_attributes(api, stack, accepted, capsys, caplog):
    responses = [call(api, "GET", f"/v1/applications/{accepted['id']}", stack.headers(OWNER))[1],
                 call(api, "GET", f"/v1/tasks/{accepted['tasks'][0]['task_id']}", stack.headers("dept-yq-amr"))[1],
                 call(api, "GET", "/v1/applications", stack.headers("agent"))[1], accepted]
    assert accepted["case"]["applicant"]["id_number_masked"] == "110105********002X"
    captured = capsys.readouterr()
    texts = [str(responses), captured.out, captured.err, caplog.text]
    # Admin-style full read of the table (a test may Scan; request paths never do).
    items = stack.aws("dynamodb").scan(TableName=stack.outputs["TableName"])["Items"]
    texts += [str(items)]
    keys = [o["Key"] for o in stack.aws("s3").list_objects_v2(Bucket=stack.outputs["BucketName"]).get("Contents", [])]
    texts += keys
    for full in FULL_IDS:
        assert not any(full in t for t in texts), full
    identity = [i for i in items if i["sk"]["S"] == "IDENTITY"]
    assert identity and all("id_number_ciphertext" in i["doc"]["S"] for i in identity)
