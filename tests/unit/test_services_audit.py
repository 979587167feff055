"""The audit trail on fakes, through the real use cases: every event any change raises is in the
case's chain exactly once, in the order of the changes, and the trail read back verifies it."""

from __future__ import annotations

import pytest

from chalicelib.domain.applications import Outcome
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.services.applications import create_application
from chalicelib.services.audit import read_trail
from chalicelib.services.cases import decide_task, submit_application
from chalicelib.services.materials import verify_material
from tests.unit.catalogue_samples import citizen, officer, seeded_deps, upload


@pytest.fixture
def decided_case():
    """A joint case (dept-a lead, dept-b joint) from draft to decision: uploads verified, accepted,
    both departments decide."""
    deps, owner = seeded_deps(), citizen()
    app = create_application(deps, owner, "T-JOINT")
    for code in ("form", "photo"):
        verify_material(deps, upload(deps, owner, app.id, code))
    submit_application(deps, owner, app.id)
    for task in list(deps.store.tasks.values()):
        decide_task(deps, officer(task.department), task.id, Outcome.APPROVED, [])
    return deps, app.id


def test_every_event_of_every_change_is_in_the_chain_once_in_order(decided_case):
    deps, app_id = decided_case
    raised = [e for e in deps.store.outbox if e.application_id == app_id]
    assert {e.type for e in raised} >= {"onetrip.material.verified", "onetrip.case.accepted",
                                        "onetrip.task.assigned", "onetrip.task.decided", "onetrip.case.decided"}
    trail = read_trail(deps.store, app_id)
    assert [e.event_id for e in trail.entries] == [e.id for e in raised]
    assert [e.seq for e in trail.entries] == list(range(1, len(raised) + 1))
    assert trail.verification.ok and trail.verification.head_hash == trail.application.trail.hash
    by_event = {e.id: e for e in raised}
    for entry in trail.entries:  # who, what and when come from the event itself
        event = by_event[entry.event_id]
        assert (entry.type, entry.occurred_at, entry.actor) == (event.type, event.occurred_at, event.actor)


def test_a_trail_of_a_missing_or_malformed_application_is_not_found(decided_case):
    deps, _ = decided_case
    for app_id in (new_id("app_"), "APP#x", "../x"):
        with pytest.raises(NotFound):
            read_trail(deps.store, app_id)


def test_a_trail_read_back_reports_a_tampered_entry(decided_case):
    deps, app_id = decided_case
    chain = deps.store._case_tables()["entries"][app_id]
    chain[2] = chain[2].model_copy(update={"actor": {"kind": "admin"}})
    result = read_trail(deps.store, app_id).verification
    assert (result.ok, result.broken_seq, result.code) == (False, 2, "audit_entry_modified")
