"""`onetrip stats` prints the report as a table a terminal aligns (CJK labels take two columns)."""

from __future__ import annotations

from chalicelib.domain.statistics import ItemAggregate, build_report
from infra.onetrip.stats_cli import _table, _width, render

ITEMS = [ItemAggregate("2026-11", "YQ-AMR-0001", {"accepted": 12, "decided": 10, "on_time": 9, "working_days_sum": 31,
                                                  "committed_days_sum": 50, "rounds_0": 7, "rounds_1": 2,
                                                  "rounds_3_plus": 1, "supplement_rounds_sum": 5, "one_trip": 9,
                                                  "ratings": 4, "rating_sum": 17, "rating_5": 2, "rating_4": 1,
                                                  "rating_3": 1}),
         ItemAggregate("2026-11", "YQ-RE-0010", {"accepted": 4})]


def test_the_table_shows_every_figure_of_the_report():
    text = render(build_report("2026-11", ITEMS, []))
    for expected in ("all items / 全部事项, 2026-11", "受理 accepted", "90.0%", "9 of 10 with ≤ 1 visit",
                     "0: 7  1: 2  2: 0  3+: 1", "4.25", "satisfied 75.0%", "used/committed 62.0%",
                     "Top 2 items by volume: 100.0% of 16 cases"):
        assert expected in text, expected
    assert [line.split()[:3] for line in text.splitlines()[-2:]] == [["1", "YQ-AMR-0001", "12"],
                                                                     ["2", "YQ-RE-0010", "4"]]


def test_values_line_up_whatever_the_width_of_the_chinese_labels():
    rows = [("受理 accepted", "17", "a"), ("按时办结率 on time", "90.0%", "b"), ("x", "3", "c")]
    lines = _table(rows, right=(1,))
    value_ends = {_width(line[: line.index(v) + len(v)]) for line, (_, v, _) in zip(lines, rows, strict=True)}
    assert len(value_ends) == 1, lines
    assert len({len(line[: line.index(v) + len(v)]) for line, (_, v, _) in zip(lines, rows, strict=True)}) > 1


def test_a_rate_over_nothing_is_a_dash_not_zero():
    text = render(build_report("all", ITEMS, ITEMS, "YQ-RE-0010"))
    assert "YQ-RE-0010, since the start" in text and "rank 2 of 2" in text
    on_time = next(line for line in text.splitlines() if "on time" in line)
    assert "—" in on_time and "0.0%" not in on_time
