"""`stream_batch`: a stream batch read record by record and handled at once; where the trigger retries
from when handling fails (the batch's first record) or a record cannot be read (that record)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.entrypoints.batch import stream_batch


@dataclass
class Record:
    sequence_number: str
    body: str


def parse(record: Record) -> str | None:
    if record.body == "bad":
        raise ValueError("unreadable")
    return None if record.body == "other" else record.body


def test_every_readable_record_is_handled_in_one_call_and_others_are_skipped():
    calls: list[list[str]] = []
    records = [Record("1", "other"), Record("2", "a"), Record("3", "other"), Record("4", "b")]
    assert stream_batch(records, parse, calls.append, "test") == {"batchItemFailures": []}
    assert calls == [["a", "b"]]


def test_a_failed_batch_is_retried_from_its_first_record_of_ours():
    def fail(items: list[str]) -> None:
        raise RuntimeError("store unavailable")

    records = [Record("1", "other"), Record("2", "a"), Record("3", "b")]
    assert stream_batch(records, parse, fail, "test") == {"batchItemFailures": [{"itemIdentifier": "2"}]}


def test_records_before_an_unreadable_one_are_handled_and_it_is_reported():
    calls: list[list[str]] = []
    records = [Record("1", "a"), Record("2", "bad"), Record("3", "b")]
    assert stream_batch(records, parse, calls.append, "test") == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert calls == [["a"]]


@pytest.mark.parametrize("records", [[], [Record("1", "other")]])
def test_a_batch_with_nothing_of_ours_handles_nothing(records):
    calls: list[list[str]] = []
    assert stream_batch(records, parse, calls.append, "test") == {"batchItemFailures": []}
    assert calls == []
