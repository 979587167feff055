"""Partial batch failure for SQS and stream triggers (ReportBatchItemFailures): only the records that
failed are retried, and a record that keeps failing reaches the DLQ without holding the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..observability import logger


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


def stream_batch(event: Iterable[Any], handle: Callable[[Any], None], source: str) -> dict[str, Any]:
    """Stream records are ordered: stop at the first failure and report its sequence number, so the
    trigger retries from there (and bisects, then parks it, after its finite retry attempts)."""
    for record in event:
        try:
            handle(record)
        except Exception:
            logger.exception("record_failed", extra={"source": source, "sequence": record.sequence_number})
            return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
    return {"batchItemFailures": []}
