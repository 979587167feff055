"""Subscriptions to the delivery-alerts topic (SNS): a contact with a filter policy on the `department`
message attribute, so it receives only the alerts of the departments it serves."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..domain.alert_contacts import filter_policy

# SNS's answer when a subscription no longer exists, or cannot be changed (e.g. still pending confirmation).
_GONE = frozenset({"NotFound", "NotFoundException", "InvalidParameter", "InvalidParameterException"})


class SnsAlertSubscriptions:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client
        self._topic = topic_arn

    def subscribe(self, protocol: str, endpoint: str, departments: tuple[str, ...]) -> str:
        # ReturnSubscriptionArn: an e-mail subscription has its ARN (to change or end it) before it is confirmed.
        resp = self._sns.subscribe(TopicArn=self._topic, Protocol=protocol, Endpoint=endpoint,
                                   ReturnSubscriptionArn=True,
                                   Attributes={"FilterPolicy": filter_policy(departments),
                                               "FilterPolicyScope": "MessageAttributes"})
        return str(resp["SubscriptionArn"])

    def refilter(self, subscription: str, departments: tuple[str, ...]) -> bool:
        try:
            self._sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                                  AttributeValue=filter_policy(departments))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return False
            raise
        return True

    def unsubscribe(self, subscription: str) -> None:
        try:
            self._sns.unsubscribe(SubscriptionArn=subscription)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _GONE:
                raise
