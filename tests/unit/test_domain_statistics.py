"""The statistics rules: what each case event adds, and the report's rates, averages and top-20 share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.statistics import (
    ALL_TIME,
    COUNTERS,
    ItemAggregate,
    UnreadableEvent,
    build_report,
    contribution,
    event_month,
    parse_query,
    top_items,
)
from tests import statistics_samples as ev


def deltas_of(event):
    part = contribution(event.type, event.occurred_at, event.data)
    assert part is not None
    return part.deltas


def agg(code: str, period: str = "2031-03", **counters: int) -> ItemAggregate:
    assert set(counters) <= set(COUNTERS)
    return ItemAggregate(period, code, counters)


# -- contributions -----------------------------------------------------------------------------------
def test_an_accepted_case_adds_one_to_its_items_volume_in_its_month():
    event = ev.accepted("YQ-AMR-0001")
    part = contribution(event.type, event.occurred_at, event.data)
    assert (part.item_code, part.month, part.deltas) == ("YQ-AMR-0001", "2031-03", {"accepted": 1})


def test_a_decided_case_adds_its_clock_rounds_and_visits():
    assert deltas_of(ev.decided("A", working_days=4, committed=5, on_time=True, rounds=1, visits=1)) == {
        "decided": 1, "approved": 1, "on_time": 1, "working_days_sum": 4, "committed_days_sum": 5,
        "supplement_rounds_sum": 1, "rounds_1": 1, "one_trip": 1, "visits_sum": 1}


def test_a_late_case_with_two_visits_is_neither_on_time_nor_one_trip():
    deltas = deltas_of(ev.decided("A", working_days=7, on_time=False, rounds=2, visits=2, outcome="rejected"))
    assert "on_time" not in deltas and "one_trip" not in deltas
    assert deltas["rejected"] == 1 and deltas["rounds_2"] == 1 and deltas["visits_sum"] == 2


@pytest.mark.parametrize(("rounds", "bucket"), [(0, "rounds_0"), (2, "rounds_2"), (3, "rounds_3_plus"),
                                                (7, "rounds_3_plus")])
def test_supplement_rounds_fall_in_the_buckets_0_1_2_and_3_or_more(rounds, bucket):
    deltas = deltas_of(ev.decided("A", rounds=rounds))
    assert [k for k in deltas if k.startswith("rounds_")] == [bucket]
    assert deltas.get("supplement_rounds_sum", 0) == rounds


def test_a_case_decided_without_any_visit_counts_as_one_trip():
    assert deltas_of(ev.decided("A", visits=0))["one_trip"] == 1


def test_a_rating_counts_its_level_and_a_rectification_only_when_one_was_opened():
    assert deltas_of(ev.rated("A", 5)) == {"ratings": 1, "rating_sum": 5, "rating_5": 1}
    assert deltas_of(ev.rated("A", 2, rectification=True)) == {
        "ratings": 1, "rating_sum": 2, "rating_2": 1, "rectifications_opened": 1}


def test_withdrawals_closed_rectifications_and_breaches_are_counted():
    assert deltas_of(ev.withdrawn("A")) == {"withdrawn": 1}
    assert deltas_of(ev.rectification_closed("A", on_time=False)) == {"rectifications_closed": 1}
    assert deltas_of(ev.breached("A")) == {"deadline_breaches": 1}


def test_events_the_statistics_do_not_count_contribute_nothing():
    event = ev.case_event("onetrip.task.assigned", "A", task_id="task_1", department="yq-amr")
    assert contribution(event.type, event.occurred_at, event.data) is None


def test_an_event_missing_what_the_statistics_need_is_unreadable_naming_fields_not_values():
    event = ev.case_event("onetrip.case.rated", "A", level=9, comment="电话 13800138000")
    with pytest.raises(UnreadableEvent) as caught:
        contribution(event.type, event.occurred_at, event.data)
    assert "level" in str(caught.value) and "9" not in str(caught.value) and "138" not in str(caught.value)


def test_the_month_is_chinas_calendar_month_not_utcs():
    assert event_month("2031-03-31T20:00:00.000+00:00") == "2031-04"
    assert event_month("2031-03-31T15:59:59.999+00:00") == "2031-03"
    assert event_month("2031-03-31T20:00:00") == "2031-04"  # a naive time is UTC


# -- the query ---------------------------------------------------------------------------------------
def test_the_default_period_is_this_month_in_china():
    assert parse_query(None, None, datetime(2031, 12, 31, 17, 0, tzinfo=UTC)) == ("2032-01", None)
    assert parse_query("all", "YQ-AMR-0001", datetime(2031, 1, 1, tzinfo=UTC)) == (ALL_TIME, "YQ-AMR-0001")


def test_a_bad_month_and_a_bad_item_code_are_reported_together():
    with pytest.raises(ValidationFailed) as caught:
        parse_query("2031-13", "../x", datetime(2031, 1, 1, tzinfo=UTC))
    assert [p.code for p in caught.value.problems] == ["month_invalid", "item_code_invalid"]


# -- the report --------------------------------------------------------------------------------------
def test_rates_and_averages_are_computed_over_decided_cases():
    items = [agg("A", accepted=10, decided=8, on_time=6, working_days_sum=24, committed_days_sum=40,
                 supplement_rounds_sum=6, rounds_0=4, rounds_1=2, rounds_2=1, rounds_3_plus=1, one_trip=7,
                 visits_sum=9, withdrawn=1),
             agg("B", accepted=5, decided=2, on_time=2, working_days_sum=6, committed_days_sum=10, rounds_0=2,
                 one_trip=2, visits_sum=2)]
    report = build_report("2031-03", items, [])
    assert report["cases"]["accepted"] == 15 and report["cases"]["decided"] == 10
    assert report["cases"]["withdrawn"] == 1
    t = report["timeliness"]
    assert (t["on_time_rate"], t["average_working_days"], t["average_committed_days"]) == (0.8, 3.0, 5.0)
    assert t["working_to_committed"] == 0.6
    assert report["supplements"] == {"average_rounds": 0.6, "rounds": {"0": 6, "1": 2, "2": 1, "3+": 1}}
    assert report["visits"]["one_trip_rate"] == 0.9 and report["visits"]["average_visits"] == 1.1


def test_satisfaction_and_open_rectifications_which_are_a_stock_since_the_start():
    month = [agg("A", ratings=4, rating_sum=14, rating_5=2, rating_4=1, rating_2=1, rectifications_opened=1)]
    all_time = [agg("A", ALL_TIME, rectifications_opened=3, rectifications_closed=1),
                agg("B", ALL_TIME, rectifications_opened=1, rectifications_closed=1)]
    report = build_report("2031-03", month, all_time)
    s = report["satisfaction"]
    assert (s["ratings"], s["average_level"], s["satisfied_rate"]) == (4, 3.5, 0.75)
    assert s["levels"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert report["rectifications"] == {"opened": 1, "closed": 0, "closed_on_time": 0, "open": 2}


def test_the_top_20_share_is_the_share_of_all_cases_in_the_20_busiest_items():
    # 25 items: item i has i cases (1..25); the top 20 are 6..25 = 310 of 325 cases.
    items = [agg(f"I-{i:02d}", accepted=i) for i in range(1, 26)]
    report = build_report("2031-03", items, [])
    volume = report["volume"]
    assert volume["accepted"] == 325 and volume["items_with_cases"] == 25
    assert volume["top_share"] == round(310 / 325, 4)
    assert [t["item_code"] for t in volume["top_items"]] == [f"I-{i:02d}" for i in range(25, 5, -1)]
    assert volume["top_items"][0] == {"item_code": "I-25", "accepted": 25, "share": round(25 / 325, 4)}


def test_with_fewer_than_20_items_the_top_share_is_everything():
    assert build_report("2031-03", [agg("A", accepted=3), agg("B", accepted=1)], [])["volume"]["top_share"] == 1.0


def test_ties_in_volume_rank_by_item_code_and_items_without_cases_are_not_ranked():
    items = [agg("B", accepted=2), agg("A", accepted=2), agg("C", withdrawn=1)]
    assert top_items(items) == [("A", 2), ("B", 2)]


def test_one_items_report_has_its_own_figures_rank_and_share():
    items = [agg("A", accepted=6, decided=2, on_time=1), agg("B", accepted=2, decided=2, on_time=2)]
    all_time = [agg("B", ALL_TIME, rectifications_opened=2), agg("A", ALL_TIME, rectifications_opened=5)]
    report = build_report("2031-03", items, all_time, "B")
    assert report["item_code"] == "B"
    assert report["cases"]["accepted"] == 2 and report["timeliness"]["on_time_rate"] == 1.0
    assert report["rectifications"]["open"] == 2
    assert {k: report["volume"][k] for k in ("item_accepted", "item_rank", "item_share", "accepted")} == {
        "item_accepted": 2, "item_rank": 2, "item_share": 0.25, "accepted": 8}


def test_an_empty_period_has_no_rates_rather_than_zero_rates():
    report = build_report("2031-03", [], [])
    assert report["volume"]["top_share"] is None and report["timeliness"]["on_time_rate"] is None
    assert report["satisfaction"]["average_level"] is None and report["cases"]["accepted"] == 0
