"""Correlation ids on every log line and the business-metrics flush, once per invocation.

Runs as Chalice middleware on every event type (after `fresh_log_context` cleared the last
invocation's keys): the API Gateway request id and the Lambda request id, plus the application or
task the route names. The handlers add what only they know (application id, case number). The
metrics flush sits in `finally`, so an invocation that fails still reports what it counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import metrics
from ..observability import logger

_ROUTE_IDS = ("application_id", "task_id")


def correlation_keys(event: Any) -> dict[str, str]:
    keys: dict[str, str] = {}
    context = getattr(event, "context", None)
    if isinstance(context, dict):  # an HTTP request: API Gateway's request context
        if context.get("requestId"):
            keys["request_id"] = str(context["requestId"])
        lambda_context = getattr(event, "lambda_context", None)
        for name in _ROUTE_IDS:
            value = (getattr(event, "uri_params", None) or {}).get(name)
            if value:
                keys[name] = str(value)[:64]
    else:  # SQS / stream events carry the Lambda context itself
        lambda_context = context
    request_id = getattr(lambda_context, "aws_request_id", None)
    if request_id:
        keys["lambda_request_id"] = str(request_id)
    return keys


def correlate(event: Any, get_response: Callable[[Any], Any]) -> Any:
    keys = correlation_keys(event)
    if keys:
        logger.append_keys(**keys)
    try:
        return get_response(event)
    finally:
        metrics.flush()
