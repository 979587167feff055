"""Keeping the delivery-alert subscriptions in step with the department registry: when a department is
registered or its contacts change, each new contact hears it, each removed one stops hearing it.

A contact is one subscription however many departments it serves (SNS keeps one subscription per
address and topic); its record lists those departments and is changed at its version, so two admins
editing two departments that share a mailbox do not lose each other's change. The topic's side is
made idempotent: registering the same department again repairs a half-done earlier attempt.
"""

from __future__ import annotations

from functools import partial

from ..domain.alert_contacts import AlertContact, ContactProtocol, contact_key, department_contacts
from ..domain.departments import Department
from ..observability import logger
from .deps import Deps, retry_on_conflict


def sync_alert_contacts(deps: Deps, before: Department | None, after: Department) -> None:
    if deps.alert_subscriptions is None:  # no alert topic in this deployment (or a test without one)
        return
    old, new = department_contacts(before), department_contacts(after)
    for protocol, endpoint in sorted(new):
        retry_on_conflict(partial(_join, deps, protocol, endpoint, after.code))
    for protocol, endpoint in sorted(old - new):
        retry_on_conflict(partial(_leave, deps, protocol, endpoint, after.code))


def _join(deps: Deps, protocol: ContactProtocol, endpoint: str, department: str) -> None:
    assert deps.alert_subscriptions is not None
    current = deps.store.get_alert_contact(contact_key(protocol, endpoint))
    if current is not None and department in current.departments and current.subscription:
        return
    departments = tuple(sorted({*(current.departments if current else ()), department}))
    subscription = _subscribed(deps, protocol, endpoint, departments, current)
    contact = AlertContact(protocol=protocol, endpoint=endpoint, departments=departments, subscription=subscription)
    deps.store.save_alert_contact(contact, current.version if current else None)
    logger.info("alert_contact_subscribed", extra={"department": department, "protocol": protocol.value,
                                                   "departments_heard": len(departments)})


def _leave(deps: Deps, protocol: ContactProtocol, endpoint: str, department: str) -> None:
    assert deps.alert_subscriptions is not None
    current = deps.store.get_alert_contact(contact_key(protocol, endpoint))
    if current is None or department not in current.departments:
        return
    remaining = tuple(d for d in current.departments if d != department)
    if not remaining:
        if current.subscription:
            deps.alert_subscriptions.unsubscribe(current.subscription)
        deps.store.delete_alert_contact(current.key, current.version)
    else:
        subscription = _subscribed(deps, protocol, endpoint, remaining, current)
        deps.store.save_alert_contact(current.model_copy(update={"departments": remaining,
                                                                 "subscription": subscription}), current.version)
    logger.info("alert_contact_unsubscribed", extra={"department": department, "protocol": protocol.value,
                                                     "departments_heard": len(remaining)})


def _subscribed(deps: Deps, protocol: ContactProtocol, endpoint: str, departments: tuple[str, ...],
                current: AlertContact | None) -> str:
    """The contact's subscription, now filtered to `departments`: the same one changed in place, or a
    new one when it cannot be (gone, or not changeable)."""
    assert deps.alert_subscriptions is not None
    if current is not None and current.subscription:
        if deps.alert_subscriptions.refilter(current.subscription, departments):
            return current.subscription
        deps.alert_subscriptions.unsubscribe(current.subscription)
    return deps.alert_subscriptions.subscribe(protocol.value, endpoint, departments)
