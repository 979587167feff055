"""The per-case hash chain: built from events, verified, and every kind of tampering found at its seq."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.audit import GENESIS_HASH, AuditEntry, data_digest, next_entry, verify_chain
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from tests.unit.catalogue_samples import citizen, officer

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
APP = new_id("app_")


def event(n: int, app_id: str = APP) -> DomainEvent:
    actor = (citizen() if n % 2 else officer("dept-a")).actor()
    return DomainEvent.raised(f"onetrip.case.step_{n}", T0 + timedelta(minutes=n), application_id=app_id,
                              subject=f"cases/{app_id}", recipients=["dept-a"], actor=actor,
                              data={"application_id": app_id, "item_code": "T-SINGLE", "item_version": 3,
                                    "case_number": "T-SINGLE-20261127-0001", "n": n})


def chain(length: int, app_id: str = APP) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for n in range(1, length + 1):
        entries.append(next_entry(event(n, app_id), entries[-1] if entries else None, T0 + timedelta(seconds=n)))
    return entries


def rehashed(entry: AuditEntry, **changes) -> AuditEntry:
    changed = entry.model_copy(update=changes)
    return changed.model_copy(update={"hash": changed.computed_hash()})


def test_an_entry_records_who_when_what_and_the_catalogue_version_but_not_the_data():
    first = chain(1)[0]
    assert (first.seq, first.prev_hash, first.type) == (1, GENESIS_HASH, "onetrip.case.step_1")
    assert first.actor == {"sub": "citizen-1", "kind": "citizen"}
    assert (first.item_code, first.item_version) == ("T-SINGLE", 3)
    assert first.data_digest == data_digest(event(1).data) and len(first.data_digest) == 64
    assert "T-SINGLE-20261127-0001" not in first.model_dump_json()  # a digest, never the data itself
    assert first.hash == first.computed_hash()


def test_each_entry_holds_the_hash_of_the_one_before():
    entries = chain(4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert all(b.prev_hash == a.hash for a, b in pairwise(entries))
    assert entries[1].actor == {"sub": "officer-dept-a", "kind": "department", "binding": "dept-a"}


def test_the_hash_covers_a_canonical_json_of_the_entry_including_prev_hash():
    entry = chain(2)[1]
    import hashlib

    body = json.dumps(entry.model_dump(mode="json", exclude={"hash"}), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    assert entry.hash == hashlib.sha256(body.encode()).hexdigest()
    assert rehashed(entry, prev_hash="f" * 64).hash != entry.hash


def test_an_intact_chain_verifies():
    entries = chain(5)
    result = verify_chain(APP, entries, entries[-1])
    assert result.ok and result.entries == 5 and result.head_hash == entries[-1].hash and result.broken_seq is None


def test_an_empty_chain_verifies():
    assert verify_chain(APP, [], None).ok


@pytest.mark.parametrize("field,value", [("type", "onetrip.case.closed"), ("actor", {"kind": "admin"}),
                                         ("occurred_at", "2026-01-01T00:00:00.000+00:00"),
                                         ("data_digest", "0" * 64), ("item_version", 4)])
def test_a_modified_entry_is_found_at_its_seq(field, value):
    entries = chain(5)
    entries[2] = entries[2].model_copy(update={field: value})
    result = verify_chain(APP, entries, entries[-1])
    assert (result.ok, result.broken_seq, result.code) == (False, 3, "audit_entry_modified")
    assert "3" in result.message_zh and "modified" in result.message_en


def test_a_modified_entry_with_a_recomputed_hash_breaks_the_next_link():
    entries = chain(5)
    entries[1] = rehashed(entries[1], type="onetrip.case.approved")
    result = verify_chain(APP, entries, entries[-1])
    assert (result.broken_seq, result.code) == (3, "audit_chain_link_broken")


def test_a_rewritten_last_entry_is_found_by_the_head():
    entries = chain(3)
    head = entries[-1]
    entries[-1] = rehashed(entries[-1], type="onetrip.case.approved")
    assert (verify_chain(APP, entries, head).broken_seq, verify_chain(APP, entries, head).code) == (
        3, "audit_entry_modified")


def test_a_removed_entry_is_found_at_its_seq():
    entries = chain(5)
    del entries[1]
    result = verify_chain(APP, entries, entries[-1])
    assert (result.ok, result.broken_seq, result.code) == (False, 2, "audit_entry_removed")


def test_a_removed_last_entry_is_found_by_the_head():
    entries = chain(4)
    head = entries.pop()
    result = verify_chain(APP, entries, head)
    assert (result.broken_seq, result.code) == (4, "audit_entry_removed")


def test_removed_and_renumbered_entries_break_the_link():
    entries = chain(5)
    del entries[2]
    renumbered = entries[:2]
    for e in entries[2:]:
        renumbered.append(rehashed(e, seq=e.seq - 1))
    result = verify_chain(APP, renumbered, renumbered[-1])
    assert (result.broken_seq, result.code) == (3, "audit_chain_link_broken")


def test_reordered_entries_are_found():
    entries = chain(5)
    entries[2], entries[3] = entries[3], entries[2]
    result = verify_chain(APP, entries, entries[-1])
    assert (result.ok, result.broken_seq, result.code) == (False, 3, "audit_entries_reordered")


def test_reordered_entries_with_their_seq_swapped_too_are_found():
    entries = chain(5)
    a, b = entries[2], entries[3]
    entries[2], entries[3] = b.model_copy(update={"seq": 3}), a.model_copy(update={"seq": 4})
    assert verify_chain(APP, entries, entries[-1]).code == "audit_entry_modified"
    entries[2], entries[3] = rehashed(b, seq=3), rehashed(a, seq=4)
    assert verify_chain(APP, entries, entries[-1]).code == "audit_chain_link_broken"


def test_a_duplicated_entry_is_found():
    entries = chain(3)
    entries.insert(2, entries[1])
    assert verify_chain(APP, entries, entries[-1]).code == "audit_entry_duplicated"


def test_an_entry_copied_from_another_case_is_found():
    entries = chain(3)
    other = chain(3, new_id("app_"))
    entries[0] = other[0]
    result = verify_chain(APP, entries, entries[-1])
    assert (result.broken_seq, result.code) == (1, "audit_entry_foreign")


def test_an_entry_appended_outside_a_transaction_is_found():
    entries = chain(4)
    head = entries[2]  # the head never moved to the 4th
    assert (verify_chain(APP, entries, head).broken_seq, verify_chain(APP, entries, head).code) == (
        4, "audit_entry_unanchored")
    assert verify_chain(APP, entries, None).broken_seq == 1


_FIELDS = st.sampled_from(["type", "subject", "occurred_at", "recorded_at", "data_digest", "event_id"])


@given(length=st.integers(1, 12), data=st.data(), field=_FIELDS)
def test_any_single_tampering_is_found_at_the_tampered_seq(length, data, field):
    entries = chain(length)
    position = data.draw(st.integers(0, length - 1))
    entries[position] = entries[position].model_copy(update={field: "tampered"})
    result = verify_chain(APP, entries, entries[-1] if position < length - 1 else chain(length)[-1])
    assert not result.ok and result.broken_seq == position + 1


@given(length=st.integers(2, 12), data=st.data())
def test_any_removal_is_found_at_the_removed_seq(length, data):
    entries = chain(length)
    head = entries[-1]
    position = data.draw(st.integers(0, length - 1))
    del entries[position]
    result = verify_chain(APP, entries, head)
    assert (result.broken_seq, result.code) == (position + 1, "audit_entry_removed")
