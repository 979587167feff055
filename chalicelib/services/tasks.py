"""Use cases of a department: its inbox, one task with its materials, and its decision."""

from __future__ import annotations

from typing import Any

from ..domain import applications as rules
from ..domain.applications import Application, DepartmentTask, Outcome, Reason
from ..domain.errors import NotFound
from ..domain.ids import is_id
from ..domain.principals import Principal
from ..ports import Page
from .deps import Deps, retry_on_conflict


def list_department_tasks(deps: Deps, principal: Principal, limit: int, cursor: str | None) -> Page:
    assert principal.department is not None
    return deps.store.list_tasks(principal.department, limit, cursor)


def get_department_task(deps: Deps, principal: Principal, task_id: str) -> DepartmentTask:
    """Only the department the task belongs to sees it; to everyone else it does not exist."""
    task = deps.store.get_task(task_id) if is_id(task_id, "tsk_") else None
    if task is None or principal.department is None or task.department != principal.department:
        raise NotFound.of("task", task_id)
    return task


def task_with_materials(deps: Deps, principal: Principal, task_id: str) -> tuple[DepartmentTask, Application,
                                                                                    list[dict[str, Any]]]:
    """The task, its case, and a short-lived presigned GET for each verified material."""
    task = get_department_task(deps, principal, task_id)
    app = deps.store.get_application(task.application_id)
    if app is None:
        raise NotFound.of("task", task_id)
    ttl = deps.settings.download_url_ttl_seconds
    materials = [
        {"code": slot.code, "content_type": slot.content_type, "size": slot.size, "sha256": slot.sha256,
         "file_name": slot.file_name, "download_url": deps.files.presigned_get(slot.key, ttl),
         "download_expires_in": ttl}
        for slot in app.materials.values()
        if slot.status is rules.MaterialStatus.VERIFIED and slot.key
    ]
    return task, app, materials


def decide_task(
    deps: Deps, principal: Principal, task_id: str, outcome: Outcome, reasons: list[Reason],
) -> tuple[Application, DepartmentTask]:
    def attempt() -> tuple[Application, DepartmentTask]:
        task = get_department_task(deps, principal, task_id)
        app = deps.store.get_application(task.application_id)
        if app is None:
            raise NotFound.of("task", task_id)
        new_app, new_task, events = rules.decide(app, task, outcome, reasons, deps.now())
        return deps.store.decide_task(new_app, app.version, new_task, task.version, events)

    return retry_on_conflict(attempt)
