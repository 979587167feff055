"""The case's audit trail read back with its verification (the supervisors' route and `onetrip audit
verify`). The trail itself is written by the store, in the transaction of each change that records
events (`domain.applications.with_events`): appending costs no request and no projection.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.applications import Application
from ..domain.audit import AuditEntry, ChainVerification, verify_chain
from ..domain.errors import NotFound
from ..domain.ids import is_id
from ..ports import Store


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
    return CaseTrail(app, entries, verify_chain(application_id, entries, app.trail))
