"""The dispatch trigger's filter: outbox inserts pass, everything else the table writes does not."""

from __future__ import annotations

import json

import pytest

from infra.onetrip.stream_filter import DISPATCH_PATTERN, filter_criteria, matches


def record(event_name: str = "INSERT", type_: str | None = "event") -> dict:
    image = {"pk": {"S": "APP#a"}, "sk": {"S": "EVT#e"}, **({"type": {"S": type_}} if type_ else {})}
    return {"eventName": event_name, "dynamodb": {"Keys": {}, "NewImage": image}}


def test_an_outbox_insert_passes():
    assert matches(record())


@pytest.mark.parametrize("rec", [record("MODIFY"), record("REMOVE"), record(type_="application"),
                                 record(type_="stats"), record(type_="notification"), record(type_=None),
                                 {"eventName": "REMOVE", "dynamodb": {"Keys": {}}}])
def test_every_other_record_is_dropped(rec):
    assert not matches(rec)


def test_the_deployed_criteria_carry_the_same_pattern():
    [only] = filter_criteria()["Filters"]
    assert json.loads(only["Pattern"]) == DISPATCH_PATTERN
