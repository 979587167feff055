"""Identifiers are random, never sequential, and sort by creation time."""

from __future__ import annotations

import re
import time

import pytest

from chalicelib.domain.ids import is_id, new_id

ULID = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$")


def test_an_id_is_the_prefix_and_26_crockford_characters():
    value = new_id("app_")
    assert value.startswith("app_")
    assert ULID.match(value.removeprefix("app_"))
    assert is_id(value, "app_")


def test_ids_are_unique():
    values = {new_id("app_") for _ in range(5000)}
    assert len(values) == 5000


def test_ids_created_later_sort_later():
    earlier = new_id("app_")
    time.sleep(0.003)
    later = new_id("app_")
    assert earlier < later


def test_ids_are_not_sequential():
    a, b = new_id(), new_id()
    # Same millisecond or not, the random 80 bits make neighbours far apart.
    assert a[10:] != b[10:]


@pytest.mark.parametrize("value,prefix", [
    ("tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV", "app_"),  # another kind of id
    ("app_01ARZ3NDEKTSV4RRFFQ69G5FA", "app_"),  # 25 characters
    ("app_01ARZ3NDEKTSV4RRFFQ69G5FAVX", "app_"),  # 27 characters
    ("app_01arz3ndektsv4rrffq69g5fav", "app_"),  # lowercase
    ("app_01ARZ3NDEKTSV4RRFFQ69G5FAU", "app_"),  # U is not Crockford
    ("app_01ARZ3NDEKTSV4RRFFQ69G5FA/", "app_"),
    ("../../etc/passwd", "app_"),
    ("", "app_"),
])
def test_malformed_ids_are_refused(value, prefix):
    assert not is_id(value, prefix)
