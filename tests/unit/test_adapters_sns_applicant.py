"""The SNS sender of applicant notifications, against moto's SNS fanned out to an SQS queue: what a
subscriber really receives — addressed by the subject, carrying the case number and text, nothing
personal — and the filter policy that routes one applicant's messages."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.sns import SnsApplicantNotifier
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from chalicelib.domain.notifications import Notification
from tests.unit.catalogue_samples import VALID_ID


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="applicant-notifications")["TopicArn"]
        queues = {}
        for sub, policy in (("all", None), ("citizen-1", {"recipient": ["citizen-1"]})):
            url = sqs.create_queue(QueueName=f"q-{sub}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes = {"RawMessageDelivery": "true"}
            if policy:
                attributes["FilterPolicy"] = json.dumps(policy)
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            queues[sub] = url
        yield sns, sqs, topic, queues


def notification(sub: str) -> Notification:
    return Notification(id="ntf_01", application_id="app_01", event_id="evt_01", type="onetrip.case.accepted",
                        occurred_at="2026-11-27T09:30:00.000+00:00", position="1#01#evt_01", recipient_sub=sub,
                        case_number="YQ-AMR-0001-20261127-0A1B2C3D", text_zh="您的申请已受理", text_en="Accepted")


def received(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])


def test_the_message_carries_the_case_number_and_text_addressed_by_subject(aws):
    sns, sqs, topic, queues = aws
    SnsApplicantNotifier(sns, topic).send(notification("citizen-1"))
    [message] = received(sqs, queues["all"])
    body = json.loads(message["Body"])
    assert body == {"notification_id": "ntf_01", "type": "onetrip.case.accepted", "application_id": "app_01",
                    "case_number": "YQ-AMR-0001-20261127-0A1B2C3D", "text_zh": "您的申请已受理", "text_en": "Accepted"}
    assert message["MessageAttributes"]["recipient"]["StringValue"] == "citizen-1"
    assert VALID_ID not in message["Body"]


def test_a_subscription_filtered_on_the_recipient_gets_only_that_applicants_messages(aws):
    sns, sqs, topic, queues = aws
    sender = SnsApplicantNotifier(sns, topic)
    sender.send(notification("citizen-2"))
    sender.send(notification("citizen-1"))
    assert len(received(sqs, queues["citizen-1"])) == 1
    assert len(received(sqs, queues["all"])) == 2


def test_the_sender_is_wired_only_where_a_topic_is_configured():
    assert build_deps(Settings()).applicant_notifier is None
    wired = build_deps(Settings(applicant_topic_arn="arn:aws:sns:us-east-1:000000000000:t"))
    assert isinstance(wired.applicant_notifier, SnsApplicantNotifier)
    assert Settings.from_environ({"ONETRIP_APPLICANT_TOPIC_ARN": "arn:x"}).applicant_topic_arn == "arn:x"
