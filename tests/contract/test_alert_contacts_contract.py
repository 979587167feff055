"""The delivery-alert contact records, one suite against the fake and the DynamoDB adapter."""

from __future__ import annotations

import pytest

from chalicelib.domain.alert_contacts import AlertContact, ContactProtocol, contact_key
from chalicelib.domain.errors import ConcurrentUpdate


def test_a_contact_is_created_once_changed_at_its_version_and_deleted_at_it(store):
    contact = AlertContact(protocol=ContactProtocol.EMAIL, endpoint="duty@tax.example.gov.cn",
                           departments=("yq-tax",), subscription="arn:sub-1")
    assert store.get_alert_contact(contact.key) is None
    saved = store.save_alert_contact(contact, None)
    assert saved.version == 0 and store.get_alert_contact(contact.key) == saved
    with pytest.raises(ConcurrentUpdate):
        store.save_alert_contact(contact, None)
    both = store.save_alert_contact(saved.model_copy(update={"departments": ("yq-amr", "yq-tax")}), saved.version)
    assert store.get_alert_contact(contact.key).departments == ("yq-amr", "yq-tax")
    with pytest.raises(ConcurrentUpdate):
        store.save_alert_contact(saved, saved.version)  # a stale writer loses
    with pytest.raises(ConcurrentUpdate):
        store.delete_alert_contact(contact.key, saved.version)
    store.delete_alert_contact(contact.key, both.version)
    assert store.get_alert_contact(contact.key) is None


def test_the_key_of_a_contact_does_not_show_the_address():
    key = contact_key(ContactProtocol.SMS, "+8657761234567")
    assert "8657761234567" not in key and key == contact_key(ContactProtocol.SMS, " +8657761234567 ")
    assert contact_key(ContactProtocol.EMAIL, "Duty@Tax.example.gov.cn") == contact_key(
        ContactProtocol.EMAIL, "duty@tax.example.gov.cn")
