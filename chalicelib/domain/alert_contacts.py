"""Who is told when a department's delivery fails for good: the department's duty mailbox (e-mail) and
duty line (SMS), each subscribed to the delivery-alerts topic with a filter policy on the `department`
message attribute. A contact shared by several departments is one subscription whose policy names all
of them, so everyone hears exactly the departments they are registered for and nobody else's.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .departments import Department


class ContactProtocol(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class AlertContact(BaseModel, defer_build=True):
    """One subscribed contact and the departments it hears (`subscription`: the topic's subscription)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: ContactProtocol
    endpoint: str
    departments: tuple[str, ...] = ()
    subscription: str | None = None
    version: int = 0

    @property
    def key(self) -> str:
        return contact_key(self.protocol, self.endpoint)


def normalized(protocol: ContactProtocol, endpoint: str) -> str:
    # Mailbox domains and (by convention) local parts are case-insensitive; E.164 numbers are digits.
    return endpoint.strip().lower() if protocol is ContactProtocol.EMAIL else endpoint.strip()


def contact_key(protocol: ContactProtocol, endpoint: str) -> str:
    """A stable key for a contact that does not show the address itself."""
    digest = hashlib.sha256(f"{protocol.value}:{normalized(protocol, endpoint)}".encode()).hexdigest()
    return digest[:32]


def department_contacts(department: Department | None) -> set[tuple[ContactProtocol, str]]:
    if department is None:
        return set()
    found = set()
    if department.contact_email:
        found.add((ContactProtocol.EMAIL, normalized(ContactProtocol.EMAIL, department.contact_email)))
    if department.contact_phone:
        found.add((ContactProtocol.SMS, normalized(ContactProtocol.SMS, department.contact_phone)))
    return found


def filter_policy(departments: tuple[str, ...] | list[str]) -> str:
    """The SNS filter policy that lets through only alerts of these departments (the notifier sets the
    `department` message attribute on every alert)."""
    return json.dumps({"department": sorted(set(departments))}, separators=(",", ":"))
