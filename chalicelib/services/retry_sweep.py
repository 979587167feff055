"""The scheduled sweep: retries due later than SQS can delay are moved back onto the delivery queue.

Runs every minute (EventBridge in AWS, the pump's timer locally). Re-queue first, delete second: a
sweep that dies in between re-queues a message twice, and the attempt claim in `deliver` makes the
second copy a no-op.
"""

from __future__ import annotations

from ..domain.deliveries import DUE_SHARDS
from ..ports import OutboundMessage
from .deps import Deps

_PAGE = 100
_MAX_PAGES_PER_SHARD = 50  # bounded work per run; the next run continues


def sweep_due(deps: Deps) -> int:
    now = deps.now()
    moved = 0
    for shard in range(DUE_SHARDS):
        for _ in range(_MAX_PAGES_PER_SHARD):
            due = deps.store.due_messages(shard, now, _PAGE)
            if not due:
                break
            deps.queue.send([OutboundMessage(id=m.id.split("#", 1)[0], body=m.body) for _, m in due])
            for token, _ in due:
                deps.store.delete_due(shard, token)
            moved += len(due)
            if len(due) < _PAGE:
                break
    return moved
