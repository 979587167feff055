"""A department's contacts hear its failed deliveries, and only its: registering or changing a department
subscribes its duty mailbox and duty line to the alert topic with a filter on its code; a contact shared
by departments is one subscription hearing each of them; a dropped contact stops hearing it."""

from __future__ import annotations

import pytest

from chalicelib.domain.departments import Department
from chalicelib.services.departments import register_department
from tests.fake_alerts import FakeAlertSubscriptions
from tests.fakes import fake_deps

MAILBOX = "duty@tax.example.gov.cn"
SHARED = "it-duty@yq.example.gov.cn"


@pytest.fixture
def deps():
    d = fake_deps()
    d.alert_subscriptions = FakeAlertSubscriptions()
    return d


def dept(code, email=None, phone=None):
    return Department(code=code, name_zh="局", name_en="Bureau", contact_email=email, contact_phone=phone)


def test_registering_a_department_subscribes_its_mailbox_and_duty_line_to_its_alerts_only(deps):
    register_department(deps, dept("yq-tax", MAILBOX, "+8657761234567"))
    subs = deps.alert_subscriptions
    assert subs.hears(MAILBOX) == {"yq-tax"} and subs.hears("+8657761234567") == {"yq-tax"}
    assert sorted(p for p, _, _ in subs.subscriptions.values()) == ["email", "sms"]


def test_a_mailbox_shared_by_two_departments_is_one_subscription_hearing_both(deps):
    register_department(deps, dept("yq-tax", SHARED))
    register_department(deps, dept("yq-amr", SHARED))
    subs = deps.alert_subscriptions
    assert len(subs.subscriptions) == 1 and subs.hears(SHARED) == {"yq-tax", "yq-amr"}


def test_a_changed_contact_stops_hearing_the_department_and_the_new_one_starts(deps):
    register_department(deps, dept("yq-tax", SHARED))
    register_department(deps, dept("yq-amr", SHARED))
    register_department(deps, dept("yq-tax", MAILBOX))
    subs = deps.alert_subscriptions
    assert subs.hears(SHARED) == {"yq-amr"} and subs.hears(MAILBOX) == {"yq-tax"}


def test_a_contact_no_department_names_any_more_is_unsubscribed_and_forgotten(deps):
    register_department(deps, dept("yq-tax", MAILBOX, "+8657761234567"))
    register_department(deps, dept("yq-tax"))
    assert deps.alert_subscriptions.subscriptions == {}
    from chalicelib.domain.alert_contacts import ContactProtocol, contact_key

    assert deps.store.get_alert_contact(contact_key(ContactProtocol.EMAIL, MAILBOX)) is None


def test_registering_the_same_department_again_changes_nothing_at_the_topic(deps):
    register_department(deps, dept("yq-tax", MAILBOX))
    calls = list(deps.alert_subscriptions.calls)
    register_department(deps, dept("yq-tax", MAILBOX.upper()))  # the same mailbox, written otherwise
    assert deps.alert_subscriptions.calls == calls


def test_a_subscription_that_cannot_be_changed_is_replaced_by_one_with_the_right_filter(deps):
    register_department(deps, dept("yq-tax", SHARED))
    subs = deps.alert_subscriptions
    (gone,) = subs.subscriptions
    subs.subscriptions.pop(gone)  # e.g. deleted by hand, or never confirmed and expired
    subs.gone.add(gone)
    register_department(deps, dept("yq-amr", SHARED))
    assert subs.hears(SHARED) == {"yq-tax", "yq-amr"} and gone not in subs.subscriptions


def test_without_an_alert_topic_registering_subscribes_nobody(deps):
    deps.alert_subscriptions = None
    assert register_department(deps, dept("yq-tax", MAILBOX)).code == "yq-tax"


def test_a_duty_line_must_be_an_e164_number():
    with pytest.raises(ValueError):
        dept("yq-tax", phone="0577-61234567")
