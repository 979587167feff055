"""`onetrip stats`: the statistics of cases through the admin API, as a table.

    onetrip stats                          # this month (China Standard Time), every item
    onetrip stats --month 2026-11 --item YQ-AMR-0001
    onetrip stats --month all --json       # since the start, the API's JSON as it is
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from infra.onetrip.admin_api import add_api_arguments, call


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("stats", help="statistics of cases: volume, top-20 share, on-time and one-trip rates, "
                                          "satisfaction (admin API)")
    parser.add_argument("--month", help="YYYY-MM, or all (default: this month)")
    parser.add_argument("--item", help="one item code (default: every item)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    add_api_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    status, answer = call(args, "GET", "/v1/admin/stats", params={"month": args.month, "item_code": args.item})
    if status >= 400 or args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        if status >= 400:
            print(f"HTTP {status}", file=sys.stderr)
            return 1
        return 0
    print(render(answer))
    return 0


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _table(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [(" " * (w - _width(c)) + c) if i in right else (c + " " * (w - _width(c)))
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def render(report: dict[str, Any]) -> str:
    scope = report["item_code"] or "all items / 全部事项"
    period = "since the start / 累计" if report["period"] == "all" else report["period"]
    c, t, s, v = report["cases"], report["timeliness"], report["supplements"], report["visits"]
    sat, rect, vol = report["satisfaction"], report["rectifications"], report["volume"]
    rounds = s["rounds"]
    rows = [
        ("受理 accepted", str(c["accepted"]), ""),
        ("不予受理 refused", str(c["refused"]), ""),
        ("撤回 withdrawn", str(c["withdrawn"]), ""),
        ("办结 decided", str(c["decided"]), f"approved {c['approved']}, rejected {c['rejected']}"),
        ("按时办结率 on time", _pct(t["on_time_rate"]), f"{t['on_time']} of {c['decided']}"),
        ("平均用时 working days", _num(t["average_working_days"]),
         f"committed {_num(t['average_committed_days'])}, used/committed {_pct(t['working_to_committed'])}"),
        ("超期 deadline breaches", str(t["deadline_breaches"]), ""),
        ("补正轮次 supplement rounds", _num(s["average_rounds"]),
         f"0: {rounds['0']}  1: {rounds['1']}  2: {rounds['2']}  3+: {rounds['3+']}"),
        ("最多跑一次 one trip", _pct(v["one_trip_rate"]), f"{v['one_trip']} of {c['decided']} with ≤ 1 visit"),
        ("满意度 satisfaction", _num(sat["average_level"]),
         f"{sat['ratings']} ratings, satisfied {_pct(sat['satisfied_rate'])}, "
         + " ".join(f"{lv}★{n}" for lv, n in sat["levels"].items())),
        ("整改 rectifications open", str(rect["open"]),
         f"opened {rect['opened']}, closed {rect['closed']} ({rect['closed_on_time']} on time) in the period"),
    ]
    if report["item_code"]:
        rank = vol.get("item_rank")
        rows.append(("占比 share of all cases", _pct(vol.get("item_share")),
                     f"rank {rank} of {vol['items_with_cases']}" if rank else "no cases in the period"))
    out = [f"OneTrip statistics — {scope}, {period}", "", *_table(rows, right=(1,)), ""]
    out.append(f"Top {len(vol['top_items'])} items by volume: {_pct(vol['top_share'])} of {vol['accepted']} cases "
               f"({vol['items_with_cases']} items with cases)")
    if vol["top_items"]:
        top = [("#", "item", "accepted", "share")] + [
            (str(i), t["item_code"], str(t["accepted"]), _pct(t["share"])) for i, t in enumerate(vol["top_items"], 1)]
        out.extend(_table(top, right=(0, 2, 3)))
    return "\n".join(out)
