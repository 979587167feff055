"""Use cases of a department: its inbox, one task with its materials, and its decision."""

from __future__ import annotations

from typing import Any

from ..domain import task_desk as desk
from ..domain.applications import Application, DepartmentTask
from ..domain.errors import NotFound, Problem, ValidationFailed
from ..domain.ids import is_id
from ..domain.principals import Principal
from ..ports import Page
from .access_log import task_material_links
from .deps import Deps, retry_on_conflict


def list_department_tasks(deps: Deps, principal: Principal, limit: int, cursor: str | None,
                          status: str | None = None) -> Page:
    assert principal.department is not None
    if status is not None and status not in desk.TASK_STATUSES:
        raise ValidationFailed(problems=[Problem("status_invalid", "任务状态无效", "Unknown task status", "status",
                                                 {"allowed": list(desk.TASK_STATUSES)})])
    return deps.store.list_tasks(principal.department, limit, cursor, status)


def claim_task(deps: Deps, principal: Principal, task_id: str) -> DepartmentTask:
    """The department (one of its officers or systems) takes the task; 409 if someone else holds it."""
    def attempt() -> DepartmentTask:
        task = get_department_task(deps, principal, task_id)
        claimed = desk.claim(task, principal.sub, deps.now())
        return task if claimed is None else deps.store.save_task(claimed, task.version)

    return retry_on_conflict(attempt)


def comment_on_task(deps: Deps, principal: Principal, task_id: str, text: str) -> desk.TaskComment:
    task = get_department_task(deps, principal, task_id)
    comment = desk.comment(task, principal.sub, text, deps.now())
    deps.store.add_task_comment(comment)
    return comment


def task_comments(deps: Deps, principal: Principal, task_id: str) -> list[desk.TaskComment]:
    get_department_task(deps, principal, task_id)
    return deps.store.list_task_comments(task_id)


def get_department_task(deps: Deps, principal: Principal, task_id: str) -> DepartmentTask:
    """Only the department the task belongs to sees it; to everyone else it does not exist."""
    task = deps.store.get_task(task_id) if is_id(task_id, "tsk_") else None
    if task is None or principal.department is None or task.department != principal.department:
        raise NotFound.of("task", task_id)
    return task


def task_with_materials(deps: Deps, principal: Principal, task_id: str) -> tuple[DepartmentTask, Application,
                                                                                    list[dict[str, Any]]]:
    """The task, its case, and a link to every verified material, uploaded or obtained (the read is
    recorded in the owner's access log)."""
    task = get_department_task(deps, principal, task_id)
    app = deps.store.get_application(task.application_id)
    if app is None:
        raise NotFound.of("task", task_id)
    return task, app, task_material_links(deps, principal, task, app)
