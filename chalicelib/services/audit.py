"""The case's audit trail: every outbox event appended to the case's hash chain (a stream projection),
and the trail read back with its verification (the supervisors' route and `onetrip audit verify`).

Appending is optimistic: read the head, write entry n+1 conditionally, and on a lost race look again.
An event already in the chain (its marker exists) is a redelivery and changes nothing.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ..domain.applications import Application
from ..domain.audit import AuditEntry, ChainVerification, next_entry, verify_chain
from ..domain.errors import ConcurrentUpdate, NotFound
from ..domain.events import DomainEvent
from ..domain.ids import is_id
from ..observability import logger
from ..ports import Store
from .deps import Deps

# Appenders racing on one case: each lost round means another appender won, so the chain moves on;
# a short random pause keeps a crowd of them from colliding in lockstep.
_APPEND_ROUNDS = 32
_PAUSE_SECONDS = 0.005


def record_in_trail(deps: Deps, event: DomainEvent) -> AuditEntry | None:
    """The projection: the entry this event became, or None when it was in the chain already."""
    store = deps.store
    for round_ in range(_APPEND_ROUNDS):
        entry = next_entry(event, store.audit_head(event.application_id), deps.now())
        try:
            store.append_audit_entry(entry)
        except ConcurrentUpdate:
            # Lost to another appender, or this event is in the chain already (its marker's condition
            # failed): only now is it worth a look — most appends are first deliveries and win.
            if store.audit_has_event(event.application_id, event.id):
                return None
            if round_:
                time.sleep(random.uniform(0, _PAUSE_SECONDS * round_))  # noqa: S311 (jitter, not secrecy)
            continue
        logger.info("audit_appended", extra={"event_id": event.id, "seq": entry.seq})
        return entry
    raise ConcurrentUpdate()  # the stream delivers the record again


def append_to_trail(deps: Deps, event: DomainEvent) -> None:
    record_in_trail(deps, event)


@dataclass(frozen=True)
class CaseTrail:
    application: Application
    entries: list[AuditEntry]
    verification: ChainVerification


def read_trail(store: Store, application_id: str) -> CaseTrail:
    """Any case's trail and whether it is intact (supervisors only: the route checks the scope)."""
    app = store.get_application(application_id) if is_id(application_id, "app_") else None
    if app is None:
        raise NotFound.of("application", application_id)
    entries = store.list_audit_entries(application_id)
    head = store.audit_head(application_id)
    return CaseTrail(app, entries, verify_chain(application_id, entries, head))
