"""The delivery-alert contacts of the fake store (mixed into `tests.fakes.FakeStore`), and a fake of the
alert topic's subscriptions; tests/contract/test_alert_contacts_contract.py holds both to the real ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from chalicelib.domain.alert_contacts import AlertContact, filter_policy
from chalicelib.domain.errors import ConcurrentUpdate


class FakeAlertContactRecords:
    def _alert_contacts(self) -> dict[str, AlertContact]:
        if not hasattr(self, "_ac"):
            self._ac: dict[str, AlertContact] = {}
        return self._ac

    def get_alert_contact(self, key: str) -> AlertContact | None:
        return self._alert_contacts().get(key)

    def save_alert_contact(self, contact: AlertContact, expected_version: int | None) -> AlertContact:
        current = self._alert_contacts().get(contact.key)
        if (current is None) != (expected_version is None) or (current and current.version != expected_version):
            raise ConcurrentUpdate()
        saved = contact.model_copy(update={"version": 0 if expected_version is None else expected_version + 1})
        self._alert_contacts()[contact.key] = saved
        return saved

    def delete_alert_contact(self, key: str, expected_version: int) -> None:
        current = self._alert_contacts().get(key)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate()
        del self._alert_contacts()[key]


@dataclass
class FakeAlertSubscriptions:
    """The topic's subscriptions: id -> (protocol, endpoint, filter policy); `gone` ids cannot be changed."""

    subscriptions: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def subscribe(self, protocol: str, endpoint: str, departments: tuple[str, ...]) -> str:
        self.calls.append("subscribe")
        sid = f"sub-{len(self.subscriptions) + len(self.gone) + 1}"
        self.subscriptions[sid] = (protocol, endpoint, filter_policy(departments))
        return sid

    def refilter(self, subscription: str, departments: tuple[str, ...]) -> bool:
        self.calls.append("refilter")
        if subscription not in self.subscriptions:
            return False
        protocol, endpoint, _ = self.subscriptions[subscription]
        self.subscriptions[subscription] = (protocol, endpoint, filter_policy(departments))
        return True

    def unsubscribe(self, subscription: str) -> None:
        self.calls.append("unsubscribe")
        self.subscriptions.pop(subscription, None)

    def hears(self, endpoint: str) -> set[str]:
        """The departments whose alerts reach this address."""
        return {d for _, e, policy in self.subscriptions.values() if e == endpoint
                for d in json.loads(policy)["department"]}
