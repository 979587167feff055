"""Alerts to people through SNS: the department's contact (subscribed with a filter policy on the
`department` attribute) and the admins (subscribed to everything); and, on their own topic, the
applicants' case notifications."""

from __future__ import annotations

import json
from typing import Any

from ..domain.notifications import Notification


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic = topic_arn

    def notify(self, kind: str, department: str, subject: str, detail: dict[str, Any]) -> None:
        self._sns.publish(
            TopicArn=self._topic, Subject=subject[:100],
            Message=json.dumps({"kind": kind, "department": department, **detail}, ensure_ascii=False),
            MessageAttributes={"department": {"DataType": "String", "StringValue": department},
                               "kind": {"DataType": "String", "StringValue": kind}})


class SnsApplicantNotifier:
    """An applicant's case notification, published for the app's push service. The message carries
    only what the push needs — the notification id (to deduplicate), the application id, the case
    number and the text — and is addressed by the applicant's opaque subject (message attribute
    `recipient`, for subscription filter policies); no name, ID number or contact detail."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic = topic_arn

    def send(self, notification: Notification) -> None:
        body = {"notification_id": notification.id, "type": notification.type,
                "application_id": notification.application_id, "case_number": notification.case_number,
                "text_zh": notification.text_zh, "text_en": notification.text_en}
        self._sns.publish(
            TopicArn=self._topic, Message=json.dumps(body, ensure_ascii=False),
            MessageAttributes={"recipient": {"DataType": "String", "StringValue": notification.recipient_sub},
                               "event_type": {"DataType": "String", "StringValue": notification.type}})
