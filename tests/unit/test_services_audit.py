"""The audit projection on fakes: every event appended once, redeliveries change nothing, concurrent
appenders never fork the chain; and the trail read back with its verification."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.entrypoints import on_stream
from chalicelib.services.audit import read_trail, record_in_trail
from chalicelib.services.projections import PROJECTIONS, project
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import FRIDAY, citizen, ready_application, single_item


@pytest.fixture
def case():
    deps = fake_deps()
    app = ready_application(single_item())
    deps.store.create_application(app)
    return deps, app


def raised(app_id: str, type_: str = "onetrip.case.accepted", n: int = 0) -> DomainEvent:
    return DomainEvent.raised(type_, FRIDAY + timedelta(seconds=n), application_id=app_id,
                              subject=f"applications/{app_id}", recipients=[], actor=citizen().actor(),
                              data={"application_id": app_id, "item_code": "T-SINGLE", "item_version": 1, "n": n})


def test_the_audit_projection_is_registered_for_the_stream():
    assert record_in_trail.__module__ == "chalicelib.services.audit"
    assert any(p.__module__ == "chalicelib.services.audit" for p in PROJECTIONS)
    assert on_stream.project is project


def test_every_event_is_appended_in_turn(case):
    deps, app = case
    for n in range(3):
        project(deps, raised(app.id, n=n))
    entries = deps.store.list_audit_entries(app.id)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert deps.store.audit_head(app.id) == entries[-1]
    assert read_trail(deps.store, app.id).verification.ok


def test_a_redelivered_event_changes_nothing(case):
    deps, app = case
    event = raised(app.id)
    first = record_in_trail(deps, event)
    assert first is not None and first.seq == 1
    assert record_in_trail(deps, event) is None
    project(deps, event)
    assert [e.event_id for e in deps.store.list_audit_entries(app.id)] == [event.id]


def test_concurrent_appenders_never_fork_the_chain_and_append_each_event_once(case, monkeypatch):
    deps, app = case
    events = [raised(app.id, n=n) for n in range(40)]
    # Widen the window between reading the head and appending, so appenders really collide.
    read_head, append, lost = deps.store.audit_head, deps.store.append_audit_entry, []

    def slow_head(app_id):
        head = read_head(app_id)
        time.sleep(0.0005)
        return head

    def counted_append(entry):
        try:
            append(entry)
        except ConcurrentUpdate:
            lost.append(entry.seq)
            raise

    monkeypatch.setattr(deps.store, "audit_head", slow_head)
    monkeypatch.setattr(deps.store, "append_audit_entry", counted_append)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        barrier.wait()
        try:
            # Every worker delivers every event (as redeliveries would), each in its own order.
            for event in events[k % 2::2] + events[(k + 1) % 2::2]:
                record_in_trail(deps, event)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trail = read_trail(deps.store, app.id)
    assert trail.verification.ok and trail.verification.entries == 40
    assert sorted(e.event_id for e in trail.entries) == sorted(e.id for e in events)
    assert lost  # the appenders did collide, and every lost race was retried to the end


def test_a_trail_of_a_missing_or_malformed_application_is_not_found(case):
    deps, _ = case
    for app_id in (new_id("app_"), "APP#x", "../x"):
        with pytest.raises(NotFound):
            read_trail(deps.store, app_id)


def test_a_trail_read_back_reports_a_tampered_entry(case):
    deps, app = case
    for n in range(3):
        record_in_trail(deps, raised(app.id, n=n))
    chain = deps.store._case_tables()["entries"][app.id]
    chain[2] = chain[2].model_copy(update={"actor": {"kind": "admin"}})
    result = read_trail(deps.store, app.id).verification
    assert (result.ok, result.broken_seq, result.code) == (False, 2, "audit_entry_modified")
