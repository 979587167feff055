"""`onetrip catalogue …` and `onetrip calendar …`: files, exit codes and what they print."""

from __future__ import annotations

import io
import json
import shutil
from argparse import Namespace
from datetime import date
from pathlib import Path

import pytest
import yaml

from chalicelib.domain.departments import Department
from infra.onetrip import catalogue_cli as cli
from infra.onetrip import catalogue_files as files
from infra.onetrip.cli import main
from tests.unit.test_services_catalogue import Store


def run(handler, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    defaults = {"project_root": None}
    extra = {k: kwargs.pop(k) for k in ("store", "today") if k in kwargs}
    rc = handler(Namespace(**{**defaults, **kwargs}), out=out, err=err, **extra)
    return rc, out.getvalue(), err.getvalue()


def lint(path: Path):
    return run(cli.cmd_lint, path=path, departments=files.DEPARTMENTS_FILE, provincial=files.PROVINCIAL_SAMPLE)


def test_the_sample_catalogue_lints_clean(capfd):
    assert main(["catalogue", "lint", str(files.CATALOGUE_DIR)]) == 0
    assert "32 items, 0 findings" in capfd.readouterr().err


def test_a_planted_catch_all_material_fails_the_lint_naming_it(tmp_path):
    shutil.copytree(files.CATALOGUE_DIR, tmp_path / "cat")
    bundle = tmp_path / "cat" / "business.yaml"
    doc = yaml.safe_load(bundle.read_text(encoding="utf-8"))
    doc["items"][0]["materials"].append({"code": "misc", "name_zh": "其他相关材料", "name_en": "Other documents",
                                         "accepted_types": ["pdf"], "max_size_bytes": 1000})
    bundle.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    rc, out, _ = lint(tmp_path / "cat")
    assert rc == 1
    assert out.splitlines() == [
        "YQ-AMR-0001 vague-wording materials[3].name_zh: 材料“其他相关材料”含兜底或模糊用语“其他相关材料”，请写明具体材料 | "
        "material 'misc' has catch-all or vague wording '其他相关材料'; name the exact document",
        "YQ-AMR-0001 vague-wording materials[3].name_en: 材料“其他相关材料”含兜底或模糊用语“Other documents”，请写明具体材料 | "
        "material 'misc' has catch-all or vague wording 'Other documents'; name the exact document"]


def test_malformed_files_report_every_error_with_file_item_and_field_path(tmp_path):
    (tmp_path / "a.yaml").write_text("items:\n  - code: BAD-1\n    name_zh: x\n    statutory_days: many\n"
                                     "    materials: [{code: m, name_zh: y, name_en: y, accepted_types: [exe]}]\n",
                                     encoding="utf-8")
    (tmp_path / "b.yaml").write_text("code: [unclosed\n", encoding="utf-8")
    (tmp_path / "c.yml").write_text("- just\n- a list\n", encoding="utf-8")
    rc, _, err = lint(tmp_path)
    assert rc == 2
    lines = err.splitlines()
    assert any(str(tmp_path / "a.yaml") in line and "BAD-1 statutory_days:" in line for line in lines)
    assert any("BAD-1 materials[0].accepted_types:" in line and "exe" in line for line in lines)
    assert any("BAD-1 name_en:" in line for line in lines) and any("BAD-1 lead_department:" in line for line in lines)
    assert any(str(tmp_path / "b.yaml") in line and "not valid YAML" in line and "line" in line for line in lines)
    assert any(str(tmp_path / "c.yml") in line and "bundle" in line for line in lines)


def test_a_missing_path_is_an_error_not_a_clean_lint(tmp_path):
    rc, _, err = lint(tmp_path / "nothing-here")
    assert rc == 2 and "no catalogue files" in err


@pytest.fixture
def store():
    s = Store()
    for raw in files.load_departments():
        s.put_department(Department.model_validate({k: v for k, v in raw.items() if k != "demo_receiver"}))
    return s


def test_import_publish_diff_export_round_trip(tmp_path, store):
    rc, out, _ = run(cli.cmd_import, path=files.CATALOGUE_DIR, store=store)
    assert rc == 0 and out.startswith("imported 32 drafts")
    rc, out, err = run(cli.cmd_publish, codes=[], all=True, provincial=files.PROVINCIAL_SAMPLE, store=store,
                       today=date(2026, 11, 27))
    assert rc == 0, err
    assert "published YQ-RE-0010 v1 valid from 2026-11-27" in out
    export_dir = tmp_path / "export"
    rc, out, _ = run(cli.cmd_export, out=export_dir, store=store)
    assert rc == 0 and len(list(export_dir.glob("*.yaml"))) == 32
    text = (export_dir / "YQ-RE-0010.yaml").read_text(encoding="utf-8")
    assert "存量房买卖合同" in text and "\\u" not in text  # readable Chinese, not escapes
    assert lint(export_dir)[0] == 0  # what we export lints clean again
    edited = yaml.safe_load(text)
    edited["materials"] = [m for m in edited["materials"] if m["code"] != "tax-declaration"]
    (export_dir / "YQ-RE-0010.yaml").write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    run(cli.cmd_import, path=export_dir / "YQ-RE-0010.yaml", store=store)
    rc, out, _ = run(cli.cmd_diff, code="YQ-RE-0010", store=store)
    assert rc == 0
    assert out.splitlines() == ["YQ-RE-0010: v1 → v2 (draft, not yet published)", "  - material tax-declaration",
                                "impact: 0 open applications and cases under v1 (judged by it for life)"]


def test_publish_with_findings_prints_them_and_exits_1(store):
    item = files.load_items(files.CATALOGUE_DIR)[0]
    store.put_draft(item.model_copy(update={"legal_basis": ()}))
    rc, _, err = run(cli.cmd_publish, codes=[item.code], all=False, provincial=files.PROVINCIAL_SAMPLE, store=store,
                     today=date(2026, 11, 27))
    assert rc == 1
    assert "catalogue_lint_failed" in err and f"{item.code} missing-legal-basis legal_basis" in err


def test_publish_needs_codes_or_all(store):
    assert run(cli.cmd_publish, codes=[], all=False, provincial=files.PROVINCIAL_SAMPLE, store=store)[0] == 2


def test_reconcile_reports_both_ways(store):
    rc, out, _ = run(cli.cmd_reconcile, provincial=files.PROVINCIAL_SAMPLE, catalogue=files.CATALOGUE_DIR,
                     json=True, store=store)
    report = json.loads(out)
    assert rc == 0
    assert report["one_provincial_many_local"]["330000-QR-0201"] == [
        "YQ-PSB-HJ-0100", "YQ-PSB-HJ-0101", "YQ-PSB-HJ-0102", "YQ-PSB-HJ-0103"]
    assert {p["base_code"] for p in report["provincial_without_local"]} == {
        "330000-QR-0105", "330000-XK-0405", "330000-QR-0902"}
    assert report["local_without_base_code"] == [] and report["local_with_unknown_base_code"] == []


def test_schema_is_printed(capfd):
    assert main(["catalogue", "schema"]) == 0
    assert json.loads(capfd.readouterr().out)["title"].startswith("OneTrip")


def test_generate_writes_a_1207_item_catalogue_that_lints_clean(tmp_path):
    out = tmp_path / "gen"
    rc, text, _ = run(cli.cmd_generate, count=1207, out=out)
    assert rc == 0 and "1207 items in 13 files" in text
    rc, _, err = run(cli.cmd_lint, path=out, departments=files.DEPARTMENTS_FILE,
                     provincial=tmp_path / "gen-provincial.yaml")
    assert rc == 0, err


def test_calendar_import_then_show_and_unknown_years(tmp_path):
    overrides = tmp_path / "overrides.json"
    schedule = tmp_path / "2027.yaml"
    schedule.write_text("year: 2027\nsource: test\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n"
                        "workdays: [2027-02-14]\n", encoding="utf-8")
    rc, out, _ = run(cli.cmd_calendar_import, path=schedule, overrides=overrides)
    assert rc == 0 and "imported 2027: 3 days off, 1 adjusted working days" in out
    rc, out, _ = run(cli.cmd_calendar_show, year=2027, overrides=overrides)
    assert rc == 0 and "2027-01-01" in out and "2027-02-14" in out
    rc, _, err = run(cli.cmd_calendar_show, year=2028, overrides=overrides)
    assert rc == 1 and "calendar_year_unknown" in err
    schedule.write_text("year: 2027\nworkdays: [2027-02-15]\n", encoding="utf-8")
    rc, _, err = run(cli.cmd_calendar_import, path=schedule, overrides=overrides)
    assert rc == 2 and "weekend" in err


def test_the_shipped_override_file_is_valid():
    from chalicelib.domain.calendar import OVERRIDES_PATH, load_overrides

    assert OVERRIDES_PATH.exists()
    load_overrides()
