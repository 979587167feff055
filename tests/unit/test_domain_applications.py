"""Applications: drafts, uploads, the one-time notification of problems, acceptance and fan-in."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import (
    ApplicationStatus,
    MaterialStatus,
    Outcome,
    Reason,
    TaskStatus,
    material_key,
    parse_material_key,
    sanitize_file_name,
)
from chalicelib.domain.errors import Conflict, Forbidden, Problem, ValidationFailed
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.domain.ids import is_id, new_id
from tests.unit.catalogue_samples import (
    FRIDAY,
    PDF,
    VALID_ID,
    accepted,
    citizen,
    facts,
    identity,
    joint_item,
    ready_application,
    single_item,
    with_material,
)

LATER = FRIDAY + timedelta(hours=1)
REASON = Reason(code="incomplete_form", message_zh="表格不完整", message_en="The form is incomplete")


def draft(item=None):
    item = item or single_item()
    return rules.new_application(new_id("app_"), citizen(), item, FRIDAY)


# -- drafts and uploads --------------------------------------------------------------------------
def test_a_new_application_has_one_missing_slot_per_material():
    item = single_item()
    app = draft(item)
    assert app.status is ApplicationStatus.DRAFT
    assert app.item_code == item.code and app.item_version == item.version
    assert {code: (s.required, s.status) for code, s in app.materials.items()} == {
        "form": (True, MaterialStatus.MISSING),
        "photo": (True, MaterialStatus.MISSING),
        "extra": (False, MaterialStatus.MISSING),
    }
    assert app.owner_sub == "citizen-1" and app.owner_kind == "citizen"


def test_issue_upload_reserves_the_slot_under_a_generated_key():
    app = draft()
    updated, key = rules.issue_upload(app, single_item(), "form", "application/pdf", "../../申请书.pdf",
                                      "upl_1", LATER)
    assert key == f"materials/{app.id}/form/upl_1"
    slot = updated.materials["form"]
    assert (slot.status, slot.upload_id, slot.key, slot.content_type) == (
        MaterialStatus.UPLOAD_REQUESTED, "upl_1", key, "application/pdf")
    assert slot.file_name == "申请书.pdf"
    assert app.materials["form"].status is MaterialStatus.MISSING  # the input is not mutated


def test_issue_upload_of_an_unknown_material_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        rules.issue_upload(draft(), single_item(), "passport", "application/pdf", None, "upl_1", LATER)
    assert [p.code for p in exc.value.problems] == ["material_unknown"]


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", "application/PDF", ""])
def test_issue_upload_with_a_type_the_spec_does_not_accept_is_refused(content_type):
    with pytest.raises(ValidationFailed) as exc:
        rules.issue_upload(draft(), single_item(), "form", content_type, None, "upl_1", LATER)
    assert [p.code for p in exc.value.problems] == ["content_type_not_accepted"]
    assert exc.value.problems[0].detail == {"accepted": ["application/pdf"]}


def test_issue_upload_after_submission_is_a_conflict():
    app, _, _ = accepted(single_item())
    with pytest.raises(Conflict) as exc:
        rules.issue_upload(app, single_item(), "extra", "application/pdf", None, "upl_1", LATER)
    assert exc.value.code == "application_not_draft"


def test_material_key_round_trips():
    key = material_key("app_X", "form", "upl_Y")
    assert key == "materials/app_X/form/upl_Y"
    assert parse_material_key(key) == ("app_X", "form", "upl_Y")


@pytest.mark.parametrize("key", [
    "", "materials", "materials/app/form", "materials/app/form/upl/extra", "uploads/app/form/upl",
    "materials//form/upl", "materials/app//upl", "materials/app/form/", "/materials/app/form",
    "Materials/app/form/upl",
])
def test_malformed_keys_do_not_parse(key):
    assert parse_material_key(key) is None


# -- display file names --------------------------------------------------------------------------
@pytest.mark.parametrize("raw,shown", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\boot.ini", "boot.ini"),
    ("/abs/path/申请书.pdf", "申请书.pdf"),
    ("..", "file"),
    ("../", "file"),
    ("   ", "file"),
    ("report%00.pdf", "report%00.pdf"),  # literal text, harmless once it cannot reach a key
    ("report\x00.pdf.exe", "report.pdf.exe"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("a\x07b\x1b[31m\r\nc.pdf", "ab[31mc.pdf"),
    ("\u200bzero\ufeffwidth.pdf", "zerowidth.pdf"),
])
def test_sanitize_file_name_keeps_only_a_displayable_last_segment(raw, shown):
    assert sanitize_file_name(raw) == shown


@pytest.mark.parametrize("raw", [None, ""])
def test_no_file_name_stays_none(raw):
    assert sanitize_file_name(raw) is None


def test_long_file_names_are_cut_to_255_bytes_on_a_character_boundary():
    shown = sanitize_file_name("张" * 200 + ".pdf")
    assert shown is not None
    assert len(shown.encode()) <= 255
    assert set(shown) == {"张"}  # no half character, no replacement character


def test_sanitized_names_contain_no_control_or_format_characters():
    hostile = "".join(chr(c) for c in range(0, 0x20)) + "\u202e\u2066\u200f name.pdf"
    shown = sanitize_file_name(hostile)
    assert shown == "name.pdf"
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in shown)


def test_the_file_name_never_reaches_the_key():
    _, key = rules.issue_upload(draft(), single_item(), "form", "application/pdf", "../x%00\u202e.pdf",
                                "upl_1", LATER)
    assert key.split("/")[-1] == "upl_1"
    assert "%00" not in key and ".." not in key and "\u202e" not in key


# -- verdicts ------------------------------------------------------------------------------------
def issued(app, code="form", upload_id="upl_1"):
    updated, _ = rules.issue_upload(app, single_item(), code, "application/pdf", None, upload_id, FRIDAY)
    return updated


def test_record_verdict_marks_the_slot_verified_or_rejected():
    app = issued(draft())
    ok = rules.record_verdict(app, "form", "upl_1", facts(PDF, "application/pdf"), [], LATER)
    assert ok is not None and ok.materials["form"].status is MaterialStatus.VERIFIED
    assert ok.materials["form"].size == len(PDF)
    problem = Problem("file_too_large", "太大", "too large", "form")
    bad = rules.record_verdict(app, "form", "upl_1", facts(PDF, "application/pdf"), [problem], LATER)
    assert bad is not None and bad.materials["form"].status is MaterialStatus.REJECTED
    assert bad.materials["form"].problems == [problem.to_dict()]


def test_a_verdict_for_a_superseded_upload_is_ignored():
    app = issued(issued(draft(), upload_id="upl_old"), upload_id="upl_new")
    assert rules.record_verdict(app, "form", "upl_old", facts(PDF, "application/pdf"), [], LATER) is None


def test_a_second_verdict_for_the_same_upload_is_ignored():
    app = issued(draft())
    first = rules.record_verdict(app, "form", "upl_1", facts(PDF, "application/pdf"), [], LATER)
    assert first is not None
    problem = Problem("file_empty", "空", "empty", "form")
    again = rules.record_verdict(first, "form", "upl_1", facts(b"", "application/pdf"), [problem], LATER)
    assert again is None


def test_a_verdict_after_submission_is_ignored():
    app, _, _ = accepted(single_item())
    slot = app.materials["form"]
    assert rules.record_verdict(app, "form", slot.upload_id, facts(PDF, "application/pdf"), [], LATER) is None


def test_a_verdict_for_an_unknown_material_is_ignored():
    assert rules.record_verdict(draft(), "nope", "upl_1", facts(PDF, "application/pdf"), [], LATER) is None


# -- submission ----------------------------------------------------------------------------------
def test_submission_lists_every_problem_at_once():
    item = single_item()
    app = draft(item)
    app = with_material(app, item, "photo", verified=False)  # uploaded, not yet verified
    app = issued(app, "form")
    app = rules.record_verdict(app, "form", "upl_1", facts(b"", "application/pdf"),
                               [Problem("file_empty", "空", "empty", "form")], LATER)
    problems = rules.submission_problems(app, item, None)
    assert [(p.code, p.target) for p in problems] == [
        ("identity_not_verified", "applicant"),
        ("material_rejected", "form"),
        ("material_not_verified", "photo"),
    ]


def test_submission_lists_every_missing_required_material_but_no_optional_one():
    item = single_item()
    problems = rules.submission_problems(draft(item), item, identity())
    assert [(p.code, p.target) for p in problems] == [
        ("material_missing", "form"), ("material_missing", "photo")]
    assert problems[0].detail == {"accepted_types": ["pdf"], "max_size_bytes": 1000}


def test_an_identity_below_l2_is_not_enough():
    item = single_item()
    problems = rules.submission_problems(ready_application(item), item, identity(level=AssuranceLevel.L1))
    assert [p.code for p in problems] == ["identity_not_verified"]
    assert rules.submission_problems(ready_application(item), item, identity(level=AssuranceLevel.L3)) == []


def test_accepting_for_an_unverified_applicant_is_forbidden_with_every_problem():
    item = single_item()
    with pytest.raises(Forbidden) as exc:
        rules.accept(draft(item), item, None, citizen(), FRIDAY)
    assert exc.value.code == "assurance_level_too_low"
    assert [p.code for p in exc.value.problems] == ["identity_not_verified", "material_missing",
                                                    "material_missing"]


def test_acceptance_under_another_item_version_is_a_conflict():
    app = ready_application(single_item())
    with pytest.raises(Conflict) as exc:
        rules.accept(app, single_item(version=2), identity(), citizen(), FRIDAY)
    assert exc.value.code == "item_version_mismatch"


# -- acceptance ----------------------------------------------------------------------------------
def test_acceptance_fixes_the_case_with_a_working_day_deadline():
    item = single_item(committed_days=1)
    app, tasks, _ = accepted(item)
    assert app.status is ApplicationStatus.ACCEPTED
    assert app.case is not None
    assert app.case.deadline == "2026-11-30"  # Friday + 1 working day = Monday
    assert app.case.item_version == 1 and app.case.item_hash == item.content_hash
    assert app.case.case_number.startswith("T-SINGLE-20261127-")
    assert [t.deadline for t in tasks] == ["2026-11-30"]


def test_a_joint_item_gets_one_task_and_one_event_per_department_lead_first():
    item = joint_item()
    app, tasks, events = accepted(item)
    assert [t.department for t in tasks] == ["dept-a", "dept-b"]
    assert all(is_id(t.id, "tsk_") and t.status is TaskStatus.ASSIGNED for t in tasks)
    assert len({t.id for t in tasks}) == 2
    assert [e.type for e in events[:2]] == ["onetrip.application.submitted", "onetrip.case.accepted"]
    assert [(e.type, e.recipients, e.data["task_id"]) for e in events[2:]] == [
        ("onetrip.task.assigned", ["dept-a"], tasks[0].id),
        ("onetrip.task.assigned", ["dept-b"], tasks[1].id),
    ]
    assert [(r.task_id, r.department) for r in app.tasks] == [(t.id, t.department) for t in tasks]
    assert all(e.application_id == app.id and is_id(e.id, "evt_") for e in events)


def test_the_case_carries_the_applicant_masked_only():
    app, tasks, events = accepted(joint_item())
    assert app.case is not None
    assert app.case.applicant["id_number_masked"] == "110105********002X"
    dumped = app.model_dump_json() + "".join(t.model_dump_json() for t in tasks) + json.dumps(
        [e.model_dump(mode="json") for e in events], ensure_ascii=False)
    assert VALID_ID not in dumped
    assert VALID_ID.lower() not in dumped
    assert "plain:" not in dumped  # not even the ciphertext travels with the case


def test_accepting_twice_is_a_conflict():
    app, _, _ = accepted(single_item())
    with pytest.raises(Conflict):
        rules.accept(app, single_item(), identity(), citizen(), FRIDAY)


# -- decisions -----------------------------------------------------------------------------------
def test_a_single_department_decision_decides_the_case():
    app, (task,), _ = accepted(single_item())
    decided, decided_task, events = rules.decide(app, task, Outcome.APPROVED, [], LATER)
    assert decided.status is ApplicationStatus.DECIDED and decided.outcome is Outcome.APPROVED
    assert decided_task.status is TaskStatus.DECIDED and decided_task.outcome is Outcome.APPROVED
    assert [(e.type, e.recipients, e.data["outcome"]) for e in events] == [
        ("onetrip.task.decided", [], "approved"), ("onetrip.case.decided", ["dept-a"], "approved")]
    assert events[1].data["on_time"] is True and events[1].data["supplement_rounds"] == 0


def test_a_joint_case_is_decided_only_when_every_department_has_decided():
    app, (task_a, task_b), _ = accepted(joint_item())
    app, _, events = rules.decide(app, task_a, Outcome.APPROVED, [], LATER)
    assert app.status is ApplicationStatus.IN_REVIEW and app.outcome is None
    assert [e.type for e in events] == ["onetrip.task.decided"]  # nothing for the departments yet
    assert [r.status for r in app.tasks] == [TaskStatus.DECIDED, TaskStatus.ASSIGNED]
    app, _, events = rules.decide(app, task_b, Outcome.APPROVED, [], LATER)
    assert app.status is ApplicationStatus.DECIDED and app.outcome is Outcome.APPROVED
    assert [(e.type, e.recipients) for e in events] == [
        ("onetrip.task.decided", []), ("onetrip.case.decided", ["dept-a", "dept-b"])]


@pytest.mark.parametrize("first,second", [
    (Outcome.REJECTED, Outcome.APPROVED), (Outcome.APPROVED, Outcome.REJECTED)])
def test_any_rejection_rejects_the_case(first, second):
    app, (task_a, task_b), _ = accepted(joint_item())
    app, _, _ = rules.decide(app, task_a, first, [REASON] if first is Outcome.REJECTED else [], LATER)
    app, _, events = rules.decide(app, task_b, second, [REASON] if second is Outcome.REJECTED else [], LATER)
    assert app.outcome is Outcome.REJECTED
    assert events[-1].data["outcome"] == "rejected"
    assert [r.reasons for r in app.tasks if r.outcome is Outcome.REJECTED] == [[REASON]]


def test_a_rejection_requires_reasons():
    app, (task,), _ = accepted(single_item())
    with pytest.raises(ValidationFailed) as exc:
        rules.decide(app, task, Outcome.REJECTED, [], LATER)
    assert [p.code for p in exc.value.problems] == ["reasons_required"]


def test_deciding_a_task_twice_is_a_conflict():
    app, (task_a, _), _ = accepted(joint_item())
    app, decided_task, _ = rules.decide(app, task_a, Outcome.APPROVED, [], LATER)
    with pytest.raises(Conflict) as exc:
        rules.decide(app, decided_task, Outcome.REJECTED, [REASON], LATER)
    assert exc.value.code == "task_already_decided"


def test_a_draft_cannot_be_decided():
    _, (task,), _ = accepted(single_item())
    with pytest.raises(Conflict) as exc:
        rules.decide(draft(), task, Outcome.APPROVED, [], LATER)
    assert exc.value.code == "illegal_transition"
    assert exc.value.detail == {"current_state": "draft", "action": "review"}


@pytest.mark.parametrize("code", ["Bad", "", "a" * 65, "x-y"])
def test_reason_codes_are_lowercase_identifiers(code):
    with pytest.raises(ValueError):
        Reason(code=code, message_zh="理由", message_en="reason")
