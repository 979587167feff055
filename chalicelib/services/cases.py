"""Use cases of a case (办件) after submission, for every party: the applicant (resubmit, withdraw,
take the result, rate), the department (supplement request, decision with its result document,
rectification), window staff and terminals (acceptance review, visits) and the bus itself (the
deadline sweep). Each reads, decides by the rules and writes one `CaseChange` atomically; a lost race
is re-read and re-decided (`retry_on_conflict`), so concurrent actions never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ..domain import applications as rules
from ..domain import cases
from ..domain.applications import (
    Application,
    CaseChange,
    DepartmentTask,
    Outcome,
    Reason,
    ResultFile,
    Routing,
    SupplementItem,
)
from ..domain.catalogue import ServiceItem
from ..domain.errors import Conflict, NotFound, Problem, ValidationFailed
from ..domain.events import DomainEvent
from ..domain.ids import is_id, new_id
from ..domain.lifecycle import ApplicationStatus
from ..domain.materials import SNIFF_BYTES, sniff_type
from ..domain.principals import Principal
from ..ports import PresignedPost
from .applications import get_own_application, pinned_item
from .deps import Deps, retry_on_conflict
from .enterprises import acting_for
from .tasks import get_department_task
from .vault import certificate_problems

RESULT_MAX_BYTES = 20 * 1024 * 1024
RESULT_CONTENT_TYPES = ("application/pdf",)
# How far back the sweep looks for deadlines it has not escalated yet (a sweep that did not run
# for a while — an outage, a deploy — catches up within this window).
SWEEP_LOOKBACK_DAYS = 14


def _commit(deps: Deps, decide: Callable[[], CaseChange]) -> Application:
    return _commit_change(deps, decide)[0]


def _commit_change(deps: Deps, decide: Callable[[], CaseChange]) -> tuple[Application, CaseChange]:
    """The saved application and the change that won, whose tasks are as written (no read-back)."""
    def attempt() -> tuple[Application, CaseChange]:
        change = decide()
        return deps.store.save_case(change), change

    return retry_on_conflict(attempt)


def _written(change: CaseChange) -> DepartmentTask:
    """The task a change wrote, with the version the store gave it."""
    task = change.changed_tasks[0]
    return task.model_copy(update={"version": task.version + 1})


def routing(deps: Deps, app: Application, item: ServiceItem) -> Routing:
    """The town office of the applicant's jurisdiction for each department of a delegated item."""
    offices: dict[str, str | None] = {}
    if item.delegated_to and app.region_code:
        delegated = set(item.delegated_to)
        for code in item.departments:
            department = deps.store.get_department(code)
            if department is None:
                continue
            offices[code] = next((o.code for o in department.offices
                                  if o.code in delegated and o.serves(app.region_code)), None)
    return Routing(offices=offices, provincial=deps.settings.provincial_subscriber or None)


def _open_tasks(deps: Deps, app: Application) -> list[DepartmentTask]:
    tasks = [deps.store.get_task(ref.task_id) for ref in app.tasks if ref.status in rules.OPEN_TASK_STATUSES]
    return [t for t in tasks if t is not None and t.is_open]


# -- applicant ------------------------------------------------------------------------------------


def submit_application(deps: Deps, principal: Principal, app_id: str) -> Application:
    """Accept the application as a case, or refuse with every problem at once (raised by the rules)."""

    def decide() -> CaseChange:
        app = get_own_application(deps, principal, app_id)
        item = pinned_item(deps, app)
        if app.enterprise is not None:  # the authorization must still hold at acceptance
            acting_for(deps, principal, app.enterprise["id"], item.code)
        identity = deps.store.get_identity(principal.sub)
        return rules.submit(app, item, identity, principal, deps.now(), routing(deps, app, item),
                            source_problems=certificate_problems(deps, app, item))

    return _commit(deps, decide)


def resubmit(deps: Deps, principal: Principal, app_id: str) -> Application:
    def decide() -> CaseChange:
        app = get_own_application(deps, principal, app_id)
        return cases.resubmit(app, pinned_item(deps, app), _open_tasks(deps, app), principal.actor(), deps.now())

    return _commit(deps, decide)


def withdraw(deps: Deps, principal: Principal, app_id: str) -> Application:
    def decide() -> CaseChange:
        app = get_own_application(deps, principal, app_id)
        return cases.withdraw(app, _open_tasks(deps, app), principal.actor(), deps.now())

    return _commit(deps, decide)


def issue_result(deps: Deps, principal: Principal, app_id: str, method: str, address: str | None,
                 office: str | None) -> tuple[Application, list[dict[str, Any]]]:
    """The applicant takes the result: download (presigned GETs now), mail (address kept encrypted)
    or pick-up at an office. Asking again after it was issued only returns fresh links."""
    problems = []
    if method not in cases.ISSUE_METHODS:
        problems.append(Problem("issue_method_invalid", "送达方式无效", "Unknown delivery method", "method",
                                {"allowed": list(cases.ISSUE_METHODS)}))
    if method == "mail" and not address:
        problems.append(Problem("address_required", "邮寄送达须填写地址", "Mail needs an address", "address"))
    if method == "pickup" and not office:
        problems.append(Problem("office_required", "自取须选择领取地点", "Pick-up needs an office", "office"))
    if problems:
        raise ValidationFailed(problems=problems)

    def decide() -> CaseChange:
        app = get_own_application(deps, principal, app_id)
        ciphertext = deps.cipher.encrypt(address, {"application": app.id, "purpose": "result_mail"}) \
            if method == "mail" and address else None
        return cases.issue_result(app, method, principal.actor(), deps.now(), address_ciphertext=ciphertext,
                                  office=office if method == "pickup" else None)

    app = _commit(deps, decide)
    return app, result_links(deps, app) if method == "download" else []


def result_links(deps: Deps, app: Application) -> list[dict[str, Any]]:
    ttl = deps.settings.download_url_ttl_seconds
    return [{"task_id": ref.task_id, "department": ref.department, "name_zh": ref.result.name_zh,
             "name_en": ref.result.name_en, "content_type": ref.result.content_type, "size": ref.result.size,
             "sha256": ref.result.sha256, "download_url": deps.files.presigned_get(ref.result.key, ttl),
             "download_expires_in": ttl}
            for ref in app.tasks if ref.result is not None]


def own_result(deps: Deps, principal: Principal, app_id: str) -> tuple[Application, list[dict[str, Any]]]:
    """Fresh download links for an issued result (the issuing is recorded once, links any time)."""
    app = get_own_application(deps, principal, app_id)
    if app.status not in (ApplicationStatus.RESULT_ISSUED, ApplicationStatus.CLOSED):
        raise Conflict("结果尚未送达，请先选择送达方式",
                       "The result has not been issued; choose how to receive it first",
                       code="result_not_issued", detail={"current_state": app.status.value})
    return app, result_links(deps, app)


def close(deps: Deps, principal: Principal, app_id: str) -> Application:
    return _commit(deps, lambda: cases.close(get_own_application(deps, principal, app_id), principal.actor(),
                                             deps.now()))


def rate(deps: Deps, principal: Principal, app_id: str, level: int, comment: str | None) -> Application:
    return _commit(deps, lambda: cases.rate(get_own_application(deps, principal, app_id), level, comment,
                                            principal.actor(), deps.now()))


# -- window staff and terminals -------------------------------------------------------------------


def counter_pass(deps: Deps, principal: Principal, app_id: str) -> tuple[str, str]:
    """The applicant's code for the counter (the window or terminal reaches the application only with it)."""
    def attempt() -> tuple[str, str]:
        app = get_own_application(deps, principal, app_id)
        updated, code, expires = rules.issue_counter_pass(app, deps.now())
        deps.store.save_application(updated, app.version)
        return code, expires

    return retry_on_conflict(attempt)


def _presented(deps: Deps, app_id: str, pass_code: str) -> Application:
    """The application whose pass the applicant presented; without a valid pass it does not exist."""
    app = deps.store.get_application(app_id) if is_id(app_id, "app_") else None
    if app is None or not rules.counter_pass_valid(app, pass_code, deps.now()):
        raise NotFound.of("application", app_id)
    return app


def accept_at_window(deps: Deps, officer: Principal, app_id: str, pass_code: str) -> Application:
    def decide() -> CaseChange:
        app = _presented(deps, app_id, pass_code)
        item = pinned_item(deps, app)
        identity = deps.store.get_identity(app.owner_sub)
        return rules.accept_at_window(app, item, identity, officer, deps.now(), routing(deps, app, item),
                                      source_problems=certificate_problems(deps, app, item))

    return _commit(deps, decide)


def refuse_at_window(deps: Deps, officer: Principal, app_id: str, pass_code: str,
                     reasons: list[Reason]) -> Application:
    return _commit(deps, lambda: rules.refuse_at_window(_presented(deps, app_id, pass_code), officer, reasons,
                                                        deps.now()))


def record_visit(deps: Deps, principal: Principal, app_id: str, pass_code: str, reason: str) -> Application:
    return _commit(deps, lambda: cases.record_visit(_presented(deps, app_id, pass_code), principal, reason,
                                                    deps.now()))


# -- departments ----------------------------------------------------------------------------------


def _task_and_case(deps: Deps, principal: Principal, task_id: str) -> tuple[DepartmentTask, Application]:
    task = get_department_task(deps, principal, task_id)
    app = deps.store.get_application(task.application_id)
    if app is None:
        raise NotFound.of("task", task_id)
    return task, app


def request_supplement(deps: Deps, principal: Principal, task_id: str,
                       items: list[SupplementItem]) -> tuple[Application, DepartmentTask]:
    def decide() -> CaseChange:
        task, app = _task_and_case(deps, principal, task_id)
        return cases.request_supplement(app, task, pinned_item(deps, app), items, _open_tasks(deps, app),
                                        principal.actor(), deps.now())

    saved, change = _commit_change(deps, decide)
    return saved, _written(change)


def result_upload(deps: Deps, principal: Principal, task_id: str, content_type: str) -> tuple[str, PresignedPost]:
    """A presigned POST for the task's result document, bound to a generated key under the case."""
    task, app = _task_and_case(deps, principal, task_id)
    if content_type not in RESULT_CONTENT_TYPES:
        raise ValidationFailed(problems=[Problem("content_type_not_accepted", "结果文书只接受 PDF 文件",
                                                 "A result document must be a PDF", "content_type",
                                                 {"accepted": list(RESULT_CONTENT_TYPES)})])
    upload_id = new_id("upl_")
    prefix = f"results/{app.id}/{task.id}/"
    post = deps.files.presigned_post(prefix + upload_id, content_type, RESULT_MAX_BYTES,
                                     deps.settings.upload_url_ttl_seconds, key_prefix=prefix)
    return upload_id, post


def _result_file(deps: Deps, app: Application, item: ServiceItem, task: DepartmentTask,
                 upload_id: str) -> ResultFile:
    """The uploaded result document, checked (present, a PDF by its bytes, within the limit) and
    sealed so that the presigned upload cannot change what the applicant downloads."""
    key = f"results/{app.id}/{task.id}/{upload_id}"
    stored = deps.files.inspect(key, SNIFF_BYTES) if is_id(upload_id, "upl_") else None
    problem = None
    if stored is None:
        problem = Problem("result_not_uploaded", "结果文书尚未上传", "The result document has not been uploaded",
                          "result_upload_id")
    elif stored.size > RESULT_MAX_BYTES or sniff_type(stored.head) != "pdf":
        problem = Problem("result_not_a_pdf", "结果文书须为不超过 20 MB 的 PDF 文件",
                          "The result document must be a PDF of at most 20 MB", "result_upload_id")
    if problem is not None or stored is None:
        raise ValidationFailed(problems=[problem] if problem else [])
    sealed = deps.files.seal(key, stored.etag)
    if sealed is None:
        raise ValidationFailed(problems=[Problem("result_changed", "结果文书在核对时被改动，请重新上传",
                                                 "The result document changed while being checked; upload it again",
                                                 "result_upload_id")])
    document = item.results[0] if item.results else None
    return ResultFile(name_zh=document.name_zh if document else "办理结果", name_en=document.name_en if document
                      else "Decision", key=sealed, content_type="application/pdf", size=stored.size,
                      sha256=stored.sha256, e_certificate=bool(document and document.e_certificate))


def decide_task(deps: Deps, principal: Principal, task_id: str, outcome: Outcome, reasons: list[Reason],
                result_upload_id: str | None = None) -> tuple[Application, DepartmentTask]:
    result: ResultFile | None = None
    if result_upload_id is not None:
        task, app = _task_and_case(deps, principal, task_id)
        result = _result_file(deps, app, pinned_item(deps, app), task, result_upload_id)

    def decide() -> CaseChange:
        task, app = _task_and_case(deps, principal, task_id)
        return rules.decide_change(app, task, outcome, reasons, deps.now(), actor=principal.actor(), result=result)

    saved, change = _commit_change(deps, decide)
    return saved, _written(change)


def close_rectification(deps: Deps, principal: Principal, task_id: str, note: str) -> DepartmentTask:
    def decide() -> CaseChange:
        task, app = _task_and_case(deps, principal, task_id)
        return cases.close_rectification(app, task, note, principal.actor(), deps.now())

    return _written(_commit_change(deps, decide)[1])


# -- the bus ---------------------------------------------------------------------------------------


def certify_results(deps: Deps, event: DomainEvent) -> None:
    """Projection: an approved decision whose result document the catalogue marks as an e-certificate
    (电子证照) registers it for the applicant — from the stream, so it is never lost with a failed
    request, and idempotent (the registry returns the first registration of the same number)."""
    if event.type != "onetrip.task.decided" or not event.data.get("result") or event.data.get("outcome") != "approved":
        return
    app = deps.store.get_application(event.application_id)
    ref = next((r for r in app.tasks if r.task_id == event.data.get("task_id")), None) if app else None
    if app is None or ref is None or ref.result is None or not ref.result.e_certificate:
        return
    from .certificates import register_from_result

    register_from_result(deps, app, ref.result, ref.department, actor=event.actor)


def sweep_deadlines(deps: Deps) -> dict[str, int]:
    """Warn before and escalate after every watched deadline from the look-back window to the next
    working day: one Query per day, one transaction per task that needs telling."""
    now = deps.now()
    today = now.date()
    horizon = cases.next_working_day(today)
    counts = {"warned": 0, "breached": 0}
    day = today - timedelta(days=SWEEP_LOOKBACK_DAYS)
    while day <= horizon:
        for watch in deps.store.list_deadline_watch(day.isoformat()):
            outcome = _sweep_one(deps, watch.task_id, today)
            if outcome:
                counts[outcome] += 1
        day += timedelta(days=1)
    return counts


def _sweep_one(deps: Deps, task_id: str, today: date) -> str | None:
    def attempt() -> str | None:
        task = deps.store.get_task(task_id)
        app = deps.store.get_application(task.application_id) if task else None
        if task is None or app is None:
            return None
        change = cases.sweep_task(app, task, today, deps.now())
        if change is None:
            return None
        deps.store.save_case(change)
        breached = change.events[0].type.endswith("breached")
        if breached and deps.notifier is not None:  # escalate to the supervising admins
            deps.notifier.notify("deadline_breached", task.department, f"办件超期 {task.case_number}",
                                 {"task_id": task.id, "case_number": task.case_number, "deadline": task.deadline})
        return "breached" if breached else "warned"

    return retry_on_conflict(attempt)
