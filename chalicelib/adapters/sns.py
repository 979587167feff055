"""Alerts to people through SNS: the department's contact (subscribed with a filter policy on the
`department` attribute) and the admins (subscribed to everything)."""

from __future__ import annotations

import json
from typing import Any


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
