"""Applicant notification texts: built-in defaults for every applicant event, the catalogue's own
templates where an item has them, placeholders checked by the model and the linter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.catalogue import FormField, ServiceItem
from chalicelib.domain.catalogue_lint import lint
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.notifications import APPLICANT_EVENTS, DEFAULT_TEXTS, PLACEHOLDERS, compose, placeholders
from tests.unit.catalogue_samples import FRIDAY, VALID_ID, citizen, item, material

CASE = "T-SINGLE-20261127-0A1B2C3D"
COMMON = {"application_id": "app_1", "item_code": "T-SINGLE", "item_version": 1}

# One event of each applicant type, with the data the lifecycle contract gives it.
EVENT_DATA = {
    "onetrip.application.submitted": {"channel": "online"},
    "onetrip.case.accepted": {"case_number": CASE, "committed_days": 5, "deadline": "2026-12-04",
                              "departments": ["dept-a"], "max_visits": 0, "accepted_by": "citizen"},
    "onetrip.case.refused": {"reasons": [{"code": "not_in_scope", "message_zh": "不属于本事项受理范围",
                                          "message_en": "Not within this item's scope"}]},
    "onetrip.task.supplement_requested": {"case_number": CASE, "task_id": "tsk_1", "department": "dept-a",
                                          "round": 1, "items": [{"material": "form", "code": "illegible"},
                                                                {"field": "age", "code": "implausible"}]},
    "onetrip.case.decided": {"case_number": CASE, "outcome": "approved", "committed_days": 5,
                             "working_days_used": 3, "on_time": True, "supplement_rounds": 1, "visits": 0},
    "onetrip.case.result_issued": {"case_number": CASE, "method": "mail"},
    "onetrip.case.closed": {"case_number": CASE},
    "onetrip.case.withdrawn": {"previous_status": "submitted"},
    "onetrip.case.visit_recorded": {"case_number": CASE, "visits": 1, "max_visits": 1, "reason": "originals",
                                    "over_limit": False},
    "onetrip.case.rated": {"case_number": CASE, "level": 5, "rectification_task_id": None},
}


def event(type_: str, **data) -> DomainEvent:
    return DomainEvent.raised(type_, FRIDAY, application_id="app_1", subject="cases/x", recipients=[],
                              data={**COMMON, **EVENT_DATA.get(type_, {}), **data}, actor=citizen().actor())


def sample(**extra) -> ServiceItem:
    form = (FormField(name="age", label_zh="年龄", label_en="Age", type="integer"),)
    return item(form=form, materials=(material("form"),), **extra)


def test_every_applicant_event_has_a_default_text_and_only_those():
    assert set(DEFAULT_TEXTS) == APPLICANT_EVENTS == set(PLACEHOLDERS) == set(EVENT_DATA)
    for type_, (zh, en) in DEFAULT_TEXTS.items():
        assert placeholders(zh) <= PLACEHOLDERS[type_] and placeholders(en) <= PLACEHOLDERS[type_]


@pytest.mark.parametrize("type_", sorted(EVENT_DATA))
def test_each_applicant_event_is_told_in_both_languages_without_gaps(type_):
    zh, en = compose(event(type_), sample(), CASE if type_ != "onetrip.application.submitted" else None)
    assert zh and en and "{" not in zh + en and "—" not in zh + en


@pytest.mark.parametrize("type_", ["onetrip.task.assigned", "onetrip.task.supplemented", "onetrip.task.decided",
                                   "onetrip.task.deadline_warning", "onetrip.task.deadline_breached",
                                   "onetrip.rectification.closed", "onetrip.material.verified"])
def test_department_and_deadline_events_are_not_for_the_applicant(type_):
    assert compose(event(type_), sample(), CASE) is None


def test_the_texts_say_what_happened_with_the_case_and_catalogue_names():
    zh, en = compose(event("onetrip.case.accepted"), sample(), CASE)
    assert CASE in zh and "2026-12-04" in zh and "5 个工作日" in zh and "事项T-SINGLE" in zh
    assert "within 5 working days (by 2026-12-04)" in en and "Item T-SINGLE" in en
    zh, en = compose(event("onetrip.task.supplement_requested"), sample(), CASE)
    assert "材料form、年龄" in zh and "Material form, Age" in en and "第 1 轮" in zh
    zh, en = compose(event("onetrip.case.refused"), sample(), None)
    assert "不属于本事项受理范围" in zh and "Not within this item's scope" in en
    zh, en = compose(event("onetrip.case.decided", outcome="rejected"), sample(), CASE)
    assert "不予批准" in zh and "rejected" in en
    assert "邮寄送达" in compose(event("onetrip.case.result_issued"), sample(), CASE)[0]


def test_an_items_own_template_overrides_the_default():
    own = sample(notifications={"onetrip.case.accepted": {
        "text_zh": "【乐清】{item_name_zh}已受理，编号{case_number}，请于{deadline}前留意结果。",
        "text_en": "[Yueqing] {item_name_en} accepted as {case_number}; result by {deadline}."}})
    zh, en = compose(event("onetrip.case.accepted"), own, CASE)
    assert zh == f"【乐清】事项T-SINGLE已受理，编号{CASE}，请于2026-12-04前留意结果。"
    assert en == f"[Yueqing] Item T-SINGLE accepted as {CASE}; result by 2026-12-04."
    # Other events keep their defaults.
    assert compose(event("onetrip.case.closed"), own, CASE) == compose(event("onetrip.case.closed"), sample(), CASE)


def test_a_template_whose_value_is_missing_falls_back_to_the_default():
    own = sample(notifications={"onetrip.case.withdrawn": {"text_zh": "办件 {case_number} 已撤回",
                                                           "text_en": "Case {case_number} withdrawn"}})
    zh, _ = compose(event("onetrip.case.withdrawn"), own, None)
    assert zh == "您已撤回“事项T-SINGLE”申请。"


def test_an_event_missing_what_even_the_default_needs_is_still_told_with_a_gap():
    zh, en = compose(event("onetrip.case.accepted", deadline=None), sample(), CASE)
    assert "—" in zh and "—" in en and CASE in zh


def test_no_personal_data_reaches_a_text():
    zh, en = compose(event("onetrip.case.accepted", id_number=VALID_ID, name="张三"), sample(), CASE)
    assert VALID_ID not in zh + en and "张三" not in zh + en


@pytest.mark.parametrize("text", ["{case_number", "办件 {Case} 已受理", "{a.b}", "{0}", "}{"])
def test_a_template_with_stray_braces_or_odd_placeholders_is_refused(text):
    with pytest.raises(ValidationError):
        sample(notifications={"onetrip.case.accepted": {"text_zh": text, "text_en": "ok"}})


def test_the_linter_checks_notification_events_and_placeholders():
    bad = sample(notifications={
        "onetrip.task.assigned": {"text_zh": "已分派", "text_en": "Assigned"},
        "onetrip.case.closed": {"text_zh": "办件 {case_number} 于 {deadline} 办结", "text_en": "Closed {case_number}"}})
    findings = [(f.rule, f.path) for f in lint([bad]) if f.rule.startswith("notification-")]
    assert findings == [("notification-unknown-event", "notifications.onetrip.task.assigned"),
                        ("notification-unknown-placeholder", "notifications.onetrip.case.closed.text_zh")]


def test_items_without_their_own_texts_keep_their_content_hash():
    plain = sample()
    assert "notifications" not in plain.content()
    with_texts = sample(notifications={"onetrip.case.closed": {"text_zh": "已办结", "text_en": "Closed"}})
    assert with_texts.content_hash != plain.content_hash
    assert ServiceItem.model_validate(with_texts.model_dump(mode="json")) == with_texts
