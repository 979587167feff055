"""Mass assignment (OWASP API3): for every route with a body, unknown and server-owned fields are
refused with 422 naming each one — generated from the route table, so a new route cannot escape."""

from __future__ import annotations

import re

import pytest

import app as _app  # noqa: F401  (importing the app registers every route in ROUTES)
from chalicelib.domain.ids import new_id
from chalicelib.domain.principals import PrincipalKind
from chalicelib.entrypoints.http import ROUTES

from .conftest import call

SERVER_OWNED = ("status", "owner", "owner_sub", "verified", "department", "assurance_level", "version", "id")
USER_FOR_KIND = {PrincipalKind.CITIZEN: "citizen-verified", PrincipalKind.ENTERPRISE_AGENT: "agent",
                 PrincipalKind.DEPARTMENT: "dept-yq-amr", PrincipalKind.ADMIN: "admin",
                 PrincipalKind.WINDOW_STAFF: "window-yq-centre", PrincipalKind.TERMINAL: "terminal-yq-kiosk-01"}
BODY_ROUTES = [r for r in ROUTES if r.body is not None]


def test_every_inbound_model_forbids_extra_fields():
    for route in BODY_ROUTES:
        assert route.body.model_config.get("extra") == "forbid", (route.method, route.path)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_server_owned_fields_in_any_body_are_refused(api, stack, route):
    kind = sorted(route.kinds, key=lambda k: k.value)[0] if route.kinds else None
    headers = stack.headers(USER_FOR_KIND[kind]) if kind else {"Content-Type": "application/json"}
    path = re.sub(r"{(\w+)}", lambda m: new_id("x_"), route.path)
    injected = [f for f in SERVER_OWNED if f not in route.body.model_fields]
    status, body = call(api, route.method, path, headers, {f: "x" for f in injected})
    assert status == 422, (route.path, body)
    refused = {p["target"] for p in body["problems"] if p["code"] == "field_not_allowed"}
    assert refused == set(injected)
