"""`make bench`: run every benchmark, print one table, write bench/results/*.json.

    python -m bench                      # everything (≈ 6 minutes on 2 cores)
    python -m bench --only cold_start,scale
    python -m bench --quick              # fewer runs and journeys: a check that it all still works

Another issue's benchmark joins by adding a module to BENCHES with `run(quick) -> dict`,
`table(result) -> str` and `rows(result) -> list[Row]` (its lines in the summary table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    bundle,
    cases_simulation,
    catalogue,
    cold_start,
    cost,
    delivery,
    journey,
    once_only,
    scale,
    throughput,
    verification,
)

RESULTS = Path(__file__).resolve().parent / "results"

Row = tuple[str, str, str, str, str]  # area, metric, measured, baseline or goal, verdict


def _ok(flag: bool) -> str:
    return "ok" if flag else "ABOVE GOAL"


# -- each benchmark: how to run it and its lines in the summary table ------------------------------------
def run_cold_start(quick: bool) -> dict[str, Any]:
    return cold_start.run(runs=3 if quick else cold_start.RUNS)


def rows_cold_start(r: dict[str, Any]) -> list[Row]:
    s = r["subjects"]
    ours, floor, floor_aws = s["openapi (no AWS)"], s["floor: GET / (no AWS)"], s["floor: first DynamoDB GetItem"]
    out: list[Row] = [
        ("cold start", "import app.py (ms)", f"{ours['import_ms']}", f"floor {floor['import_ms']}; ratio "
         f"{r['ratio_import']} ≤ {r['goal_ratio']}", _ok(r["ratio_import"] <= r["goal_ratio"])),
        ("cold start", "import + 1st DynamoDB-backed API response (ms)",
         f"{r['cold_total_ms']['onetrip API (GetItem)']}", f"floor {r['cold_total_ms']['floor (GetItem)']}; ratio "
         f"{r['ratio_cold_total']} ≤ {r['goal_ratio']}", _ok(r["ratio_cold_total"] <= r["goal_ratio"])),
        ("cold start", "the same in CPU time (ms; steadier on a shared machine)",
         f"{r['cold_total_cpu_ms']['onetrip API (GetItem)']}", f"floor {r['cold_total_cpu_ms']['floor (GetItem)']}; "
         f"ratio {r['ratio_cold_total_cpu']} ≤ {r['goal_ratio']}", _ok(r["ratio_cold_total_cpu"] <= r["goal_ratio"])),
        ("cold start", "peak RSS after import + 1st response (MiB)", f"{ours['peak_rss_mib']}",
         f"floor {floor['peak_rss_mib']}; ratio {r['ratio_peak_rss']}", ""),
    ]
    for name in cold_start.OURS[1:]:
        row = s[name]
        out.append(("cold start", f"1st response {name} (ms; AWS calls)", f"{row['first_response_ms']} "
                    f"({row['aws_calls']} calls, {row['aws_ms']} in them)",
                    f"floor 1st GetItem {floor_aws['first_response_ms']}", ""))
    for name, same in r.get("same_clients", {}).items():
        out.append(("cold start", f"{name}: import + 1st response − AWS time (ms)", f"{same['ours_ms']}",
                    f"floor with the same clients ({same['services']}) {same['floor_ms']}; ratio {same['ratio']}",
                    ""))
    return out


def run_bundle(quick: bool) -> dict[str, Any]:
    return bundle.run(runs=3 if quick else bundle.RUNS)


def rows_bundle(r: dict[str, Any]) -> list[Row]:
    m = r["import_ms_median"]
    return [("cold start", "import app.py from the deployment package, read-only (ms)", f"{m['with bytecode']}",
             f"sources only (chalice's package) {m['sources only']}; ratio {r['ratio_bytecode_to_sources']}", "")]


def run_journey(quick: bool) -> dict[str, Any]:
    return journey.run(repeats=1 if quick else 2, profile=not quick)


def rows_journey(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for code, j in r["journeys"].items():
        out.append(("AWS requests", f"per journey {code} (N={j['uploads_n']}, k={j['departments_k']})",
                    f"{j['aws_requests']}", f"minimum {j['minimum']}; ratio {j['ratio']} ≤ {r['goal_ratio']}",
                    _ok(j["ratio"] <= r["goal_ratio"])))
    main = r["journeys"][journey.JOURNEYS[0]]
    per = ", ".join(f"{f} {v['calls_per_invocation']}" for f, v in main["functions"].items()
                    if f in ("verify_material", "dispatch", "deliver", "authorizer"))
    api = [v for f, v in main["functions"].items() if f.startswith("api ")]
    api_mean = sum(v["aws_calls"] for v in api) / max(1, sum(v["invocations"] for v in api))
    out.append(("AWS requests", "per function invocation", f"API {api_mean:.2f}, {per}", "", ""))
    out.append(("AWS requests", "Lambda invocations per journey", f"{main['lambda_invocations']}",
                f"of which dispatch {main['functions'].get('dispatch', {}).get('invocations', 0)}, "
                f"authorizer {main['functions'].get('authorizer', {}).get('invocations', 0)}", ""))
    return out


def run_cost(results: dict[str, Any]) -> dict[str, Any]:
    return cost.run(results["journey"]["journeys"], journey.JOURNEYS[0])


def rows_cost(r: dict[str, Any]) -> list[Row]:
    est = r["items"][r["main_item"]]["estimates"]
    out: list[Row] = []
    for key in ("us-east-1 x86", "us-east-1 arm64"):
        value = est[key]["per_1000_cases"]
        out.append(("cost", f"per 1,000 cases, {key}, {r['memory_mb']} MB (US$)", f"{value:.4f}",
                    f"≤ {r['goal_usd_per_1000']}", _ok(value <= r["goal_usd_per_1000"])))
    top = sorted(est["us-east-1 arm64"]["known_lines_per_1000"].items(), key=lambda kv: -(kv[1] or 0))[:3]
    out.append(("cost", "largest lines (US$ per 1,000)", ", ".join(f"{k} {v:.4f}" for k, v in top), "", ""))
    both = r["levers_us_east_1_arm64"][-1]
    out.append(("cost", "with the known levers that keep REST (US$)", f"{both['per_1000']:.4f}",
                f"≤ {r['goal_usd_per_1000']}", _ok(both["per_1000"] <= r["goal_usd_per_1000"])))
    floor = r["floors_us_east_1_arm64"]
    out.append(("cost", "floor of this design: every item < 1 KB, no index copy, authorizer cached (US$)",
                f"{floor['this_design']:.4f}", f"with no table write at all {floor['without_table_writes']:.4f}",
                ""))
    cn = est["cn-north-1 x86"]["known_lines_per_1000"]
    out.append(("cost", "cn-north-1 (CNY per 1,000)", "total unknown: only " + ", ".join(
        f"{k} ¥{v:.4f}" for k, v in cn.items() if v is not None) + " published", "", ""))
    return out


def run_throughput(quick: bool) -> dict[str, Any]:
    return throughput.run(((1, 1), (4, 4)) if quick else throughput.LEVELS)


def rows_throughput(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for level in r["levels"]:
        j = level["steps_ms"].get("journey", {"p50": "-", "p99": "-"})
        out.append(("throughput", f"{level['clients']} clients: journeys/s (journey p50/p99 ms)",
                    f"{level['journeys_per_second']} ({j['p50']}/{j['p99']})",
                    f"{level['completed']} journeys, errors {level['errors']} (zero required)"
                    + (f", {level['poll_connection_resets']} poll resets retried"
                       if level.get("poll_connection_resets") else ""),
                    "ok" if level["errors"] == 0 else "ERRORS"))
    share = r["cpu_share"]
    ours = sum(v for k, v in share.items() if k in ("api", "pump"))
    out.append(("throughput", "CPU share moto / ours (API + pump)", f"{share.get('moto', 0):.0%} / {ours:.0%}",
                f"receivers {share.get('receivers', 0):.0%}, clients {share.get('bench clients', 0):.0%}", ""))
    return out


def run_scale(quick: bool) -> dict[str, Any]:
    return scale.run(sizes=(1_000, 100_000) if quick else scale.SIZES,
                     moto_sizes=(500,) if quick else scale.MOTO_SIZES)


def rows_scale(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for query in ("my applications", "department inbox"):
        rows = [x for x in r["generated"] if x["query"] == query]
        cells = "; ".join(f"{x['items_in_partition']:,}: {x['middle_page']['requests']} req, "
                          f"{x['middle_page']['items_read']} items" for x in rows)
        per_page = scale.requests_per_page(query)  # one Query, or one per shard of a sharded list
        flat = all(x["middle_page"]["requests"] == per_page
                   and x["middle_page"]["items_read"] <= per_page * (r["page_size"] + 1) for x in rows)
        out.append(("query scale", f"{query}: one page of {r['page_size']}", cells, "flat", _ok(flat)))
    return out


def run_verification(quick: bool) -> dict[str, Any]:
    return verification.run()


def rows_verification(r: dict[str, Any]) -> list[Row]:
    pdf, photo = r["summary"]["pdf"], r["summary"]["photo"]
    expected = sum(1 for row in r["hostile_corpus"] if row["as_expected"])
    return [
        ("verification", "hostile corpus: files with the expected verdict", f"{expected}/{len(r['hostile_corpus'])}",
         "all", _ok(r["all_as_expected"])),
        ("verification", "throughput: scanned PDFs 1–20 pages", f"{pdf['mb_per_s']} MB/s, {pdf['files_per_s']} files/s",
         "", ""),
        ("verification", "throughput: photos 3–12 MP", f"{photo['mb_per_s']} MB/s, {photo['files_per_s']} files/s",
         "", ""),
    ]


def run_catalogue(quick: bool) -> dict[str, Any]:
    return catalogue.run()


def rows_catalogue(r: dict[str, Any]) -> list[Row]:
    lint, check, cold = r["lint"], r["checklist"], r["cold_load"]
    worst = max(check["per_application_us"].values())
    return [
        ("catalogue", "lint of 1,207 items (ms)", f"{lint['median_ms']}", "< 1000", _ok(lint["median_ms"] < 1000)),
        ("catalogue", "checklist per application (µs, slowest item)", f"{worst}", "< 1000", _ok(worst < 1000)),
        ("catalogue", "cold load of the published catalogue (ms)", f"{cold['load_ms']}",
         f"{cold['items']} items, {cold['queries']} Queries", ""),
    ]


def run_delivery(quick: bool) -> dict[str, Any]:
    return delivery.run(messages=110 if quick else 510, cases=5 if quick else 20)


def rows_delivery(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = [("delivery", f"deliveries/s, one deliver batch, {row['store']} store",
                       f"{row['deliveries_per_second']}", "≥ 200" + (
                           f" (moto's ceiling: {row['moto_bound_deliveries_per_second']} at 3 requests each)"
                           if "moto_bound_deliveries_per_second" in row else ""),
                       _ok(row["deliveries_per_second"] >= 200))
                      for row in r["throughput"]]
    lat = r["acceptance_to_webhook"]
    out.append(("delivery", "acceptance → webhook on the local stack (ms)",
                f"p50 {lat['p50_ms']}, p99 {lat['p99_ms']}", f"{lat['cases']} cases", ""))
    return out


def run_once_only(quick: bool) -> dict[str, Any]:
    return once_only.run()


def rows_once_only(r: dict[str, Any]) -> list[Row]:
    t = r["total"]
    return [("once-only", "materials obtained without an upload (life-event simulation)",
             f"{r['without_upload']}/{r['materials']} ({r['share_without_upload']:.1%})",
             f"vault {t['vault']}, e-certificate {t['e_certificate']}, department {t['department']}", "")]


def run_cases_simulation(quick: bool) -> dict[str, Any]:
    return cases_simulation.run(cases_simulation.QUICK_APPLICATIONS if quick else cases_simulation.APPLICATIONS)


def rows_cases_simulation(r: dict[str, Any]) -> list[Row]:
    f = r["first_response"]
    rounds = ", ".join(f"{k}: {v}" for k, v in r["supplement_rounds"].items())
    visits = ", ".join(f"{k}: {v}" for k, v in r["visits"].items())
    return [
        ("cases", f"{r['applications']:,} simulated applications (wall s; applications/s)",
         f"{r['seconds']} ({r['applications_per_second']}/s)", f"CPU {r['cpu_seconds']} s, {r['shards']} shard(s)",
         "ok" if r["invariants"]["holds"] else "INVARIANTS VIOLATED"),
        ("cases", "problems told in the first response", f"{f['share_told_first']:.1%}",
         f"{f['problems_found_later']} found later of {f['problems_told_first'] + f['problems_found_later']}", ""),
        ("cases", "supplement rounds per case", rounds, "", ""),
        ("cases", "visits per case; one-trip rate (≤ 1)", f"{visits}; {r['one_trip_rate']:.1%}", "", ""),
        ("cases", "on time; working days used vs committed",
         f"{r['on_time_rate']:.1%}; {r['working_days_mean']} vs {r['committed_days_mean']}", "", ""),
    ]


BENCHES: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str],
                         Callable[[dict[str, Any]], list[Row]]]] = {
    "cold_start": (run_cold_start, cold_start.table, rows_cold_start),
    "bundle": (run_bundle, bundle.table, rows_bundle),
    "journey": (run_journey, journey.table, rows_journey),
    "cost": (run_cost, cost.table, rows_cost),  # needs "journey"
    "throughput": (run_throughput, throughput.table, rows_throughput),
    "scale": (run_scale, scale.table, rows_scale),
    "verification": (run_verification, verification.table, rows_verification),
    "catalogue": (run_catalogue, catalogue.table, rows_catalogue),
    "delivery": (run_delivery, delivery.table, rows_delivery),
    "once_only": (run_once_only, once_only.table, rows_once_only),
    "cases_simulation": (run_cases_simulation, cases_simulation.table, rows_cases_simulation),
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {system}, Python {sys.version.split()[0]}"


def summary_table(rows: list[Row]) -> str:
    widths = [max(len(r[i]) for r in [("area", "metric", "measured", "baseline / goal", ""), *rows]) for i in range(5)]
    widths = [min(w, 72) for w in widths]
    header = ("area", "metric", "measured", "baseline / goal", "")
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated: " + ",".join(BENCHES))
    parser.add_argument("--quick", action="store_true", help="fewer runs and journeys (a smoke run)")
    parser.add_argument("--details", action="store_true", help="also print each benchmark's own table")
    args = parser.parse_args(argv)
    wanted = [n for n in (args.only.split(",") if args.only else BENCHES) if n]
    if "cost" in wanted and "journey" not in wanted:
        wanted.insert(wanted.index("cost"), "journey")
    RESULTS.mkdir(exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    rows: list[Row] = []
    for name in wanted:
        run, _table, to_rows = BENCHES[name]
        t0 = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        results[name] = run(results) if name == "cost" else run(args.quick)
        results[name]["bench_seconds"] = round(time.perf_counter() - t0, 1)
        (RESULTS / f"{name}.json").write_text(json.dumps(results[name], indent=2, ensure_ascii=False, default=str))
        rows += to_rows(results[name])
    table = summary_table(rows)
    seconds = round(time.perf_counter() - started, 1)
    header = (f"OneTrip benchmarks — {time.strftime('%Y-%m-%d %H:%M %Z')}, {machine()}; "
              f"`make bench`{' --quick' if args.quick else ''} took {seconds} s")
    print(header)
    print(table)
    if args.details:
        for name in wanted:
            print()
            print(BENCHES[name][1](results[name]))
    (RESULTS / "summary.json").write_text(json.dumps(
        {"header": header, "rows": rows, "table": table, "seconds": seconds, "quick": args.quick,
         "sections": {n: round(results[n]["bench_seconds"], 1) for n in wanted}}, indent=2, ensure_ascii=False))
    print(f"\nwritten: {', '.join(str(RESULTS / f'{n}.json') for n in wanted)}, {RESULTS / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
