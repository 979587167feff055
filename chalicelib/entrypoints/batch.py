"""Partial batch failure for SQS and stream triggers (ReportBatchItemFailures): only the records that
failed are retried, and a record that keeps failing reaches the DLQ without holding the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..observability import logger

T = TypeVar("T")


def sqs_batch(event: Iterable[Any], handle: Callable[[Any], bool], source: str) -> dict[str, Any]:
    """`handle(record)` returns False (or raises) to have that one record redelivered."""
    failures = []
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            ok = handle(record)
        except Exception:
            logger.exception("record_failed", extra={"source": source, "message_id": message_id})
            ok = False
        if not ok:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def stream_batch(event: Iterable[Any], parse: Callable[[Any], T | None], handle: Callable[[list[T]], None],
                 source: str) -> dict[str, Any]:
    """Stream records are ordered and handled a batch at a time: `parse` each record (None: not one
    of ours) up to the first that cannot be read, `handle` what was read together, and report where
    the trigger must retry from: the first record when handling failed (everything in it is
    idempotent), else the unreadable record (bisected, then parked, after its finite retry attempts)."""
    parsed: list[T] = []
    first: str | None = None
    stop: str | None = None
    for record in event:
        try:
            item = parse(record)
        except Exception:
            logger.exception("record_failed", extra={"source": source, "sequence": record.sequence_number})
            stop = record.sequence_number
            break
        if item is not None:
            parsed.append(item)
            first = first or record.sequence_number
    if parsed:
        try:
            handle(parsed)
        except Exception:
            logger.exception("batch_failed", extra={"source": source, "sequence": first, "records": len(parsed)})
            return {"batchItemFailures": [{"itemIdentifier": first}]}
    return {"batchItemFailures": [{"itemIdentifier": stop}] if stop else []}
