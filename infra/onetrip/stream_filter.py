"""Which records of the table's stream invoke `dispatch`: outbox events being inserted, nothing else.

Deployed as the stream trigger's FilterCriteria (Lambda drops the other records before invoking, so
writing an application, a task, a delivery record or a statistic never costs an invocation), and
applied the same way by the local event pump, so the local stack invokes what AWS would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Lambda's event-filtering syntax: each leaf lists the values a record's field may have.
DISPATCH_PATTERN: dict[str, Any] = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["event"]}}}}


def filter_criteria() -> dict[str, Any]:
    """The trigger's FilterCriteria property."""
    return {"Filters": [{"Pattern": json.dumps(DISPATCH_PATTERN, separators=(",", ":"))}]}


def matches(record: Mapping[str, Any], pattern: Mapping[str, Any] = DISPATCH_PATTERN) -> bool:
    """Whether a stream record (Lambda's shape) passes the pattern: the subset of the syntax used here,
    exact values listed at the leaves."""
    for name, wanted in pattern.items():
        value = record.get(name) if isinstance(record, Mapping) else None
        if isinstance(wanted, Mapping):
            if not isinstance(value, Mapping) or not matches(value, wanted):
                return False
        elif value not in wanted:
            return False
    return True
