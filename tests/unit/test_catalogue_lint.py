"""Every lint rule: one example that fails it and one that passes it, plus the whole sample catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.catalogue_lint import RULES, LintContext, lint, vague_term

CONTEXT = LintContext(departments=frozenset({"dept-a", "dept-b", "town-1"}),
                      provincial_codes=frozenset({"330000-XK-0001", "330000-XK-0002"}))


def clean(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": "T-1", "base_code": "330000-XK-0001", "name_zh": "测试事项", "name_en": "Test item",
        "lead_department": "dept-a", "statutory_days": 20, "committed_days": 5,
        "legal_basis": [{"title_zh": "测试条例", "article": "第一条"}],
        "form": [{"name": "marital_status", "label_zh": "婚姻状况", "label_en": "Marital status", "type": "enum",
                  "choices": [{"value": "single", "label_zh": "未婚", "label_en": "Single"},
                              {"value": "married", "label_zh": "已婚", "label_en": "Married"}]},
                 {"name": "age", "label_zh": "年龄", "label_en": "Age", "type": "integer", "minimum": 0,
                  "maximum": 130}],
        "materials": [{"code": "form", "name_zh": "申请表", "name_en": "Application form",
                       "accepted_types": ["pdf"], "max_size_bytes": 1000}],
    }
    doc.update(changes)
    return doc


def material(**changes: Any) -> dict[str, Any]:
    return {"code": "m2", "name_zh": "结婚证", "name_en": "Marriage certificate", "accepted_types": ["pdf"],
            "max_size_bytes": 1000, **changes}


def rules_of(*docs: dict[str, Any], context: LintContext = CONTEXT) -> set[str]:
    return {f.rule for f in lint([ServiceItem.model_validate(d) for d in docs], context)}


def test_the_clean_example_has_no_findings():
    assert rules_of(clean()) == set()


# rule id → (a failing catalogue, a passing one)
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "vague-wording": ([clean(materials=[material(name_zh="其他相关材料")])],
                      [clean(materials=[material(name_zh="结婚证")])]),
    "no-file-limits": ([clean(materials=[{"code": "m", "name_zh": "户口簿", "name_en": "Household register"}])],
                       [clean(materials=[{"code": "m", "name_zh": "户口簿", "name_en": "Household register",
                                          "obtainable_from": {"department": "dept-b"}}])]),
    "committed-exceeds-statutory": ([clean(committed_days=21)], [clean(committed_days=20)]),
    "joint-needs-two-departments": ([clean(joint_departments=["dept-a"])], [clean(joint_departments=["dept-b"])]),
    "unknown-department": ([clean(joint_departments=["dept-x"])], [clean(delegated_to=["town-1"])]),
    "sub-item-without-main": ([clean(main_item="T-MAIN")],
                              [clean(main_item="T-MAIN"), clean(code="T-MAIN")]),
    "duplicate-code": ([clean(), clean()], [clean(), clean(code="T-2")]),
    "condition-invalid": ([clean(materials=[material(required=False, condition='age == "old"')])],
                          [clean(materials=[material(required=False, condition="age >= 18")])]),
    "condition-unknown-field": ([clean(materials=[material(required=False, condition='spouse == "x"')])],
                                [clean(materials=[material(required=False,
                                                           condition='marital_status == "married"')])]),
    "condition-never-true": ([clean(materials=[material(
        required=False, condition='marital_status == "married" and marital_status == "single"')])],
        [clean(materials=[material(required=False,
                                   condition='marital_status == "married" or marital_status == "single"')])]),
    "missing-legal-basis": ([clean(legal_basis=[])], [clean()]),
    "base-code-missing": ([clean(base_code="")], [clean()]),
    "base-code-unknown": ([clean(base_code="330000-XK-9999")], [clean(base_code="330000-XK-0002")]),
    "unknown-item-reference": ([clean(prerequisites=[{"description_zh": "先办理备案", "description_en": "File first",
                                                      "item_code": "T-NONE"}])],
                               [clean(prerequisites=[{"description_zh": "先办理备案", "description_en": "File first",
                                                      "item_code": "T-2"}]), clean(code="T-2")]),
    "notification-unknown-event": (
        [clean(notifications={"onetrip.task.deadline_warning": {"text_zh": "即将超期", "text_en": "Due soon"}})],
        [clean(notifications={"onetrip.case.closed": {"text_zh": "办件 {case_number} 已办结",
                                                      "text_en": "Case {case_number} closed"}})]),
    "notification-unknown-placeholder": (
        [clean(notifications={"onetrip.application.submitted": {"text_zh": "办件 {case_number} 已提交",
                                                                "text_en": "Case {case_number} submitted"}})],
        [clean(notifications={"onetrip.case.accepted": {"text_zh": "办件 {case_number} 于 {deadline} 前办结",
                                                        "text_en": "Case {case_number} due {deadline}"}})]),
}


def test_every_rule_has_a_failing_and_a_passing_example():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_its_bad_example(rule):
    assert rule in rules_of(*CASES[rule][0])


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_its_good_example(rule):
    assert rules_of(*CASES[rule][1]) == set()


def test_a_finding_names_item_rule_path_and_both_languages():
    [finding] = lint([ServiceItem.model_validate(clean(materials=[material(name_zh="其他材料")]))], CONTEXT)
    assert (finding.item, finding.rule, finding.path) == ("T-1", "vague-wording", "materials[0].name_zh")
    assert "其他材料" in finding.message_zh and "catch-all" in finding.message_en
    assert finding.line().startswith("T-1 vague-wording materials[0].name_zh: ")


@pytest.mark.parametrize("text", ["其他材料", "其他相关材料", "相关证明", "身份证等", "户口簿、结婚证等材料", "有关部门意见",
                                  "必要时提供", "其它", "Other relevant documents", "documents as required",
                                  "ID card, etc.", "proof if necessary"])
def test_catch_all_and_vague_wording_is_found(text):
    assert vague_term(text)


@pytest.mark.parametrize("text", ["残疾人证（等级证明页）", "平等协商协议", "结婚证", "Marriage certificate",
                                  "Household register", "不动产权证书"])
def test_exact_names_are_not_taken_for_vague_wording(text):
    assert vague_term(text) is None


def test_unknown_references_are_not_guessed_when_the_context_is_missing():
    assert rules_of(clean(joint_departments=["dept-x"], base_code="X-1"), context=LintContext()) == set()


def test_the_sample_catalogue_lints_clean_against_its_departments_and_the_provincial_sample():
    from infra.onetrip import catalogue_files as files

    items = files.load_items(files.CATALOGUE_DIR)
    context = LintContext(files.department_codes(files.load_departments()),
                          frozenset(p.base_code for p in files.load_provincial()))
    assert len(items) >= 30
    assert lint(items, context) == []
