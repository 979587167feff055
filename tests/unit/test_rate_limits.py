"""Per-principal rate limits: the policy (domain) and the admission use case on the fake store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.config import Settings
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.domain.rate_limits import (
    DEFAULT_CLASS,
    DEFAULT_LIMITS,
    IDENTITY_CLASS,
    RateLimit,
    RateLimited,
    carried_over,
    parse_limits,
    rate_subject,
    sliding_retry_after,
    window,
)
from chalicelib.entrypoints.errors import status_for
from chalicelib.services import rate_limits
from tests.fakes import fake_deps

CITIZEN = Principal(sub="0b7c-citizen", kind=PrincipalKind.CITIZEN, client_id="mobile", username="alice")
OTHER_CITIZEN = Principal(sub="9f1e-citizen", kind=PrincipalKind.CITIZEN, client_id="mobile", username="bob")
DEPT_USER = Principal(sub="d1-sub", kind=PrincipalKind.DEPARTMENT, department="yq-tax", client_id="machine",
                      username="dept-yq-tax")
DEPT_CLIENT = Principal(sub="5p0client", kind=PrincipalKind.DEPARTMENT, department="yq-tax", client_id="5p0client")


def test_limits_parse_overrides_over_the_defaults_and_off_means_none():
    limits = parse_limits("citizen=3/10, identity=1/3600")
    assert limits["citizen"] == RateLimit(3, 10) and limits["identity"] == RateLimit(1, 3600)
    assert limits["department"] == DEFAULT_LIMITS["department"]
    assert parse_limits("on") == DEFAULT_LIMITS
    assert parse_limits("off") == {} == parse_limits("")


@pytest.mark.parametrize("text", ["citizen=3", "citizen=x/10", "nobody=3/10", "citizen=0/10", "citizen=3/0",
                                  "citizen=3/90000"])
def test_malformed_or_unknown_limits_are_refused_at_startup(text):
    with pytest.raises(ValueError):
        parse_limits(text)


def test_deployed_stages_limit_by_default_and_the_local_stage_does_not():
    deployed = Settings.from_environ({"ONETRIP_STAGE": "prod", "ONETRIP_IDENTITY_VERIFIER": "https"})
    assert deployed.rate_limits == DEFAULT_LIMITS
    assert DEFAULT_LIMITS[IDENTITY_CLASS].limit * 10 <= DEFAULT_LIMITS["citizen"].limit  # much lower
    assert Settings.from_environ({}).rate_limits == {}
    assert Settings.from_environ({"ONETRIP_RATE_LIMITS": "citizen=2/60"}).rate_limits["citizen"] == RateLimit(2, 60)


def test_people_are_counted_by_subject_and_client_credentials_tokens_by_client():
    assert rate_subject(CITIZEN) == "sub:0b7c-citizen"
    assert rate_subject(DEPT_USER) == "sub:d1-sub"  # a machine user of the shared machine app client
    assert rate_subject(DEPT_CLIENT) == "client:5p0client"


def test_windows_are_offset_per_subject_and_cover_now():
    starts = set()
    for subject in ("sub:a", "sub:b", "sub:c", "sub:d"):
        start, end = window(subject, 1_800_000_000, 60)
        assert start <= 1_800_000_000 < end == start + 60
        assert window(subject, end, 60)[0] == end  # the next window starts where this one ends
        starts.add(start)
    assert len(starts) > 1  # not everyone resets at the same second


def test_the_refusal_is_a_429_that_says_when_to_retry_in_both_languages():
    error = RateLimited(IDENTITY_CLASS, RateLimit(5, 3600), 1200)
    assert status_for(error) == 429 and error.retry_after == 1200
    body = error.to_dict()
    assert body["code"] == "rate_limited"
    assert "1200" in body["message_zh"] and "1200" in body["message_en"]
    assert body["detail"] == {"rate_class": "identity", "limit": 5, "window_seconds": 3600, "retry_after": 1200}


def _deps(spec: str):
    return fake_deps(rate_limits=parse_limits(spec))


def test_a_principal_gets_its_limit_per_window_then_a_refusal_until_the_window_ends():
    deps = _deps("citizen=3/60")
    for _ in range(3):
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    with pytest.raises(RateLimited) as refused:
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    now = int(deps.now().timestamp())
    _, end = window("sub:0b7c-citizen", now, 60)
    assert refused.value.retry_after == end - now
    rate_limits.admit(deps, OTHER_CITIZEN, DEFAULT_CLASS)  # someone else's counter is their own
    deps.now.current += timedelta(seconds=refused.value.retry_after)
    rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)  # a new window


def test_the_identity_class_has_its_own_much_lower_counter():
    deps = _deps("citizen=100/60,identity=2/3600")
    rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    with pytest.raises(RateLimited) as refused:
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    assert refused.value.detail["rate_class"] == "identity" and refused.value.retry_after > 60
    rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)  # other routes still work


@pytest.mark.parametrize(("previous", "elapsed", "carried"), [
    (5, 0, 5), (5, 1, 5), (5, 720, 4), (5, 721, 4), (5, 1800, 3), (5, 3599, 1), (5, 3600, 0), (0, 10, 0)])
def test_the_previous_windows_count_is_carried_by_the_part_still_within_a_window(previous, elapsed, carried):
    assert carried_over(previous, elapsed, 3600) == carried


def test_a_refusal_by_a_carried_count_says_when_one_slot_frees_up():
    assert sliding_retry_after(5, 5, 0, 3600, 3600) == 720  # at 720 s, 4 of the 5 still count
    assert carried_over(5, 720, 3600) == 4 and carried_over(5, 719, 3600) == 5
    assert sliding_retry_after(0, 0, 100, 3600, 3500) == 3500  # nothing carried: the window's own end


def _window_start(deps, span: int) -> int:
    return window("sub:0b7c-citizen", int(deps.now().timestamp()), span)[0]


def test_the_identity_class_slides_so_no_window_boundary_admits_a_second_burst():
    deps = _deps("identity=5/3600")
    start = _window_start(deps, 3600)
    deps.now.current += timedelta(seconds=start + 3590 - int(deps.now().timestamp()))  # 10 s before the end
    for _ in range(5):
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    deps.now.current += timedelta(seconds=20)  # 10 s into the next window: a fixed window would admit 5 more
    with pytest.raises(RateLimited) as refused:
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    assert 700 <= refused.value.retry_after <= 720
    deps.now.current += timedelta(seconds=refused.value.retry_after)
    rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)  # one of the five has slid out
    with pytest.raises(RateLimited):
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    # An hour later the one admitted above is still partly carried: the approximation assumes the
    # previous window's requests were spread evenly, and rounds up (it errs towards refusing).
    deps.now.current += timedelta(seconds=3600)
    for _ in range(4):
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    with pytest.raises(RateLimited):
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    deps.now.current += timedelta(seconds=7200)  # after a window with no request, nothing is carried
    for _ in range(5):
        rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)


def test_the_default_class_stays_a_fixed_window_of_one_write():
    deps = _deps("citizen=3/60")
    start = _window_start(deps, 60)
    deps.now.current += timedelta(seconds=start + 55 - int(deps.now().timestamp()))
    for _ in range(3):
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    deps.now.current += timedelta(seconds=10)
    for _ in range(3):  # the price of one write per request: a burst at the boundary
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    assert all(key[1] == DEFAULT_CLASS for key in deps.store._rate_counters())


def test_a_sliding_counter_outlives_the_next_window_it_is_read_in():
    deps = _deps("identity=5/3600")
    rate_limits.admit(deps, CITIZEN, IDENTITY_CLASS)
    [(key, (count, expires_at))] = deps.store._rate_counters().items()
    end = key[2] + 3600
    assert count == 1 and expires_at > end + 3600


def test_each_kind_has_its_own_limit():
    deps = _deps("citizen=1/60,department=3/60")
    rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    with pytest.raises(RateLimited):
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    for _ in range(3):
        rate_limits.admit(deps, DEPT_USER, DEFAULT_CLASS)
    with pytest.raises(RateLimited):
        rate_limits.admit(deps, DEPT_USER, DEFAULT_CLASS)


def test_without_limits_nothing_is_counted():
    deps = _deps("off")
    for _ in range(50):
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    assert deps.store._rate_counters() == {}


def test_a_failing_counter_lets_the_request_through_and_says_so(monkeypatch):
    deps = _deps("citizen=1/60")
    warnings: list[str] = []

    class Log:
        def warning(self, event, **_kw):
            warnings.append(event)

    def broken(*_a, **_k):
        raise ConnectionError("table unreachable")

    monkeypatch.setattr(rate_limits, "logger", Log())
    deps.store.take_rate_slot = broken  # type: ignore[method-assign]
    for _ in range(3):
        rate_limits.admit(deps, CITIZEN, DEFAULT_CLASS)
    assert warnings == ["rate_limit_unavailable"] * 3


def test_a_route_with_an_unknown_rate_class_is_refused_at_import():
    from chalice import Blueprint

    from chalicelib.entrypoints.http import api_route

    with pytest.raises(ValueError, match="rate class"):
        api_route(Blueprint("probe"), "GET", "/v1/probe", summary="probe", kinds=frozenset(PrincipalKind),
                  rate_class="identiy")


def test_every_route_class_in_use_has_a_default_limit():
    import app  # noqa: F401 - registers every route
    from chalicelib.entrypoints.http import ROUTES

    classes = {spec.rate_class for spec in ROUTES if spec.kinds is not None}
    assert IDENTITY_CLASS in classes
    assert all(c == DEFAULT_CLASS or c in DEFAULT_LIMITS for c in classes)
    assert {spec.rate_class for spec in ROUTES if spec.path == "/v1/me/identity"} == {IDENTITY_CLASS}
