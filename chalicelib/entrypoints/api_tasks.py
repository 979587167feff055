"""Departments' routes: their inbox, one task with its materials, and their decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..domain import applications
    from ..services import cases
    from ..services import tasks as service
    from . import delivery_schemas, schemas
    from .delivery_schemas import CommentBody
    from .schemas import Decision
else:
    applications = deferred("chalicelib.domain.applications")
    delivery_schemas = deferred("chalicelib.entrypoints.delivery_schemas")
    schemas = deferred("chalicelib.entrypoints.schemas")
    cases = deferred("chalicelib.services.cases")
    service = deferred("chalicelib.services.tasks")

tasks = Blueprint(__name__)
DEPARTMENTS = frozenset({PrincipalKind.DEPARTMENT})


@api_route(tasks, "GET", "/v1/tasks", summary="My department's tasks: open first, newest first; ?status= narrows",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer,
           response=lambda: schemas.TaskPage,
           query=("status", "limit", "cursor"))
def list_tasks(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(tasks)
    query: dict[str, str] = dict(tasks.current_request.query_params or {})
    status = query.get("status") or None
    page = service.list_department_tasks(deps(), principal, limit, cursor, status)
    return {"items": [schemas.task_view(t) for t in page.items], "next_cursor": page.cursor}


@api_route(tasks, "GET", "/v1/tasks/{task_id}", summary="One task, its case and short-lived material links",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer,
           response=lambda: schemas.TaskDetail)
def get_task(principal: Principal, _body: None, task_id: str) -> dict[str, Any]:
    task, app, materials = service.task_with_materials(deps(), principal, task_id)
    case = app.case.model_dump(mode="json") if app.case else None
    return {**schemas.task_view(task), "case": case, "materials": materials}


@api_route(tasks, "POST", "/v1/tasks/{task_id}/decision", summary="Approve or reject a task, with reasons",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer, body=lambda: schemas.Decision,
           response=lambda: schemas.TaskView)
def decide_task(principal: Principal, body: Decision, task_id: str) -> dict[str, Any]:
    _app, task = cases.decide_task(deps(), principal, task_id, applications.Outcome(body.outcome), body.reasons,
                                   body.result_upload_id)
    return schemas.task_view(task)


@api_route(tasks, "POST", "/v1/tasks/{task_id}/claim", summary="Take the task (409 if someone else holds it)",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer,
           response=lambda: schemas.TaskView)
def claim_task(principal: Principal, _body: None, task_id: str) -> dict[str, Any]:
    return schemas.task_view(service.claim_task(deps(), principal, task_id))


@api_route(tasks, "POST", "/v1/tasks/{task_id}/comments", summary="Add a note to the task (own department only)",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer,
           body=lambda: delivery_schemas.CommentBody,
           response=lambda: delivery_schemas.CommentView, status=201)
def comment_task(principal: Principal, body: CommentBody, task_id: str) -> dict[str, Any]:
    return service.comment_on_task(deps(), principal, task_id, body.text).model_dump(mode="json",
                                                                                      exclude={"department"})


@api_route(tasks, "GET", "/v1/tasks/{task_id}/comments", summary="The department's notes on the task",
           kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT, authorizer=jwt_authorizer,
           response=lambda: delivery_schemas.CommentPage)
def list_task_comments(principal: Principal, _body: None, task_id: str) -> dict[str, Any]:
    return {"items": [c.model_dump(mode="json", exclude={"department"})
                      for c in service.task_comments(deps(), principal, task_id)]}
