"""Admit one request of a principal under its rate limit, or refuse it with when to retry.

Fails open: if the counter cannot be written (the table throttles or is unreachable), the request
goes on and a warning is logged. The limiter protects capacity; it must not become a second way for
the table to take the API down. The gateway's throttling still bounds everyone.
"""

from __future__ import annotations

from ..domain.principals import Principal
from ..domain.rate_limits import (
    COUNTER_TTL_MARGIN_SECONDS,
    SLIDING_CLASSES,
    RateLimited,
    carried_over,
    limit_for,
    rate_subject,
    sliding_retry_after,
    window,
)
from ..observability import logger
from .deps import Deps


def admit(deps: Deps, principal: Principal, rate_class: str) -> None:
    limit = limit_for(deps.settings.rate_limits, principal, rate_class)
    if limit is None:
        return
    subject = rate_subject(principal)
    now = int(deps.now().timestamp())
    span = limit.window_seconds
    start, end = window(subject, now, span)
    room, retry_after, keep_until = limit.limit, end - now, end + COUNTER_TTL_MARGIN_SECONDS
    try:
        if rate_class in SLIDING_CLASSES:
            # The previous window's counter is read during this one: it must outlive it.
            keep_until += span
            previous = deps.store.rate_slots_taken(subject, rate_class, start - span)
            carried = carried_over(previous, now - start, span)
            room -= carried
            retry_after = sliding_retry_after(previous, carried, now - start, span, end - now)
        admitted = room > 0 and deps.store.take_rate_slot(subject, rate_class, start, room, keep_until)
    except Exception:  # any store failure: fail open (module docstring)
        logger.warning("rate_limit_unavailable", extra={"rate_class": rate_class, "kind": principal.kind.value},
                       exc_info=True)
        return
    if not admitted:
        logger.info("rate_limited", extra={"rate_class": rate_class, "kind": principal.kind.value})
        raise RateLimited(rate_class, limit, retry_after)
