"""Missed events: a department pulls every event addressed to it, in order, after a cursor.

The cursor is an event id (the `id` of the CloudEvent body, the same in webhooks), so a department
can resume from the last webhook it processed. Events younger than the settle window are held back:
ids are minted before their transaction commits, so a slower concurrent commit could otherwise land
behind a cursor already handed out.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from ..domain.errors import Problem, ValidationFailed
from ..domain.ids import is_id
from ..domain.principals import Principal
from .deps import Deps
from .dispatch import event_body, webhook_id

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _id_floor(epoch_ms: int) -> str:
    """The smallest event id minted at `epoch_ms` (ULID layout: 48-bit time, then randomness)."""
    value = epoch_ms << 80
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(chars))


def pull_events(deps: Deps, principal: Principal, after: str | None, limit: int) -> dict[str, Any]:
    assert principal.department is not None
    if after is not None and not is_id(after, "evt_"):
        raise ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid",
                                                 "after")])
    settled = deps.now() - timedelta(seconds=deps.settings.events_settle_seconds)
    before = _id_floor(int(settled.timestamp() * 1000))
    events = deps.store.list_department_events(principal.department, after, before, limit)
    endpoints = deps.store.list_endpoints(principal.department)
    items = []
    for event in events:
        item_code = event.data.get("item_code")
        items.append({
            "event": json.loads(event_body(event, deps.settings.stage)),
            "webhook_ids": [webhook_id(event.id, e.id) for e in endpoints
                            if event.type in e.event_types and (not e.item_codes or item_code in e.item_codes)],
        })
    next_cursor = events[-1].id if events else after
    return {"items": items, "next_cursor": next_cursor, "has_more": len(events) == limit}
