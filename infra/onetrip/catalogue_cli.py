"""`onetrip catalogue …` and `onetrip calendar …`: the catalogue's admin commands.

    onetrip catalogue lint PATH [--departments F] [--provincial F]   exit 1 on any finding, 2 on malformed files
    onetrip catalogue import PATH                                    save as drafts (local stack)
    onetrip catalogue publish CODE… | --all [--provincial F]         only with a clean lint
    onetrip catalogue diff CODE                                      materials added/removed/changed + impact
    onetrip catalogue reconcile PROVINCIAL_PATH [--catalogue PATH]   province ↔ city report
    onetrip catalogue export [--out DIR]                             the published catalogue as YAML
    onetrip catalogue schema                                         JSON Schema of an item
    onetrip catalogue generate --count 1207 --out DIR                a synthetic catalogue for scale tests
    onetrip calendar import FILE | show YEAR                         the working-day override (调休)

Lint findings print one per line: `ITEM_CODE RULE_ID path: 中文说明 | English message`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from chalicelib.domain import calendar as working_days
from chalicelib.domain.catalogue import json_schema
from chalicelib.domain.catalogue_lint import LintContext, lint
from chalicelib.domain.errors import OneTripError
from chalicelib.domain.reconciliation import reconcile
from infra.onetrip import catalogue_files as files


def add_parsers(sub: Any) -> None:
    cat = sub.add_parser("catalogue", help="lint, import, publish, diff, reconcile and export the catalogue")
    cat.add_argument("--project-root", type=Path, default=None, help=argparse.SUPPRESS)
    csub = cat.add_subparsers(dest="catalogue_command", required=True)
    p = csub.add_parser("lint", help="check catalogue files against the standardization rules")
    p.add_argument("path", type=Path)
    p.add_argument("--departments", type=Path, default=files.DEPARTMENTS_FILE)
    p.add_argument("--provincial", type=Path, default=files.PROVINCIAL_SAMPLE)
    p.set_defaults(handler=cmd_lint)
    p = csub.add_parser("import", help="save catalogue files as drafts")
    p.add_argument("path", type=Path)
    p.set_defaults(handler=cmd_import)
    p = csub.add_parser("publish", help="publish drafts (refused unless the lint is clean)")
    p.add_argument("codes", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--provincial", type=Path, default=files.PROVINCIAL_SAMPLE)
    p.set_defaults(handler=cmd_publish)
    p = csub.add_parser("diff", help="what a draft (or the latest version) changes, and how many cases it affects")
    p.add_argument("code")
    p.set_defaults(handler=cmd_diff)
    p = csub.add_parser("reconcile", help="reconcile the local catalogue with a provincial catalogue")
    p.add_argument("provincial", type=Path)
    p.add_argument("--catalogue", type=Path, default=None, help="catalogue files (default: the published catalogue)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reconcile)
    p = csub.add_parser("export", help="write the published catalogue as YAML (one file per item)")
    p.add_argument("--out", type=Path, default=None, help="directory (default: one bundle on stdout)")
    p.set_defaults(handler=cmd_export)
    p = csub.add_parser("schema", help="print the JSON Schema of a service item")
    p.set_defaults(handler=cmd_schema)
    p = csub.add_parser("generate", help="write a synthetic catalogue for scale tests and benchmarks")
    p.add_argument("--count", type=int, default=1207)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(handler=cmd_generate)

    cal = sub.add_parser("calendar", help="the working-day calendar's admin-imported override")
    csub = cal.add_subparsers(dest="calendar_command", required=True)
    p = csub.add_parser("import", help="import one year's official holiday schedule (YAML or JSON)")
    p.add_argument("path", type=Path)
    p.add_argument("--overrides", type=Path, default=working_days.OVERRIDES_PATH, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_calendar_import)
    p = csub.add_parser("show", help="working days and holidays of a year as the deadlines see them")
    p.add_argument("year", type=int)
    p.add_argument("--overrides", type=Path, default=working_days.OVERRIDES_PATH, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_calendar_show)


# --------------------------------------------------------------------------- files only

def _print_file_errors(exc: files.CatalogueFileError, err: TextIO) -> int:
    print(f"{len(exc.errors)} error(s) in the catalogue files:", file=err)
    for e in exc.errors:
        print(e.line(), file=err)
    return 2


def cmd_lint(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        items = files.load_items(args.path)
        departments = files.department_codes(files.load_departments(args.departments))
        provincial = frozenset(p.base_code for p in files.load_provincial(args.provincial))
    except files.CatalogueFileError as exc:
        return _print_file_errors(exc, err)
    findings = lint(items, LintContext(departments, provincial))
    for f in findings:
        print(f.line(), file=out)
    print(f"{len(items)} items, {len(findings)} findings", file=err)
    return 1 if findings else 0


def cmd_schema(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    print(json.dumps(json_schema(), ensure_ascii=False, indent=2), file=out)
    return 0


def cmd_generate(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from infra.onetrip.catalogue_generator import write_catalogue

    written = write_catalogue(args.out, args.count)
    print(f"{args.count} items in {len(written)} files under {args.out}", file=out)
    return 0


# --------------------------------------------------------------------------- against the store

def _store(args: argparse.Namespace) -> Any:
    """The table of the running local stack (deployed stages: the deployment commands' credentials)."""
    from chalicelib.adapters.dynamodb import DynamoStore
    from infra.onetrip.moto_stack import client
    from infra.onetrip.stack import PROJECT_ROOT, read_state

    state = read_state(args.project_root or PROJECT_ROOT)
    outputs = state["outputs"]
    return DynamoStore(client("dynamodb", outputs["EndpointUrl"]), outputs["TableName"])


def _refused(exc: OneTripError, err: TextIO) -> int:
    print(f"{exc.code}: {exc.message_zh} | {exc.message_en}", file=err)
    for p in exc.problems:
        print(f"{(p.target or '').split('.', 1)[0]} {p.code} {(p.target or '').partition('.')[2]}: "
              f"{p.message_zh} | {p.message_en}", file=err)
    return 1


def cmd_import(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
               store: Any = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from chalicelib.services.catalogue import import_drafts

    try:
        items = files.load_items(args.path)
    except files.CatalogueFileError as exc:
        return _print_file_errors(exc, err)
    codes = import_drafts(store or _store(args), items)
    print(f"imported {len(codes)} drafts: {' '.join(codes)}", file=out)
    return 0


def cmd_publish(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
                store: Any = None, today: date | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from chalicelib.services.catalogue import publish_drafts

    if bool(args.codes) == bool(args.all):
        print("name the items to publish, or --all", file=err)
        return 2
    try:
        provincial = frozenset(p.base_code for p in files.load_provincial(args.provincial))
    except files.CatalogueFileError as exc:
        return _print_file_errors(exc, err)
    try:
        outcome = publish_drafts(store or _store(args), None if args.all else list(args.codes), provincial,
                                 today or datetime.now(UTC).date())
    except OneTripError as exc:
        return _refused(exc, err)
    for item, change in zip(outcome.published, outcome.diffs, strict=True):
        print(f"published {item.code} v{item.version} valid from {item.valid_from} hash {item.content_hash[:12]} "
              f"(+{len(change.materials_added)} -{len(change.materials_removed)} ~{len(change.materials_changed)} "
              f"materials)", file=out)
    for code in outcome.unchanged:
        print(f"unchanged {code}: same content as the published version", file=out)
    return 0


def cmd_diff(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None, store: Any = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from chalicelib.services.catalogue import diff_item

    try:
        report = diff_item(store or _store(args), args.code)
    except OneTripError as exc:
        return _refused(exc, err)
    d = report.diff
    pending = " (draft, not yet published)" if report.pending_draft else ""
    print(f"{d.code}: v{d.from_version or '-'} → v{d.to_version}{pending}", file=out)
    for code in d.materials_added:
        print(f"  + material {code}", file=out)
    for code in d.materials_removed:
        print(f"  - material {code}", file=out)
    for code, fields in d.materials_changed.items():
        print(f"  ~ material {code}: {', '.join(fields)}", file=out)
    if d.fields_changed:
        print(f"  ~ item fields: {', '.join(d.fields_changed)}", file=out)
    print(f"impact: {report.open_under_old} open applications and cases under v{d.from_version or '-'} "
          f"(judged by it for life)", file=out)
    return 0


def cmd_reconcile(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
                  store: Any = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        provincial = files.load_provincial(args.provincial)
        if args.catalogue is not None:
            local = files.load_items(args.catalogue)
        else:
            from chalicelib.services.catalogue import load_published

            local = load_published(store or _store(args))
    except files.CatalogueFileError as exc:
        return _print_file_errors(exc, err)
    report = reconcile(local, provincial)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        for line in report.lines():
            print(line, file=out)
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
               store: Any = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from chalicelib.services.catalogue import load_published

    items = load_published(store or _store(args))
    if args.out is None:
        out.write(files.bundle_yaml(items))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for item in items:
        (args.out / f"{item.code}.yaml").write_text(files.item_yaml(item), encoding="utf-8")
    print(f"exported {len(items)} items to {args.out}", file=out)
    return 0


# --------------------------------------------------------------------------- calendar

def _read_schedule(path: Path) -> dict[str, Any]:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("the schedule must be a mapping with year, holidays and workdays")
    return doc


def cmd_calendar_import(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        schedule = working_days.YearSchedule.from_dict(_read_schedule(args.path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{args.path}: not a valid holiday schedule: {exc}", file=err)
        return 2
    path: Path = args.overrides
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"years": {}}
    replaced = str(schedule.year) in doc["years"]
    doc["years"][str(schedule.year)] = schedule.to_dict()
    doc["years"] = dict(sorted(doc["years"].items()))
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{'replaced' if replaced else 'imported'} {schedule.year}: {len(schedule.holidays)} days off, "
          f"{len(schedule.workdays)} adjusted working days (deploy to apply)", file=out)
    return 0


def cmd_calendar_show(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    cal = working_days.WorkingCalendar(working_days.load_overrides(args.overrides))
    day, off, extra = date(args.year, 1, 1), [], []
    try:
        while day.year == args.year:
            working = cal.is_working_day(day)
            if day.weekday() < 5 and not working:
                off.append(day.isoformat())
            elif day.weekday() >= 5 and working:
                extra.append(day.isoformat())
            day = date.fromordinal(day.toordinal() + 1)
    except working_days.CalendarYearUnknown as exc:
        print(f"{exc.code}: {exc.message_zh} | {exc.message_en}", file=err)
        return 1
    print(f"{args.year} weekday holidays: {' '.join(off)}", file=out)
    print(f"{args.year} adjusted working days: {' '.join(extra)}", file=out)
    return 0
