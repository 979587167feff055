"""A case (办件) after acceptance: supplements and the paused clock, withdrawal, results and their
issuing, visits, satisfaction ratings and the rectifications they open, and the deadline sweep.

Pure rules over `Application` and its `DepartmentTask`s. Each returns a `CaseChange` that the store
writes in one transaction, conditional on the versions read, with the events it raises.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .applications import (
    OPEN_TASK_STATUSES,
    Application,
    CaseChange,
    DepartmentTask,
    Issuance,
    MaterialStatus,
    Rating,
    SupplementItem,
    SupplementRequest,
    TaskKind,
    TaskRef,
    TaskStatus,
    Visit,
    case_data,
    case_recipients,
    watch_of,
)
from .calendar import deadline_after, is_working_day_or_weekday, working_days_between
from .catalogue import ServiceItem
from .errors import Conflict, Problem, ValidationFailed
from .events import DomainEvent
from .ids import new_id
from .lifecycle import Action, ApplicationStatus, move, require
from .principals import Principal

# 差评整改: a department answers a dissatisfied rating within this many working days.
RECTIFICATION_DAYS = 5
DISSATISFIED = 2  # levels 1 (非常不满意) and 2 (不满意) open a rectification
ISSUE_METHODS = ("download", "mail", "pickup")
VISIT_REASONS = ("acceptance", "originals_check", "identity_check", "supplement", "result_pickup", "consultation",
                 "other")
SYSTEM = {"kind": "system"}


def _iso(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds")


def _ref_update(app: Application, *tasks: DepartmentTask) -> list[TaskRef]:
    """The case's task references with what the changed tasks show on the case."""
    fields = ("status", "deadline", "warned_at", "breached_at", "result", "outcome", "reasons", "decided_at")
    changed = {t.id: t for t in tasks}
    return [ref.model_copy(update={f: getattr(changed[ref.task_id], f) for f in fields})
            if ref.task_id in changed else ref for ref in app.tasks]


# -- supplements (补正) and the paused clock ------------------------------------------------------


def request_supplement(app: Application, task: DepartmentTask, item: ServiceItem, items: list[SupplementItem],
                       open_tasks: list[DepartmentTask], actor: dict[str, str], now: datetime) -> CaseChange:
    """A department asks for everything it needs at once. The first request of a round pauses every
    open task's clock; a department asks once per round; no material or field twice in one round."""
    require(app.status, Action.REQUEST_SUPPLEMENT)  # a closed or withdrawn case: 409 naming its state
    if task.kind is not TaskKind.REVIEW or task.status is not TaskStatus.ASSIGNED:
        raise Conflict("该任务当前不能要求补正", "This task cannot request a supplement now",
                       code="task_not_reviewable", detail={"current_state": task.status.value})
    assert app.case is not None
    problems = _supplement_problems(item, items)
    open_round = app.case.open_round()
    if any(r.department == task.department for r in open_round):
        raise Conflict("本轮补正已提出过要求，须一次性告知全部问题",
                       "This department already asked in this round; a request must list everything at once",
                       code="supplement_already_requested", detail={"current_state": app.status.value})
    already = {i.target for r in open_round for i in r.items}
    problems += [Problem("supplement_already_requested", f"本轮补正已要求过“{i.target}”",
                         f"{i.target} was already requested in this round", i.target)
                 for i in items if i.target in already]
    if problems:
        raise ValidationFailed("补正要求有误", "The supplement request has problems; all are listed",
                               code="supplement_invalid", problems=problems)
    round_no = open_round[0].round if open_round else app.case.supplement_rounds + 1
    basis = [f"{b.title_zh}{b.article or ''}" for b in item.legal_basis]
    request = SupplementRequest(round=round_no, task_id=task.id, department=task.department, requested_at=_iso(now),
                                items=[i.model_copy(update={"legal_basis": i.legal_basis or basis}) for i in items])
    paused_since = app.case.paused_since or now.date().isoformat()
    asked = task.model_copy(update={"status": TaskStatus.SUPPLEMENT_REQUESTED})
    case = app.case.model_copy(update={"supplements": [*app.case.supplements, request], "paused_since": paused_since})
    updated = app.model_copy(update={
        "status": move(app.status, Action.REQUEST_SUPPLEMENT, ApplicationStatus.SUPPLEMENT_REQUESTED),
        "case": case, "updated_at": _iso(now), "tasks": _ref_update(app, asked)})
    event = DomainEvent.raised(
        "onetrip.task.supplement_requested", now, application_id=app.id, recipients=[], actor=actor,
        subject=f"tasks/{task.id}",
        data=case_data(app, task_id=task.id, department=task.department, round=round_no,
                       items=[{"material": i.material, "field": i.field, "code": i.code} for i in items]))
    # Every open task's deadline stops being watched while the clock is paused.
    unwatch = [watch_of(t) for t in open_tasks] if not open_round else []
    return CaseChange(app=updated, events=[event], changed_tasks=[asked], unwatch=unwatch,
                      previous_status=app.status)


def _supplement_problems(item: ServiceItem, items: list[SupplementItem]) -> list[Problem]:
    problems: list[Problem] = []
    if not items:
        problems.append(Problem("supplement_items_required", "补正要求须列明全部需补正的材料或信息",
                                "A supplement request must list what is needed", "items"))
    seen: set[str] = set()
    for i in items:
        if bool(i.material) == bool(i.field):
            problems.append(Problem("supplement_item_target", "每项补正须且只须指明一个材料或一个表单字段",
                                    "Each item names exactly one material or one form field", "items"))
            continue
        if i.material and item.material(i.material) is None:
            problems.append(Problem("material_unknown", f"该事项没有材料“{i.material}”",
                                    f"The item has no material {i.material!r}", i.target))
        if i.material and (spec := item.material(i.material)) is not None and spec.obtained_by_bus:
            problems.append(Problem("material_obtained_by_bus", f"材料“{spec.name_zh}”由系统调取，不能要求申请人补正",
                                    f"Material {spec.name_en!r} is obtained by the bus, not from the applicant",
                                    i.target))
        if i.field and item.field(i.field) is None:
            problems.append(Problem("field_unknown", f"该事项没有表单字段“{i.field}”",
                                    f"The item has no form field {i.field!r}", i.target))
        if i.target in seen:
            problems.append(Problem("supplement_item_duplicate", f"“{i.target}”重复列出",
                                    f"{i.target} is listed twice", i.target))
        seen.add(i.target)
    return problems


def resubmission_problems(app: Application, item: ServiceItem) -> list[Problem]:
    """Everything the open round still lacks, at once: each requested material verified since it was
    asked for, each requested field answered validly."""
    from .conditions import validate_answers

    assert app.case is not None
    problems: list[Problem] = []
    answer_problems = {p.field: p for p in validate_answers(item.form, app.answers)[1]}
    for request in app.case.open_round():
        for i in request.items:
            if i.material:
                slot = app.materials[i.material]
                fresh = slot.updated_at is not None and slot.updated_at > request.requested_at
                if not (fresh and slot.status is MaterialStatus.VERIFIED):
                    spec = item.material(i.material)
                    name_zh, name_en = (spec.name_zh, spec.name_en) if spec else (i.material, i.material)
                    problems.append(Problem(
                        "supplement_material_pending", f"补正材料“{name_zh}”尚未重新上传或未通过核验",
                        f"The supplement of {name_en!r} has not been uploaded or verified", i.target,
                        {"requested_by": request.department, "status": slot.status.value, "reason": i.code,
                         "problems": slot.problems if slot.status is MaterialStatus.REJECTED else []}))
            elif i.field and (p := answer_problems.get(i.field)) is not None:
                problems.append(Problem(p.code, p.message_zh, p.message_en, i.target))
            elif i.field and i.field not in app.answers:
                problems.append(Problem("supplement_field_pending", f"补正信息“{i.field}”尚未填写",
                                        f"The requested field {i.field!r} is not answered", i.target))
    asked = {i.material for r in app.case.open_round() for i in r.items if i.material}
    for code in newly_needed(app) - asked:
        spec = item.material(code)
        name_zh, name_en = (spec.name_zh, spec.name_en) if spec else (code, code)
        problems.append(Problem("material_missing", f"补正后的信息需要材料“{name_zh}”",
                                f"The corrected answers need material {name_en!r}", f"material:{code}",
                                {"status": app.materials[code].status.value}))
    return problems


def newly_needed(app: Application) -> set[str]:
    """Uploads the current answers require that are not verified: during a supplement round these are
    the conditional materials a corrected answer brought in (everything else was verified at acceptance)."""
    return {code for code, slot in app.materials.items()
            if slot.required and slot.source == "upload" and slot.status is not MaterialStatus.VERIFIED}


def resubmit(app: Application, item: ServiceItem, open_tasks: list[DepartmentTask], actor: dict[str, str],
             now: datetime) -> CaseChange:
    """The applicant answered the round: the clock resumes, every open deadline moves on by the
    working days it was paused (never back), and the departments are told."""
    require(app.status, Action.RESUBMIT)
    assert app.case is not None and app.case.paused_since is not None
    problems = resubmission_problems(app, item)
    if problems:
        raise ValidationFailed("补正尚未完成，请按以下问题一次性补齐",
                               "The supplement is incomplete; every problem is listed",
                               code="supplement_incomplete", problems=problems)
    stamp = _iso(now)
    paused = paused_working_days(date.fromisoformat(app.case.paused_since), now.date())
    case_deadline, provisional = _extend(app.case.deadline, paused)
    supplements = [s.model_copy(update={"resubmitted_at": stamp}) if s.resubmitted_at is None else s
                   for s in app.case.supplements]
    round_no = app.case.supplement_rounds
    tasks: list[DepartmentTask] = []
    events: list[DomainEvent] = []
    for task in open_tasks:
        deadline, _ = _extend(task.deadline, paused)
        moved = task.model_copy(update={"deadline": deadline, "status": TaskStatus.ASSIGNED,
                                        "warned_at": None if deadline != task.deadline else task.warned_at})
        tasks.append(moved)
        events.append(DomainEvent.raised(
            "onetrip.task.supplemented", now, application_id=app.id, recipients=[task.department], actor=actor,
            subject=f"tasks/{task.id}",
            data=case_data(app, task_id=task.id, department=task.department, round=round_no,
                           paused_working_days=paused, deadline=deadline,
                           links={"task": f"/v1/tasks/{task.id}"})))
    refs = _ref_update(app, *tasks)
    case = app.case.model_copy(update={
        "supplements": supplements, "paused_since": None, "deadline": case_deadline,
        "deadline_provisional": app.case.deadline_provisional or provisional,
        "paused_working_days": app.case.paused_working_days + paused})
    updated = app.model_copy(update={
        "status": move(app.status, Action.RESUBMIT, ApplicationStatus.RESUBMITTED), "case": case, "tasks": refs,
        "updated_at": stamp})
    return CaseChange(app=updated, events=events, changed_tasks=tasks, watch=[watch_of(t) for t in tasks],
                      previous_status=app.status)


def paused_working_days(since: date, resumed: date) -> int:
    """Working days the clock stood still: since ≤ d < resumed. The day of the request is not
    counted against the department; the day of resubmission counts again."""
    if resumed <= since:
        return 0
    return working_days_between(since, resumed) + (1 if is_working_day_or_weekday(since) else 0) - (
        1 if is_working_day_or_weekday(resumed) else 0)


def _extend(deadline: str, working_days: int) -> tuple[str, bool]:
    if working_days <= 0:
        return deadline, False
    extended, provisional = deadline_after(date.fromisoformat(deadline), working_days)
    return extended.isoformat(), provisional


# -- withdrawal, results, closing ------------------------------------------------------------------


def withdraw(app: Application, open_tasks: list[DepartmentTask], actor: dict[str, str], now: datetime) -> CaseChange:
    """The applicant withdraws before any decision: open tasks are cancelled and their departments told."""
    previous = app.status
    status = move(app.status, Action.WITHDRAW, ApplicationStatus.WITHDRAWN)
    stamp = _iso(now)
    cancelled = [t.model_copy(update={"status": TaskStatus.CANCELLED}) for t in open_tasks]
    refs = _ref_update(app, *cancelled)
    updated = app.model_copy(update={"status": status, "withdrawn_at": stamp, "updated_at": stamp, "tasks": refs})
    events = [DomainEvent.raised(
        "onetrip.case.withdrawn", now, application_id=app.id, recipients=case_recipients(app), actor=actor,
        subject=f"cases/{app.case.case_number}" if app.case else f"applications/{app.id}",
        data=case_data(app, previous_status=previous.value))]
    paused = app.case is not None and app.case.paused_since is not None
    return CaseChange(app=updated, events=events, changed_tasks=cancelled,
                      unwatch=[] if paused else [watch_of(t) for t in open_tasks], previous_status=previous)


def issue_result(app: Application, method: str, actor: dict[str, str], now: datetime, *,
                 address_ciphertext: str | None = None, office: str | None = None) -> CaseChange:
    """送达: the decided case's result reaches the applicant in one place, by the method they choose."""
    status = move(app.status, Action.ISSUE_RESULT, ApplicationStatus.RESULT_ISSUED)
    assert app.case is not None
    issuance = Issuance(method=method, at=_iso(now), address_ciphertext=address_ciphertext, office=office)
    updated = app.model_copy(update={"status": status, "case": app.case.model_copy(update={"issuance": issuance}),
                                     "updated_at": _iso(now)})
    event = DomainEvent.raised("onetrip.case.result_issued", now, application_id=app.id, actor=actor,
                               recipients=case_recipients(app), subject=f"cases/{app.case.case_number}",
                               data=case_data(app, method=method))
    return CaseChange(app=updated, events=[event], previous_status=app.status)


def close(app: Application, actor: dict[str, str], now: datetime) -> CaseChange:
    """办结: the applicant confirms the result arrived (or rates it after it was issued)."""
    status = move(app.status, Action.CLOSE, ApplicationStatus.CLOSED)
    assert app.case is not None
    updated = app.model_copy(update={"status": status, "updated_at": _iso(now),
                                     "case": app.case.model_copy(update={"closed_at": _iso(now)})})
    event = DomainEvent.raised("onetrip.case.closed", now, application_id=app.id, actor=actor,
                               recipients=[app.case.provincial] if app.case.provincial else [],
                               subject=f"cases/{app.case.case_number}", data=case_data(app))
    return CaseChange(app=updated, events=[event], previous_status=app.status)


# -- visits and ratings ---------------------------------------------------------------------------


def record_visit(app: Application, principal: Principal, reason: str, now: datetime) -> CaseChange:
    """One trip in person, recorded by window staff or a terminal; over the item's maximum it is
    flagged (the one-trip promise was broken) but still recorded."""
    require(app.status, Action.RECORD_VISIT)
    if reason not in VISIT_REASONS:
        raise ValidationFailed(problems=[Problem("visit_reason_invalid", "到场事由无效", "Unknown visit reason",
                                                 "reason", {"allowed": list(VISIT_REASONS)})])
    visit = Visit(at=_iso(now), by_kind=principal.kind.value, place=principal.binding or "", reason=reason)
    updated = app.model_copy(update={"visits": [*app.visits, visit], "updated_at": _iso(now)})
    max_visits = app.case.max_visits if app.case else 1
    event = DomainEvent.raised(
        "onetrip.case.visit_recorded", now, application_id=app.id, actor=principal.actor(), recipients=[],
        subject=f"applications/{app.id}",
        data=case_data(app, visits=len(updated.visits), max_visits=max_visits, reason=reason,
                       over_limit=len(updated.visits) > max_visits))
    return CaseChange(app=updated, events=[event], previous_status=app.status)


def rate(app: Application, level: int, comment: str | None, actor: dict[str, str], now: datetime) -> CaseChange:
    """好差评 once per case, after the decision. Dissatisfied (≤ 2) opens a rectification task for the
    responsible department: the one that rejected, else the lead department. Rating an issued result
    closes the case."""
    require(app.status, Action.RATE)
    assert app.case is not None
    if app.case.rating is not None:
        raise Conflict("该办件已评价", "This case has been rated already", code="already_rated",
                       detail={"current_state": app.status.value})
    stamp = _iso(now)
    new_tasks: list[DepartmentTask] = []
    events: list[DomainEvent] = []
    rectification_id = None
    if level <= DISSATISFIED:
        reviews = [r for r in app.tasks if r.kind is TaskKind.REVIEW]
        responsible = next((r for r in reviews if r.outcome is not None and r.outcome.value == "rejected"), reviews[0])
        deadline = deadline_after(now.date(), RECTIFICATION_DAYS)[0].isoformat()
        task = DepartmentTask(
            id=new_id("tsk_"), application_id=app.id, case_number=app.case.case_number, item_code=app.item_code,
            item_version=app.item_version, department=responsible.department, office=responsible.office,
            created_at=stamp, deadline=deadline, original_deadline=deadline, kind=TaskKind.RECTIFICATION)
        rectification_id = task.id
        new_tasks.append(task)
        events.append(DomainEvent.raised(
            "onetrip.task.assigned", now, application_id=app.id, recipients=[task.department], actor=actor,
            subject=f"tasks/{task.id}",
            data=case_data(app, task_id=task.id, department=task.department, office=task.office,
                           kind=TaskKind.RECTIFICATION.value, deadline=deadline, rating_level=level,
                           links={"task": f"/v1/tasks/{task.id}"})))
    rating = Rating(level=level, comment=comment, at=stamp, rectification_task_id=rectification_id)
    case = app.case.model_copy(update={"rating": rating})
    refs = [*app.tasks, *(TaskRef(task_id=t.id, department=t.department, office=t.office, kind=t.kind,
                                  deadline=t.deadline) for t in new_tasks)]
    update: dict[str, Any] = {"case": case, "tasks": refs, "updated_at": stamp}
    events.insert(0, DomainEvent.raised(
        "onetrip.case.rated", now, application_id=app.id, actor=actor, subject=f"cases/{app.case.case_number}",
        recipients=[app.case.provincial] if app.case.provincial else [],
        data=case_data(app, level=level, rectification_task_id=rectification_id)))
    change = CaseChange(app=app.model_copy(update=update), events=events, new_tasks=new_tasks,
                        watch=[watch_of(t) for t in new_tasks], previous_status=app.status)
    if app.status is ApplicationStatus.RESULT_ISSUED:
        closed = close(change.app, actor, now)
        change.app, change.events = closed.app, [*change.events, *closed.events]
    return change


def close_rectification(app: Application, task: DepartmentTask, note: str, actor: dict[str, str],
                        now: datetime) -> CaseChange:
    if task.kind is not TaskKind.RECTIFICATION:
        raise Conflict("只有整改任务可以整改办结", "Only a rectification task is closed this way",
                       code="task_not_a_rectification")
    if task.status is not TaskStatus.ASSIGNED:
        raise Conflict("该整改任务已办结", "This rectification is closed already", code="task_already_decided",
                       detail={"current_state": task.status.value})
    stamp = _iso(now)
    done = task.model_copy(update={"status": TaskStatus.DECIDED, "note": note, "decided_at": stamp})
    on_time = now.date().isoformat() <= task.deadline
    event = DomainEvent.raised(
        "onetrip.rectification.closed", now, application_id=app.id, recipients=[], actor=actor,
        subject=f"tasks/{task.id}", data=case_data(app, task_id=task.id, department=task.department, on_time=on_time))
    return CaseChange(app=app.model_copy(update={"tasks": _ref_update(app, done), "updated_at": stamp}),
                      events=[event], changed_tasks=[done], unwatch=[watch_of(task)], previous_status=app.status)


# -- the deadline sweep ---------------------------------------------------------------------------


def next_working_day(day: date) -> date:
    """Provisional (a weekday) when the next year's schedule is not imported yet: the sweep never stops."""
    return deadline_after(day, 1)[0]


def sweep_task(app: Application, task: DepartmentTask, today: date, now: datetime) -> CaseChange | None:
    """Warn the department one working day before its deadline; escalate once it has passed (to the
    supervising admins too). None when nothing is due or the task is no longer open or watched."""
    if task.status not in OPEN_TASK_STATUSES or task.status is TaskStatus.SUPPLEMENT_REQUESTED:
        return None
    if app.case is not None and app.case.paused_since is not None and task.kind is TaskKind.REVIEW:
        return None  # paused: the supplement round's resubmission watches it again
    deadline = date.fromisoformat(task.deadline)
    stamp = _iso(now)
    update: dict[str, Any] = {}
    event_type = None
    if today > deadline and task.breached_at is None:
        update = {"breached_at": stamp, "warned_at": task.warned_at or stamp}
        event_type = "onetrip.task.deadline_breached"
    elif today <= deadline and next_working_day(today) >= deadline and task.warned_at is None:
        update = {"warned_at": stamp}
        event_type = "onetrip.task.deadline_warning"
    if event_type is None:
        return None
    swept = task.model_copy(update=update)
    event = DomainEvent.raised(event_type, now, application_id=app.id, recipients=[task.department], actor=SYSTEM,
                               subject=f"tasks/{task.id}",
                               data=case_data(app, task_id=task.id, department=task.department, kind=task.kind.value,
                                              deadline=task.deadline, links={"task": f"/v1/tasks/{task.id}"}))
    # A breached task leaves the watch (escalated once); a warned one stays until its breach or decision.
    return CaseChange(app=app.model_copy(update={"tasks": _ref_update(app, swept)}), events=[event],
                      changed_tasks=[swept], unwatch=[watch_of(task)] if swept.breached_at else [],
                      previous_status=app.status)
