"""Per-principal rate limits: how many requests one principal may make per window, by route class.

A fixed-window counter per (principal, class, window), incremented by one conditional write: no read,
one write per admitted request. A fixed window lets a principal spend up to twice its limit across a
window boundary; that is the price of a single write, and the stage throttle and the gateway's usage
plans bound the aggregate. Windows are offset per principal so not everyone's resets at once.
Sensitive routes get their own, much lower, class: `POST /v1/me/identity` answers whether a name and
an ID number belong together, and unbounded tries would make it an identity oracle. That class slides
(`SLIDING_CLASSES`): the previous window's count, weighted by how much of it still lies within one
window of now, is carried into the current one, so no boundary admits a second burst. It costs one
read of the previous counter, on a route a person calls a few times in their life.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .errors import OneTripError
from .principals import Principal, PrincipalKind

DEFAULT_CLASS = "default"
IDENTITY_CLASS = "identity"


@dataclass(frozen=True)
class RateLimit:
    limit: int           # requests admitted per window
    window_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or not 1 <= self.window_seconds <= 86400:
            raise ValueError("a rate limit needs limit >= 1 and a window of 1 s to 1 day")


# The default class is limited per principal kind; any other class by its own name (the same limit
# for every kind that may call its routes). Machines and staff desks make many more calls than a person.
DEFAULT_LIMITS: dict[str, RateLimit] = {
    PrincipalKind.CITIZEN.value: RateLimit(120, 60),
    PrincipalKind.ENTERPRISE_AGENT.value: RateLimit(240, 60),
    PrincipalKind.DEPARTMENT.value: RateLimit(1200, 60),
    PrincipalKind.WINDOW_STAFF.value: RateLimit(600, 60),
    PrincipalKind.TERMINAL.value: RateLimit(600, 60),
    PrincipalKind.ADMIN.value: RateLimit(600, 60),
    IDENTITY_CLASS: RateLimit(5, 3600),
}
ROUTE_CLASSES = frozenset({DEFAULT_CLASS, IDENTITY_CLASS})
SLIDING_CLASSES = frozenset({IDENTITY_CLASS})
# Counters outlive their window by this much (DynamoDB's TTL deletes lazily; the margin is for clocks).
COUNTER_TTL_MARGIN_SECONDS = 300


def parse_limits(text: str) -> dict[str, RateLimit]:
    """`citizen=120/60,identity=5/3600` (requests/seconds) over the defaults; `on`: the defaults;
    empty or `off`: none (no limiting)."""
    text = text.strip()
    if text in ("", "off"):
        return {}
    limits = dict(DEFAULT_LIMITS)
    if text == "on":
        return limits
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        count, _, seconds = value.partition("/")
        name = name.strip()
        if name not in DEFAULT_LIMITS or not count.strip().isdigit() or not seconds.strip().isdigit():
            raise ValueError(f"rate limit entry {part!r}: expected <kind or class>=<requests>/<seconds>, "
                             f"one of {', '.join(sorted(DEFAULT_LIMITS))}")
        limits[name] = RateLimit(int(count), int(seconds))
    return limits


def limit_for(limits: dict[str, RateLimit], principal: Principal, rate_class: str) -> RateLimit | None:
    return limits.get(principal.kind.value if rate_class == DEFAULT_CLASS else rate_class)


def rate_subject(principal: Principal) -> str:
    """Whose counter: the person or machine user (`sub`), or the app client itself for a token of the
    client-credentials grant (Cognito sets `sub` to the client id and names no user). Opaque ids only."""
    if principal.client_id and principal.sub == principal.client_id and not principal.username:
        return f"client:{principal.client_id}"
    return f"sub:{principal.sub}"


def window(subject: str, now_epoch: int, window_seconds: int) -> tuple[int, int]:
    """(start, end) epoch seconds of the subject's current window, offset per subject."""
    offset = zlib.crc32(subject.encode()) % window_seconds
    start = (now_epoch - offset) // window_seconds * window_seconds + offset
    return start, start + window_seconds


def carried_over(previous_count: int, elapsed: int, window_seconds: int) -> int:
    """How many of the previous window's requests still count, `elapsed` seconds into the current one:
    its count weighted by the part of it that lies within one window of now, rounded up (a sliding
    window approximated from two fixed counters)."""
    remaining = max(0, window_seconds - elapsed)
    return -(-previous_count * remaining // window_seconds)


def sliding_retry_after(previous_count: int, carried: int, elapsed: int, window_seconds: int,
                        window_left: int) -> int:
    """Seconds until the carried-over count drops by one (a slot may free up), at most until the
    current window ends."""
    if previous_count == 0 or carried == 0:
        return window_left
    # carried_over(previous, elapsed + t) <= carried - 1  <=>  t >= W - elapsed - (carried - 1) * W / previous
    wait = window_seconds - elapsed - (carried - 1) * window_seconds // previous_count
    return max(1, min(window_left, wait))


class RateLimited(OneTripError):
    code = "rate_limited"
    message_zh = "请求过于频繁，请稍后重试"
    message_en = "Too many requests; please retry later"

    def __init__(self, rate_class: str, limit: RateLimit, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"请求过于频繁：每 {limit.window_seconds} 秒最多 {limit.limit} 次，请在 {self.retry_after} 秒后重试",
            f"Too many requests: at most {limit.limit} per {limit.window_seconds} s; "
            f"retry in {self.retry_after} s",
            detail={"rate_class": rate_class, "limit": limit.limit, "window_seconds": limit.window_seconds,
                    "retry_after": self.retry_after})


def usage_key_name(principal: Principal, keyed_departments: frozenset[str]) -> str:
    """A department with a usage-plan key of its own gets it (its own throttle and daily quota); every
    other principal shares its kind's key, which caps that kind's share of the API."""
    if principal.kind is PrincipalKind.DEPARTMENT and principal.department in keyed_departments:
        return f"department-{principal.department}"
    return principal.kind.value.replace("_", "-")


def usage_plan_key(prefix: str, principal: Principal, keyed_departments: frozenset[str]) -> str | None:
    """The API Gateway usage-plan key the authorizer names for this principal (`usageIdentifierKey`:
    the API reads keys from the authorizer, so no client ever holds one). None when the stage has no
    usage plans (local)."""
    return prefix + usage_key_name(principal, keyed_departments) if prefix else None
