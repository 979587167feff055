"""A case after acceptance, as pure rules: supplements and the paused clock, withdrawal, results,
visits, ratings and rectifications, the deadline sweep — and property tests over random histories."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import applications as rules
from chalicelib.domain import cases
from chalicelib.domain.applications import (
    ApplicationStatus,
    MaterialStatus,
    Outcome,
    Reason,
    SupplementItem,
    TaskKind,
    TaskStatus,
)
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.principals import Principal, PrincipalKind
from tests.unit.catalogue_samples import (
    FRIDAY,
    PDF,
    accepted,
    citizen,
    facts,
    identity,
    joint_item,
    ready_application,
    single_item,
)
from tests.unit.catalogue_samples import item as make_item

ACTOR = {"sub": "officer", "kind": "department", "binding": "dept-a"}
REASON = Reason(code="incomplete_form", message_zh="表格不完整", message_en="The form is incomplete")
FORM_UNSIGNED = SupplementItem(material="form", code="form_unsigned", message_zh="申请书未签字",
                               message_en="The form is not signed")
PHOTO_BLURRED = SupplementItem(material="photo", code="photo_blurred", message_zh="照片模糊",
                               message_en="The photo is blurred")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=FRIDAY.tzinfo)
WINDOW = Principal(sub="window-1", kind=PrincipalKind.WINDOW_STAFF, office="yq-centre")


def applied(change):
    """What the store does with a change, for pure tests: bump versions the way a write would."""
    return change.app.model_copy(update={"version": change.app.version + 1})


def joint_case():
    app, tasks, _ = accepted(joint_item(committed_days=5))
    return app, {t.department: t for t in tasks}


def resupply(app, item, code, now):
    """The applicant uploads `code` again and it is verified."""
    app, _ = rules.issue_upload(app, item, code, "application/pdf" if code == "form" else "image/png", None,
                                f"upl_{code}_{now.timestamp():.0f}", now)
    verified = rules.record_verdict(app, code, app.materials[code].upload_id, facts(PDF, "application/pdf"), [], now)
    assert verified is not None
    return verified


# -- supplements ----------------------------------------------------------------------------------


def test_a_supplement_request_pauses_the_case_and_lists_its_legal_basis():
    app, tasks = joint_case()
    change = cases.request_supplement(app, tasks["dept-a"], joint_item(), [FORM_UNSIGNED], list(tasks.values()),
                                      ACTOR, FRIDAY)
    assert change.app.status is ApplicationStatus.SUPPLEMENT_REQUESTED
    assert change.app.case.paused_since == "2026-11-27"
    assert change.changed_tasks[0].status is TaskStatus.SUPPLEMENT_REQUESTED
    assert [e.type for e in change.events] == ["onetrip.task.supplement_requested"]
    assert change.events[0].data["items"] == [{"material": "form", "field": None, "code": "form_unsigned"}]
    # both departments' deadlines stop being watched while the applicant supplements
    assert {w.task_id for w in change.unwatch} == {t.id for t in tasks.values()}


def test_a_supplement_request_lists_every_problem_at_once():
    app, tasks = joint_case()
    bad = [SupplementItem(material="passport", code="x", message_zh="x", message_en="x"),
           SupplementItem(field="nope", code="y", message_zh="y", message_en="y"),
           SupplementItem(material="form", field="name", code="z", message_zh="z", message_en="z"),
           FORM_UNSIGNED, FORM_UNSIGNED]
    with pytest.raises(ValidationFailed) as exc:
        cases.request_supplement(app, tasks["dept-a"], joint_item(), bad, [], ACTOR, FRIDAY)
    assert [p.code for p in exc.value.problems] == ["material_unknown", "field_unknown", "supplement_item_target",
                                                    "supplement_item_duplicate"]


def test_a_department_asks_once_per_round_and_nobody_asks_for_the_same_material_twice():
    app, tasks = joint_case()
    item = joint_item()
    app = applied(cases.request_supplement(app, tasks["dept-a"], item, [FORM_UNSIGNED], [], ACTOR, FRIDAY))
    asked_a = tasks["dept-a"].model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED})
    with pytest.raises(Conflict) as exc:
        cases.request_supplement(app, asked_a.model_copy(update={"status": TaskStatus.ASSIGNED}), item,
                                 [PHOTO_BLURRED], [], ACTOR, FRIDAY)
    assert exc.value.code == "supplement_already_requested"
    with pytest.raises(ValidationFailed) as exc2:
        cases.request_supplement(app, tasks["dept-b"], item, [FORM_UNSIGNED], [], ACTOR, FRIDAY)
    assert [p.code for p in exc2.value.problems] == ["supplement_already_requested"]
    # another department joins the open round with another material: same round, no second pause
    joined = cases.request_supplement(app, tasks["dept-b"], item, [PHOTO_BLURRED], [], ACTOR, FRIDAY)
    assert [s.round for s in joined.app.case.supplements] == [1, 1] and joined.unwatch == []


def test_only_what_was_asked_for_may_change_during_a_supplement():
    app, tasks = joint_case()
    item = joint_item()
    app = applied(cases.request_supplement(app, tasks["dept-a"], item, [FORM_UNSIGNED], [], ACTOR, FRIDAY))
    rules.issue_upload(app, item, "form", "application/pdf", None, "upl_new", MONDAY)
    with pytest.raises(Conflict) as exc:
        rules.issue_upload(app, item, "photo", "image/png", None, "upl_new", MONDAY)
    assert exc.value.code == "not_requested_in_supplement"
    assert exc.value.detail["materials"] == ["form"]


def test_resubmission_lists_everything_still_missing_then_resumes_the_clock():
    app, tasks = joint_case()
    item = joint_item()
    app = applied(cases.request_supplement(app, tasks["dept-a"], item, [FORM_UNSIGNED], [], ACTOR, FRIDAY))
    open_tasks = [tasks["dept-a"].model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED}), tasks["dept-b"]]
    with pytest.raises(ValidationFailed) as exc:
        cases.resubmit(app, item, open_tasks, ACTOR, MONDAY)
    assert [(p.code, p.target) for p in exc.value.problems] == [("supplement_material_pending", "material:form")]
    app = resupply(app, item, "form", MONDAY)
    change = cases.resubmit(app, item, open_tasks, ACTOR, MONDAY + timedelta(days=2))  # Wednesday
    # paused Monday and Tuesday (Friday was the request day itself: counted as paused too)
    assert change.app.case.paused_working_days == 3
    assert change.app.case.deadline == "2026-12-09"  # 2026-12-04 + 3 working days
    assert change.app.status is ApplicationStatus.RESUBMITTED and change.app.case.paused_since is None
    assert {t.deadline for t in change.changed_tasks} == {"2026-12-09"}
    assert all(t.status is TaskStatus.ASSIGNED for t in change.changed_tasks)
    assert [e.type for e in change.events] == ["onetrip.task.supplemented"] * 2
    assert {w.deadline for w in change.watch} == {"2026-12-09"}


def test_a_task_waiting_for_its_supplement_cannot_be_decided_but_the_others_can():
    app, tasks = joint_case()
    app = applied(cases.request_supplement(app, tasks["dept-a"], joint_item(), [FORM_UNSIGNED], [], ACTOR, FRIDAY))
    asked = tasks["dept-a"].model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED})
    with pytest.raises(Conflict) as exc:
        rules.decide(app, asked, Outcome.APPROVED, [], FRIDAY)
    assert exc.value.code == "task_waiting_for_supplement"
    app_b, _, _ = rules.decide(app, tasks["dept-b"], Outcome.APPROVED, [], FRIDAY)
    assert app_b.status is ApplicationStatus.SUPPLEMENT_REQUESTED  # still waiting for the applicant


# -- withdrawal, results, closing -----------------------------------------------------------------


def test_withdrawal_cancels_every_open_task_and_tells_their_departments():
    app, tasks = joint_case()
    change = cases.withdraw(app, list(tasks.values()), {"sub": "citizen-1", "kind": "citizen"}, FRIDAY)
    assert change.app.status is ApplicationStatus.WITHDRAWN
    assert {t.status for t in change.changed_tasks} == {TaskStatus.CANCELLED}
    assert [(e.type, e.recipients) for e in change.events] == [("onetrip.case.withdrawn", ["dept-a", "dept-b"])]


def test_a_decided_case_cannot_be_withdrawn_and_a_withdrawn_one_cannot_be_decided():
    app, tasks = joint_case()
    withdrawn = applied(cases.withdraw(app, list(tasks.values()), ACTOR, FRIDAY))
    with pytest.raises(Conflict) as exc:
        rules.decide(withdrawn, tasks["dept-a"], Outcome.APPROVED, [], FRIDAY)
    assert exc.value.detail["current_state"] == "withdrawn"
    single, (task,), _ = accepted(single_item())
    decided, _, _ = rules.decide(single, task, Outcome.APPROVED, [], FRIDAY)
    with pytest.raises(Conflict) as exc2:
        cases.withdraw(decided, [], ACTOR, FRIDAY)
    assert exc2.value.code == "illegal_transition"


def test_the_result_is_issued_once_then_the_case_closes():
    single, (task,), _ = accepted(single_item())
    decided, _, _ = rules.decide(single, task, Outcome.APPROVED, [], FRIDAY)
    issued = applied(cases.issue_result(decided, "pickup", ACTOR, FRIDAY, office="yq-centre"))
    assert issued.status is ApplicationStatus.RESULT_ISSUED and issued.case.issuance.office == "yq-centre"
    with pytest.raises(Conflict):
        cases.issue_result(issued, "download", ACTOR, FRIDAY)
    closed = cases.close(issued, ACTOR, FRIDAY).app
    assert closed.status is ApplicationStatus.CLOSED and closed.case.closed_at


# -- visits and ratings ---------------------------------------------------------------------------


def test_visits_are_counted_against_the_items_maximum():
    app, _, _ = accepted(single_item(max_visits=1))
    first = cases.record_visit(app, WINDOW, "originals_check", FRIDAY)
    assert first.events[0].data["over_limit"] is False
    second = cases.record_visit(applied(first), WINDOW, "supplement", FRIDAY)
    assert second.events[0].data | {"visits": 2, "max_visits": 1, "over_limit": True} == second.events[0].data
    with pytest.raises(ValidationFailed):
        cases.record_visit(app, WINDOW, "sightseeing", FRIDAY)


def test_rating_an_undecided_case_is_409():
    app, _, _ = accepted(single_item())
    with pytest.raises(Conflict) as exc:
        cases.rate(app, 5, None, ACTOR, FRIDAY)
    assert exc.value.detail["current_state"] == "accepted"


@pytest.mark.parametrize("level,opens", [(1, True), (2, True), (3, False), (5, False)])
def test_a_dissatisfied_rating_opens_a_rectification_for_the_responsible_department(level, opens):
    app, tasks = joint_case()
    app, _, _ = rules.decide(app, tasks["dept-a"], Outcome.APPROVED, [], FRIDAY)
    app, _, _ = rules.decide(app, tasks["dept-b"], Outcome.REJECTED, [REASON], FRIDAY)
    change = cases.rate(app, level, "等了很久", ACTOR, FRIDAY)
    assert change.app.case.rating.level == level
    if opens:
        (task,) = change.new_tasks
        assert (task.kind, task.department, task.deadline) == (TaskKind.RECTIFICATION, "dept-b", "2026-12-04")
        assert change.app.case.rating.rectification_task_id == task.id
        with pytest.raises(Conflict):
            rules.decide(change.app, task, Outcome.APPROVED, [], FRIDAY)
        closed = cases.close_rectification(change.app, task, "已约谈并改进流程", ACTOR, MONDAY)
        assert closed.changed_tasks[0].status is TaskStatus.DECIDED
        assert closed.events[0].data["on_time"] is True
    else:
        assert change.new_tasks == [] and change.app.case.rating.rectification_task_id is None
    with pytest.raises(Conflict) as exc:
        cases.rate(applied(change), 4, None, ACTOR, FRIDAY)
    assert exc.value.code == "already_rated"


# -- acceptance at the window ----------------------------------------------------------------------


def test_an_item_with_an_acceptance_review_waits_for_the_window():
    item = single_item(acceptance_review=True, max_visits=1)
    app = ready_application(item)
    change = rules.submit(app, item, identity(), citizen(), FRIDAY)
    assert change.app.status is ApplicationStatus.SUBMITTED and change.new_tasks == []
    submitted = applied(change)
    accepted_change = rules.accept_at_window(submitted, item, identity(), WINDOW, FRIDAY)
    assert accepted_change.app.status is ApplicationStatus.ACCEPTED
    assert [v.reason for v in accepted_change.app.visits] == ["acceptance"]
    refused = rules.refuse_at_window(submitted, WINDOW, [REASON], FRIDAY)
    assert refused.app.status is ApplicationStatus.REFUSED and refused.events[0].type == "onetrip.case.refused"
    with pytest.raises(ValidationFailed):
        rules.refuse_at_window(submitted, WINDOW, [], FRIDAY)


def test_a_delegated_item_goes_to_the_office_of_the_applicants_jurisdiction():
    item = single_item()
    app = ready_application(item)
    change = rules.submit(app, item, identity(), citizen(), FRIDAY,
                          rules.Routing(offices={"dept-a": "dept-a-liushi"}, provincial="zj-province"))
    assert [t.office for t in change.new_tasks] == ["dept-a-liushi"]
    accepted_event = next(e for e in change.events if e.type == "onetrip.case.accepted")
    assert accepted_event.recipients == ["zj-province"] and accepted_event.data["base_code"] == item.base_code
    assert change.app.tasks[0].office == "dept-a-liushi"


def test_the_counter_pass_works_only_for_its_application_until_it_expires():
    app = ready_application(single_item())
    app, code, _ = rules.issue_counter_pass(app, FRIDAY)
    assert rules.counter_pass_valid(app, code, FRIDAY + timedelta(minutes=29))
    assert rules.counter_pass_valid(app, code.lower(), FRIDAY)
    assert not rules.counter_pass_valid(app, code, FRIDAY + timedelta(minutes=31))
    assert not rules.counter_pass_valid(app.model_copy(update={"id": "app_other"}), code, FRIDAY)
    renewed, _, _ = rules.issue_counter_pass(app, FRIDAY)
    assert not rules.counter_pass_valid(renewed, code, FRIDAY)


# -- the deadline sweep ---------------------------------------------------------------------------


def test_the_sweep_warns_a_working_day_before_and_escalates_after_once():
    app, (task,), _ = accepted(single_item(committed_days=5))  # deadline Friday 2026-12-04
    assert task.deadline == "2026-12-04"
    assert cases.sweep_task(app, task, date(2026, 12, 2), FRIDAY) is None
    warned = cases.sweep_task(app, task, date(2026, 12, 3), FRIDAY)
    assert warned.events[0].type == "onetrip.task.deadline_warning" and warned.unwatch == []
    task = warned.changed_tasks[0]
    assert cases.sweep_task(warned.app, task, date(2026, 12, 4), FRIDAY) is None  # warned once
    breached = cases.sweep_task(warned.app, task, date(2026, 12, 7), FRIDAY)
    assert breached.events[0].type == "onetrip.task.deadline_breached"
    assert breached.events[0].actor == {"kind": "system"} and breached.unwatch
    assert breached.app.tasks[0].breached_at is not None  # visible on the case
    assert cases.sweep_task(breached.app, breached.changed_tasks[0], date(2026, 12, 8), FRIDAY) is None


def test_the_sweep_leaves_a_paused_case_alone():
    app, tasks = joint_case()
    paused = applied(cases.request_supplement(app, tasks["dept-a"], joint_item(), [FORM_UNSIGNED], [], ACTOR,
                                              FRIDAY))
    assert cases.sweep_task(paused, tasks["dept-b"], date(2027, 1, 4), FRIDAY) is None


# -- properties over random histories ------------------------------------------------------------

EVENTS = st.lists(st.tuples(st.sampled_from(["ask_a", "ask_b", "resubmit", "decide_a", "decide_b", "wait"]),
                            st.integers(min_value=0, max_value=4)), max_size=14)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_random_histories_keep_the_clock_honest_and_the_fan_in_complete(history):
    """Whatever happens in whatever order: the deadline never moves backwards, paused days are never
    counted as used, and a joint case is decided only when every department has decided."""
    item = make_item("T-PROP", lead="dept-a", joint=("dept-b",), committed_days=10)
    app, task_list, _ = accepted(item)
    tasks = {t.department: t for t in task_list}
    now = FRIDAY
    deadlines = [app.case.deadline]
    paused_days = 0
    for action, days in history:
        now += timedelta(days=days)
        try:
            if action in ("ask_a", "ask_b"):
                dept = "dept-a" if action == "ask_a" else "dept-b"
                change = cases.request_supplement(app, tasks[dept], item, [
                    SupplementItem(material="form" if dept == "dept-a" else "photo", code="again",
                                   message_zh="请重新提供", message_en="Provide it again")],
                    [t for t in tasks.values() if t.is_open], ACTOR, now)
            elif action == "resubmit":
                for i in (i for r in app.case.open_round() for i in r.items):
                    app = resupply(app, item, i.material, now)
                change = cases.resubmit(app, item, [t for t in tasks.values() if t.is_open], ACTOR, now)
                paused_days += change.app.case.paused_working_days - app.case.paused_working_days
            else:
                dept = "dept-a" if action == "decide_a" else "dept-b"
                change = rules.decide_change(app, tasks[dept], Outcome.APPROVED, [], now)
        except (Conflict, ValidationFailed):
            continue
        app = applied(change)
        for t in change.changed_tasks:
            tasks[t.department] = t.model_copy(update={"version": t.version + 1})
        deadlines.append(app.case.deadline)
        decided_event = next((e for e in change.events if e.type == "onetrip.case.decided"), None)
        if decided_event is not None:
            assert all(t.status is TaskStatus.DECIDED for t in tasks.values())
            elapsed = rules.working_days_between(date(2026, 11, 27), now.date())
            assert decided_event.data["working_days_used"] == max(0, elapsed - paused_days)
    assert deadlines == sorted(deadlines)
    assert (app.status is ApplicationStatus.DECIDED) == all(t.status is TaskStatus.DECIDED for t in tasks.values())
    assert app.case.paused_working_days == paused_days
    if app.status is ApplicationStatus.DECIDED:
        assert app.case.paused_since is None
    assert {r.status for r in app.tasks} == {t.status for t in tasks.values()}
    assert all(app.materials[c].status is MaterialStatus.VERIFIED for c in ("form", "photo"))


def test_illegal_transitions_name_the_cases_current_state():
    """The issue's examples: deciding a withdrawn case, rating an undecided one, supplementing a closed one."""
    app, tasks = joint_case()
    withdrawn = applied(cases.withdraw(app, list(tasks.values()), ACTOR, FRIDAY))
    cancelled = tasks["dept-a"].model_copy(update={"status": TaskStatus.CANCELLED})
    with pytest.raises(Conflict) as exc:
        rules.decide(withdrawn, cancelled, Outcome.APPROVED, [], FRIDAY)
    assert (exc.value.code, exc.value.detail["current_state"]) == ("illegal_transition", "withdrawn")
    with pytest.raises(Conflict) as exc:
        cases.rate(app, 4, None, ACTOR, FRIDAY)
    assert exc.value.detail["current_state"] == "accepted"
    single, (task,), _ = accepted(single_item())
    decided, decided_task, _ = rules.decide(single, task, Outcome.APPROVED, [], FRIDAY)
    closed = cases.close(applied(cases.issue_result(decided, "download", ACTOR, FRIDAY)), ACTOR, FRIDAY).app
    with pytest.raises(Conflict) as exc:
        cases.request_supplement(closed, decided_task, single_item(), [FORM_UNSIGNED], [], ACTOR, FRIDAY)
    assert (exc.value.code, exc.value.detail["current_state"]) == ("illegal_transition", "closed")


def test_a_requested_form_field_is_the_only_answer_that_may_change_and_must_be_valid_to_resubmit():
    from chalicelib.domain.catalogue import FieldType, FormField

    form = (FormField(name="floor_area", label_zh="建筑面积", label_en="Floor area", type=FieldType.INTEGER,
                      minimum=1),
            FormField(name="address", label_zh="地址", label_en="Address", type=FieldType.STRING))
    item = make_item("T-FORM", form=form)
    app, (task,), _ = accepted(item)
    ask = SupplementItem(field="floor_area", code="area_mismatch", message_zh="面积与产权证不符",
                         message_en="The area does not match the title")
    app = applied(cases.request_supplement(app, task, item, [ask], [task], ACTOR, FRIDAY))
    with pytest.raises(Conflict) as exc:
        rules.apply_answers(app, item, {**app.answers, "address": "elsewhere"}, {}, MONDAY)
    assert exc.value.code == "not_requested_in_supplement" and exc.value.detail["fields"] == ["floor_area"]
    unanswered = rules.apply_answers(app, item, {k: v for k, v in app.answers.items() if k != "floor_area"}, {},
                                     MONDAY)
    with pytest.raises(ValidationFailed) as exc2:
        cases.resubmit(unanswered, item, [task.model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED})],
                       ACTOR, MONDAY)
    assert [p.target for p in exc2.value.problems] == ["field:floor_area"]
    fixed = rules.apply_answers(app, item, {**app.answers, "floor_area": 88}, {}, MONDAY)
    resumed = cases.resubmit(fixed, item, [task.model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED})],
                             ACTOR, MONDAY)
    assert resumed.app.status is ApplicationStatus.RESUBMITTED and resumed.app.answers["floor_area"] == 88
