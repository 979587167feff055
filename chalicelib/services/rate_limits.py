"""Admit one request of a principal under its rate limit, or refuse it with when to retry.

Fails open: if the counter cannot be written (the table throttles or is unreachable), the request
goes on and a warning is logged. The limiter protects capacity; it must not become a second way for
the table to take the API down. The gateway's throttling still bounds everyone.
"""

from __future__ import annotations

from ..domain.principals import Principal
from ..domain.rate_limits import COUNTER_TTL_MARGIN_SECONDS, RateLimited, limit_for, rate_subject, window
from ..observability import logger
from .deps import Deps


def admit(deps: Deps, principal: Principal, rate_class: str) -> None:
    limit = limit_for(deps.settings.rate_limits, principal, rate_class)
    if limit is None:
        return
    subject = rate_subject(principal)
    now = int(deps.now().timestamp())
    start, end = window(subject, now, limit.window_seconds)
    try:
        admitted = deps.store.take_rate_slot(subject, rate_class, start, limit.limit,
                                             end + COUNTER_TTL_MARGIN_SECONDS)
    except Exception:  # any store failure: fail open (module docstring)
        logger.warning("rate_limit_unavailable", extra={"rate_class": rate_class, "kind": principal.kind.value},
                       exc_info=True)
        return
    if not admitted:
        logger.info("rate_limited", extra={"rate_class": rate_class, "kind": principal.kind.value})
        raise RateLimited(rate_class, limit, end - now)
