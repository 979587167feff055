"""The delivery queue: fan-out messages in batches of ten, and backoff by message visibility."""

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
                        "MessageAttributes": {"webhook_id": {"DataType": "String", "StringValue": m.id}}}
                       for i, m in enumerate(batch)]
            resp = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if resp.get("Failed"):
                raise QueueSendError(f"{len(resp['Failed'])} delivery messages were not queued")

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        # SQS caps a message's visibility at 12 hours; longer waits come with the delivery issue.
        self._sqs.change_message_visibility(QueueUrl=self._url, ReceiptHandle=receipt_handle,
                                            VisibilityTimeout=max(0, min(delay_seconds, 43200)))
