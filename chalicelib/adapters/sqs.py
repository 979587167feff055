"""The delivery queue: fan-out and retry messages in batches of ten (with DelaySeconds up to 15 min)."""

from __future__ import annotations

from typing import Any

from ..ports import OutboundMessage


class QueueSendError(RuntimeError):
    """Some messages were not accepted; the caller's batch fails and is retried as a whole."""


class SqsDeliveryQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, messages: list[OutboundMessage]) -> None:
        for start in range(0, len(messages), 10):
            batch = messages[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": m.body,
                        "MessageAttributes": {"webhook_id": {"DataType": "String", "StringValue": m.id}},
                        **({"DelaySeconds": min(m.delay_seconds, 900)} if m.delay_seconds else {})}
                       for i, m in enumerate(batch)]
            resp = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if resp.get("Failed"):
                raise QueueSendError(f"{len(resp['Failed'])} delivery messages were not queued")

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        # SQS caps a message's visibility at 12 hours; `deliver` only uses it for short waits (a claimed
        # attempt's lease); retries travel as new delayed messages or due-time records.
        self._sqs.change_message_visibility(QueueUrl=self._url, ReceiptHandle=receipt_handle,
                                            VisibilityTimeout=max(0, min(delay_seconds, 43200)))
