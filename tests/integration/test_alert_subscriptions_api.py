"""Registering a department through the admin API subscribes its duty mailbox and duty line to the
delivery-alerts topic (moto's SNS), each filtered to that department; changing them moves the
subscriptions along."""

from __future__ import annotations

import json
import time

from .conftest import call


def _subscriptions(stack, endpoint):
    sns = stack.aws("sns")
    listed = sns.list_subscriptions_by_topic(TopicArn=stack.outputs["DeliveryAlertsTopicArn"])["Subscriptions"]
    return {s["Protocol"]: json.loads(sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])
                                      ["Attributes"]["FilterPolicy"])["department"]
            for s in listed if s["Endpoint"] == endpoint}


def test_a_registered_departments_contacts_hear_its_alerts_and_follow_its_changes(api, stack):
    code = f"dept-{int(time.time() * 1000) % 10**9}"
    mailbox, line = f"{code}@duty.example.gov.cn", f"+86577{int(time.time() * 1000) % 10**8:08d}"
    body = {"code": code, "name_zh": "测试局", "name_en": "Test Bureau", "contact_email": mailbox,
            "contact_phone": line}
    status, created = call(api, "POST", "/v1/departments", stack.headers("admin"), body)
    assert status == 201 and created["contact_phone"] == line, created
    assert _subscriptions(stack, mailbox) == {"email": [code]}
    assert _subscriptions(stack, line) == {"sms": [code]}
    moved = f"{code}-new@duty.example.gov.cn"
    status, _ = call(api, "POST", "/v1/departments", stack.headers("admin"), {**body, "contact_email": moved})
    assert status == 201
    assert _subscriptions(stack, mailbox) == {} and _subscriptions(stack, moved) == {"email": [code]}
    assert _subscriptions(stack, line) == {"sms": [code]}


def test_a_duty_line_that_is_not_an_e164_number_is_refused_with_the_other_problems(api, stack):
    status, body = call(api, "POST", "/v1/departments", stack.headers("admin"), {
        "code": "dept-bad", "name_zh": "测试局", "name_en": "", "contact_phone": "0577-6123"})
    assert status == 422
    fields = {p.get("target") for p in body["problems"]}
    assert {"contact_phone", "name_en"} <= fields, body
