"""Object-level authorization generated from the route table (a new route cannot escape it), and no
full ID number anywhere: logs, responses, S3 keys, DynamoDB keys or readable attributes."""

from __future__ import annotations

import re

import pytest

import app as _app  # noqa: F401  (importing the app registers every route in ROUTES)
from chalicelib.adapters.records import doc
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
        case = accept_case(api, stack, OWNER)
        _COUNTER_PASS["application_id"] = case["id"]
        return case


@pytest.fixture(scope="module")
def enterprise(stack):
    """An enterprise whose legal representative is OWNER (张三, the seeded verified citizen)."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as api:
        status, body = call(api, "POST", "/v1/enterprises", stack.headers("admin"),
                            {"credit_code": "91330382MA2AB1C2DG", "name_zh": "乐清市示例电器有限公司",
                             "legal_representative_id_number": "11010519491231002X"})
        assert status == 201, body
    return body


# For every route that takes an id: who owns the object and the body they send. A new route with an
# id that is missing here fails test_every_id_route_has_an_owner: it cannot escape the matrix.
OWNERS = {
    "/v1/applications/{application_id}": OWNER,
    "/v1/applications/{application_id}/materials/{material_code}/uploads": OWNER,
    "/v1/applications/{application_id}/submit": OWNER,
    "/v1/applications/{application_id}/answers": OWNER,
    "/v1/tasks/{task_id}": "dept-yq-amr",
    "/v1/tasks/{task_id}/decision": "dept-yq-amr",
    "/v1/enterprises/{enterprise_id}/agents": OWNER,  # the legal representative
    "/v1/tasks/{task_id}/claim": "dept-yq-amr",
    "/v1/tasks/{task_id}/comments": "dept-yq-amr",
    "/v1/departments/{department}": "dept-yq-amr",
    "/v1/departments/{department}/endpoints/{endpoint_id}/verification": "admin",
    "/v1/departments/{department}/endpoints/{endpoint_id}/rotation": "admin",
    "/v1/departments/{department}/endpoints/{endpoint_id}/disable": "admin",
    "/v1/deliveries/{webhook_id}": "dept-yq-amr",
    "/v1/deliveries/{webhook_id}/replay": "dept-yq-amr",
    "/v1/admin/cases/{application_id}/audit": "admin",  # supervising admins read any case's trail
    "/v1/applications/{application_id}/events": OWNER,
    "/v1/applications/{application_id}/offers": OWNER,
    "/v1/applications/{application_id}/materials/{material_code}/reuse": OWNER,
    "/v1/certificates/{certificate_id}": "dept-yq-amr",  # the issuer
    "/v1/certificates/{certificate_id}/revocation": "dept-yq-amr",  # the issuer (once; then 409)
    "/v1/applications/{application_id}/counter-pass": OWNER,
    "/v1/applications/{application_id}/resubmit": OWNER,
    "/v1/applications/{application_id}/withdraw": OWNER,
    "/v1/applications/{application_id}/result": OWNER,
    "/v1/applications/{application_id}/close": OWNER,
    "/v1/applications/{application_id}/rating": OWNER,
    "/v1/tasks/{task_id}/supplement-request": "dept-yq-amr",
    "/v1/tasks/{task_id}/result-uploads": "dept-yq-amr",
    "/v1/tasks/{task_id}/rectification": "dept-yq-amr",
    # The counter reaches an application only with the pass its applicant shows (_COUNTER_PASS).
    "/v1/counter/applications/{application_id}/accept": "window-yq-centre",
    "/v1/counter/applications/{application_id}/refuse": "window-yq-centre",
    "/v1/counter/applications/{application_id}/visits": "window-yq-centre",
}
# A terminal shown the pass records a visit as the window does.
COUNTER_SHARED = {("/v1/counter/applications/{application_id}/visits", "terminal-yq-kiosk-01")}
_COUNTER_PASS: dict[str, str] = {}
# Admins read and replay any department's deliveries and read any department: not a leak.
ADMIN_READS = {"/v1/departments/{department}", "/v1/deliveries/{webhook_id}", "/v1/deliveries/{webhook_id}/replay"}
ADMIN_READS |= {"/v1/certificates/{certificate_id}", "/v1/certificates/{certificate_id}/revocation"}
OTHERS = ["citizen-unverified", "agent", "dept-yq-tax", "window-yq-centre", "terminal-yq-kiosk-01", "admin"]
USER_KIND.update({"window-yq-centre": PrincipalKind.WINDOW_STAFF, "terminal-yq-kiosk-01": PrincipalKind.TERMINAL})


def _body(path: str, stack) -> dict | None:
    if "uploads" in path:
        return {"content_type": "application/pdf"}
    if "decision" in path:
        return {"outcome": "approved"}
    if "agents" in path:
        return {"agent_sub": stack.users["agent"]["sub"], "items": ["YQ-AMR-0001"], "valid_until": "2027-06-30"}
    if path.endswith("/comments"):
        return {"text": "核对中"}
    if path.endswith("/answers"):
        return {"answers": {}}
    if path.endswith("/reuse"):
        return {"source": "vault", "sha256": "0" * 64, "consent": True}
    if path.startswith("/v1/counter/"):
        extra = {"reason": "originals_check"} if path.endswith("/visits") else {}
        if path.endswith("/refuse"):
            extra = {"reasons": [{"code": "out_of_scope", "message_zh": "不属于受理范围", "message_en": "Out of scope"}]}
        return {"pass_code": _fresh_counter_pass(stack), **extra}
    if path.endswith("/supplement-request"):
        return {"items": [{"material": "application-form", "code": "form_unsigned", "message_zh": "申请书未签字",
                           "message_en": "The form is not signed"}]}
    if path.endswith("/rectification"):
        return {"note": "已整改"}
    if path.endswith("/rating"):
        return {"level": 5}
    if path.endswith("/result"):
        return {"method": "download"}
    if path.endswith("/revocation"):
        return {"reason": "注销"}
    return None


def _fresh_counter_pass(stack) -> str:
    """A pass the applicant just issued (each new pass replaces the last, and a test issues them too)."""
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.domain.principals import Principal
    from chalicelib.services.cases import counter_pass

    owner = Principal(sub=stack.users[OWNER]["sub"], kind=PrincipalKind.CITIZEN)
    return counter_pass(build_deps(Settings.from_environ()), owner, _COUNTER_PASS["application_id"])[0]


def _fill(path: str, case: dict, enterprise: dict, missing: bool) -> str:
    values = {"application_id": new_id("app_") if missing else case["id"], "material_code": "application-form",
              "task_id": new_id("tsk_") if missing else case["tasks"][0]["task_id"], "code": "YQ-AMR-0001",
              "enterprise_id": new_id("ent_") if missing else enterprise["id"],
              "department": "dept-missing" if missing else "yq-amr",
              "endpoint_id": new_id("ep_") if missing else _DELIVERY_OBJECTS["endpoint_id"],
              "webhook_id": "msg_missing" if missing else _DELIVERY_OBJECTS["webhook_id"],
              "certificate_id": new_id("crt_") if missing else _DELIVERY_OBJECTS["certificate_id"]}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


ID_ROUTES = [r for r in ROUTES if "{" in r.path and r.kinds is not None]
_DELIVERY_OBJECTS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def delivery_objects(stack):
    """An endpoint of yq-amr and one delivery to it (the objects of the registry and delivery routes)."""
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.domain.deliveries import Delivery, DeliveryStatus
    from chalicelib.services.departments import add_endpoint

    d = build_deps(Settings.from_environ())
    endpoint, _ = add_endpoint(d, "yq-amr", "https://yq-amr.invalid/hooks", ("onetrip.task.assigned",))
    wid = f"msg_{new_id()}_{endpoint.id.removeprefix('ep_')}"
    d.store.save_delivery(Delivery(webhook_id=wid, department="yq-amr", endpoint_id=endpoint.id,
                                   event_type="onetrip.task.assigned", status=DeliveryStatus.DEAD, attempt=10,
                                   created_at="2026-11-27T01:00:00.000+00:00",
                                   updated_at="2026-11-27T01:00:00.000+00:00", payload='{"id":"evt_x"}'), None)
    _DELIVERY_OBJECTS.update(endpoint_id=endpoint.id, webhook_id=wid)
    _DELIVERY_OBJECTS["certificate_id"] = _a_certificate_of_yq_amr(d)
    yield _DELIVERY_OBJECTS
    # Other tests of this session count yq-amr's endpoints: take this one away again.
    from chalicelib.domain.departments import EndpointState

    d.store.put_endpoint(endpoint.model_copy(update={"state": EndpointState.DISABLED}))


def _a_certificate_of_yq_amr(d) -> str:
    from chalicelib.domain.principals import Principal, PrincipalKind
    from chalicelib.services.certificates import register_certificate

    issuer = Principal(sub="officer-yq-amr", kind=PrincipalKind.DEPARTMENT, department="yq-amr")
    return register_certificate(d, issuer, type_="营业执照", number=f"AUTHZ-{new_id()}", document_sha256="0" * 64,
                                holder_credit_code="91350100M000100Y43").id


def test_every_id_route_has_an_owner():
    assert {r.path for r in ID_ROUTES} == set(OWNERS)


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_owner_reaches_the_object(api, stack, accepted, enterprise, route):
    status, answer = call(api, route.method, _fill(route.path, accepted, enterprise, False),
                          stack.headers(OWNERS[route.path]), _body(route.path, stack))
    # 409: the object is there but its state forbids the change (e.g. submitting an accepted case).
    assert status in (200, 201, 202, 409), (route.path, answer)


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("user", OTHERS)
def test_other_principals_never_reach_an_object(api, stack, accepted, enterprise, route, user):
    status, answer = call(api, route.method, _fill(route.path, accepted, enterprise, False), stack.headers(user),
                          _body(route.path, stack))
    if route.path.endswith("/agents") and user == "admin":
        assert status == 201  # admins may authorize agents for any enterprise
        return
    if user == OWNERS[route.path] or (user == "admin" and route.path in ADMIN_READS) or (
            (route.path, user) in COUNTER_SHARED):
        assert status in (200, 201, 202, 409), (route.path, user, answer)
        return
    expected = 404 if USER_KIND[user] in route.kinds else 403
    assert status == expected, (route.path, user, answer)


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_missing_id_is_not_found_even_for_the_owner(api, stack, accepted, enterprise, route):
    status, _ = call(api, route.method, _fill(route.path, accepted, enterprise, True),
                     stack.headers(OWNERS[route.path]), _body(route.path, stack))
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
    texts += [str(doc(i)) for i in items if "docz" in i]  # compressed documents are read as stored, too
    keys = [o["Key"] for o in stack.aws("s3").list_objects_v2(Bucket=stack.outputs["BucketName"]).get("Contents", [])]
    texts += keys
    for full in FULL_IDS:
        assert not any(full in t for t in texts), full
    identity = [i for i in items if i["sk"]["S"] == "IDENTITY"]
    assert identity and all("id_number_ciphertext" in i["doc"]["S"] for i in identity)
