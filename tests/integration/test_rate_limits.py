"""Per-principal rate limits through the real route helper, authorizer and DynamoDB table (moto):
429 `rate_limited` with Retry-After, a much lower limit on identity verification, and what it costs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from chalice.test import Client

from chalicelib import bootstrap

from .conftest import _reset_app_caches, new_user

LIMITS = "citizen=3/60,department=4/60,identity=2/3600"
NOBODY = {"name": "赵六", "id_number": "11010519491231002X"}  # valid, but not in the reference registry


@contextmanager
def _with_limits(spec: str) -> Iterator[Client]:
    from app import app

    saved = os.environ.get("ONETRIP_RATE_LIMITS")
    os.environ["ONETRIP_RATE_LIMITS"] = spec
    _reset_app_caches()
    try:
        with Client(app, stage_name="local") as client:
            yield client
    finally:
        if saved is None:
            os.environ.pop("ONETRIP_RATE_LIMITS", None)
        else:
            os.environ["ONETRIP_RATE_LIMITS"] = saved
        _reset_app_caches()


@pytest.fixture
def limited(stack) -> Iterator[Client]:
    with _with_limits(LIMITS) as client:
        yield client


def _get(client: Client, path: str, headers: dict[str, str]):
    resp = client.http.get(path, headers=headers)
    return resp.status_code, resp.headers, json.loads(resp.body) if resp.body else None


def test_a_citizen_over_its_limit_gets_429_with_retry_after_and_others_are_unaffected(limited, stack):
    alice, bob = new_user(stack, ["citizens"]), new_user(stack, ["citizens"])
    assert [_get(limited, "/v1/me", alice["headers"])[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = _get(limited, "/v1/me", alice["headers"])
    assert status == 429
    assert body["code"] == "rate_limited" and body["message_zh"] and body["message_en"]
    assert body["detail"]["limit"] == 3 and body["detail"]["window_seconds"] == 60
    assert 1 <= int(headers["Retry-After"]) <= 60 == body["detail"]["window_seconds"]
    assert int(headers["Retry-After"]) == body["detail"]["retry_after"]
    assert _get(limited, "/v1/me", bob["headers"])[0] == 200          # per subject, not per kind
    assert _get(limited, "/v1/items", alice["headers"])[0] == 200     # public routes: the stage throttle only


def test_a_department_machine_user_has_its_own_higher_limit(limited, stack):
    statuses = [_get(limited, "/v1/tasks", stack.headers("dept-yq-tax"))[0] for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_identity_verification_allows_only_a_few_tries_whatever_the_answer(limited, stack):
    carol = new_user(stack, ["citizens"])
    tries = []
    for _ in range(3):
        resp = limited.http.post("/v1/me/identity", headers=carol["headers"], body=json.dumps(NOBODY).encode())
        tries.append((resp.status_code, json.loads(resp.body)["code"] if resp.status_code >= 400 else None))
    assert tries[0][0] != 429 and tries[0] == tries[1]          # the registry answered twice: no match
    assert tries[2] == (429, "rate_limited")                    # the third try never reaches the verifier
    assert _get(limited, "/v1/me", carol["headers"])[0] == 200  # other routes count separately


def _dynamodb_operations(client: Client, headers: dict[str, str]) -> list[str]:
    seen: list[str] = []
    db = bootstrap.deps().store._db  # type: ignore[attr-defined]
    handler = lambda model, **_kw: seen.append(model.name)  # noqa: E731
    db.meta.events.register("before-call.dynamodb", handler)
    try:
        assert _get(client, "/v1/me", headers)[0] == 200
    finally:
        db.meta.events.unregister("before-call.dynamodb", handler)
    return seen


def test_the_limiter_costs_one_conditional_write_per_request(stack):
    user = new_user(stack, ["citizens"])
    with _with_limits("off") as client:
        off = _dynamodb_operations(client, user["headers"])
    with _with_limits("citizen=100/60") as client:
        on = _dynamodb_operations(client, user["headers"])
    print("dynamodb calls per GET /v1/me: limits off", off, "on", on)
    assert sorted(on) == sorted([*off, "UpdateItem"])
