"""Departments' routes: their inbox, one task with its materials, and their decision."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.applications import Outcome
from ..domain.principals import Principal, PrincipalKind
from ..services import tasks as service
from .auth import jwt_authorizer
from .http import api_route, page_params
from .schemas import Decision, TaskDetail, TaskPage, TaskView, task_view

tasks = Blueprint(__name__)
DEPARTMENTS = frozenset({PrincipalKind.DEPARTMENT})


@api_route(tasks, "GET", "/v1/tasks", summary="My department's tasks, newest first", kinds=DEPARTMENTS,
           authorizer=jwt_authorizer, response=TaskPage, query=("limit", "cursor"))
def list_tasks(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(tasks)
    page = service.list_department_tasks(deps(), principal, limit, cursor)
    return {"items": [task_view(t) for t in page.items], "next_cursor": page.cursor}


@api_route(tasks, "GET", "/v1/tasks/{task_id}", summary="One task, its case and short-lived material links",
           kinds=DEPARTMENTS, authorizer=jwt_authorizer, response=TaskDetail)
def get_task(principal: Principal, _body: None, task_id: str) -> dict[str, Any]:
    task, app, materials = service.task_with_materials(deps(), principal, task_id)
    case = app.case.model_dump(mode="json") if app.case else None
    return {**task_view(task), "case": case, "materials": materials}


@api_route(tasks, "POST", "/v1/tasks/{task_id}/decision", summary="Approve or reject a task, with reasons",
           kinds=DEPARTMENTS, authorizer=jwt_authorizer, body=Decision, response=TaskView)
def decide_task(principal: Principal, body: Decision, task_id: str) -> dict[str, Any]:
    _app, task = service.decide_task(deps(), principal, task_id, Outcome(body.outcome), body.reasons)
    return task_view(task)
