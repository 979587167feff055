"""The SNS adapter of the alert subscriptions on moto's SNS: a contact's filter policy lets through the
alerts the notifier publishes for its departments and no others — checked by giving a probe queue the
very policy SNS stored for the contact (moto delivers to SQS, not to mailboxes or phones)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.sns import SnsNotifier
from chalicelib.adapters.sns_subscriptions import SnsAlertSubscriptions


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="onetrip-delivery-alerts")["TopicArn"]
        yield sns, sqs, topic


def _policy(sns, subscription):
    return json.loads(sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]["FilterPolicy"])


def _probe(sns, sqs, topic, policy):
    url = sqs.create_queue(QueueName=f"probe-{abs(hash(json.dumps(policy))) % 10**6}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"})
    return url


def _heard(sqs, url):
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(json.loads(m["Body"])["department"] for m in got)


def test_a_contact_hears_the_alerts_of_its_departments_and_no_others(aws):
    sns, sqs, topic = aws
    subscriptions = SnsAlertSubscriptions(sns, topic)
    sub = subscriptions.subscribe("email", "duty@tax.example.gov.cn", ("yq-tax",))
    assert _policy(sns, sub) == {"department": ["yq-tax"]}
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in listed] == [("email", "duty@tax.example.gov.cn")]
    url = _probe(sns, sqs, topic, _policy(sns, sub))
    notifier = SnsNotifier(sns, topic)
    for department in ("yq-tax", "yq-amr", "yq-tax"):
        notifier.notify("delivery_exhausted", department, "OneTrip delivery exhausted", {"webhook_id": "msg_1"})
    assert _heard(sqs, url) == ["yq-tax", "yq-tax"]


def test_a_contact_refiltered_to_two_departments_hears_both(aws):
    sns, sqs, topic = aws
    subscriptions = SnsAlertSubscriptions(sns, topic)
    sub = subscriptions.subscribe("sms", "+8657761234567", ("yq-tax",))
    assert subscriptions.refilter(sub, ("yq-tax", "yq-amr")) is True
    assert _policy(sns, sub) == {"department": ["yq-amr", "yq-tax"]}
    url = _probe(sns, sqs, topic, _policy(sns, sub))
    notifier = SnsNotifier(sns, topic)
    for department in ("yq-tax", "yq-amr", "yq-re"):
        notifier.notify("delivery_failed", department, "OneTrip delivery failed", {})
    assert _heard(sqs, url) == ["yq-amr", "yq-tax"]


def test_a_subscription_that_is_gone_cannot_be_refiltered_and_unsubscribing_it_again_is_harmless(aws):
    sns, _, topic = aws
    subscriptions = SnsAlertSubscriptions(sns, topic)
    sub = subscriptions.subscribe("email", "duty@amr.example.gov.cn", ("yq-amr",))
    subscriptions.unsubscribe(sub)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert subscriptions.refilter(sub, ("yq-amr",)) is False
    subscriptions.unsubscribe(sub)
