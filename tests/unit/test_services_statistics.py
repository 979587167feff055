"""The statistics projection and report on the fake store: events counted once whatever the stream
redelivers, the report read from the aggregates, one SLA-breach metric per breach."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib import metrics
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.services.projections import project
from chalicelib.services.statistics import statistics_report
from tests import statistics_samples as ev
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import single_item

APRIL_1ST_IN_CHINA = datetime(2031, 3, 31, 20, 0, tzinfo=UTC)


@pytest.fixture
def deps():
    d = fake_deps()
    d.now = lambda: datetime(2031, 3, 20, tzinfo=UTC)
    return d


def test_a_case_story_becomes_the_months_report(deps):
    code = "T-SINGLE"
    events = [ev.accepted(code), ev.accepted(code), ev.accepted("OTHER"),
              ev.decided(code, working_days=3, committed=5, rounds=1, visits=1),
              ev.decided(code, working_days=6, committed=5, on_time=False, rounds=0, visits=2),
              ev.rated(code, 5), ev.rated(code, 1, rectification=True), ev.withdrawn("OTHER"),
              ev.case_event("onetrip.task.assigned", code, task_id="task_1", department="yq-amr")]
    project(deps, events[:4])  # one stream batch: the increments of one item are summed
    for event in events[4:]:
        project(deps, [event])
    report = statistics_report(deps, "2031-03", None)
    assert report["cases"] == {"accepted": 3, "refused": 0, "withdrawn": 1, "decided": 2, "approved": 2,
                               "rejected": 0}
    assert report["timeliness"]["on_time_rate"] == 0.5 and report["timeliness"]["working_to_committed"] == 0.9
    assert report["visits"]["one_trip_rate"] == 0.5
    assert report["supplements"]["rounds"] == {"0": 1, "1": 1, "2": 0, "3+": 0}
    assert report["satisfaction"]["average_level"] == 3.0
    assert report["rectifications"]["open"] == 1
    assert report["volume"]["top_items"][0] == {"item_code": code, "accepted": 2, "share": round(2 / 3, 4)}


def test_redelivered_events_change_nothing(deps):
    events = [ev.accepted("A"), ev.decided("A"), ev.rated("A", 2, rectification=True)]
    for event in events:
        project(deps, [event])
    before = statistics_report(deps, "2031-03", None)
    for event in events * 3:
        project(deps, [event])
    project(deps, events * 2)  # a batch redelivered, even with a record twice
    assert statistics_report(deps, "2031-03", None) == before


def test_an_event_is_counted_in_its_month_on_chinas_clock(deps):
    project(deps, [ev.accepted("A", APRIL_1ST_IN_CHINA)])
    assert statistics_report(deps, "2031-03", None)["cases"]["accepted"] == 0
    assert statistics_report(deps, "2031-04", None)["cases"]["accepted"] == 1
    assert statistics_report(deps, "all", None)["cases"]["accepted"] == 1


def test_open_rectifications_in_a_month_report_count_those_opened_earlier(deps):
    project(deps, [ev.rated("A", 1, datetime(2031, 1, 5, tzinfo=UTC), rectification=True)])
    project(deps, [ev.rated("A", 2, datetime(2031, 1, 6, tzinfo=UTC), rectification=True)])
    project(deps, [ev.rectification_closed("A")])  # in March
    march = statistics_report(deps, "2031-03", "A")
    assert march["rectifications"] == {"opened": 0, "closed": 1, "closed_on_time": 1, "open": 1}


def test_an_unreadable_event_is_logged_and_left_out_without_failing_the_stream(deps, caplog):
    broken = ev.case_event("onetrip.case.decided", "A", outcome="approved")  # no clock, rounds or visits
    project(deps, [broken])  # does not raise: the departments' webhooks are dispatched after projections
    assert deps.store.list_statistics("2031-03") == []
    [record] = [r for r in caplog.records if r.getMessage() == "stats_event_unreadable"]
    assert record.event_id == broken.id and "working_days_used" in record.reason


def test_the_report_defaults_to_this_month_and_checks_its_query(deps):
    project(deps, [ev.accepted("A")])
    assert statistics_report(deps, None, None)["period"] == "2031-03"
    with pytest.raises(ValidationFailed):
        statistics_report(deps, "March", None)


def test_an_item_with_no_cases_is_reported_empty_and_an_unknown_item_is_not_found(deps):
    deps.store.put_item(single_item(version=1))
    project(deps, [ev.accepted("A")])
    report = statistics_report(deps, "2031-03", "T-SINGLE")
    assert report["cases"]["accepted"] == 0 and report["volume"]["item_rank"] is None
    with pytest.raises(NotFound):
        statistics_report(deps, "2031-03", "NO-SUCH-ITEM")


def test_each_sla_breach_is_one_emf_count_even_when_redelivered(deps, monkeypatch, capsys):
    metrics.flush()  # Powertools keeps unflushed metrics per process: what earlier tests counted goes out now
    capsys.readouterr()
    monkeypatch.setattr(metrics, "_metrics", None)
    breach = ev.breached("A")
    project(deps, [breach])
    project(deps, [breach])
    project(deps, [ev.breached("B")])
    metrics.flush()
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert record["SlaBreaches"] == [1.0, 1.0]
    assert statistics_report(deps, "2031-03", None)["timeliness"]["deadline_breaches"] == 2
