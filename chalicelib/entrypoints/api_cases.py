"""Routes of a case after submission: the applicant's (resubmit, withdraw, result, close, rating), the
department's (supplement request, result document, rectification) and the counter's (window staff and
terminals: acceptance review, visits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, PrincipalKind, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import cases as service
    from . import case_schemas, schemas
    from .case_schemas import (
        CounterBody,
        IssueResultBody,
        RatingBody,
        RectificationBody,
        RefusalBody,
        ResultUploadBody,
        SupplementRequestBody,
        VisitBody,
    )
else:
    case_schemas = deferred("chalicelib.entrypoints.case_schemas")
    schemas = deferred("chalicelib.entrypoints.schemas")
    service = deferred("chalicelib.services.cases")

cases = Blueprint(__name__)
DEPARTMENTS = frozenset({PrincipalKind.DEPARTMENT})
WINDOW = frozenset({PrincipalKind.WINDOW_STAFF})
COUNTER = frozenset({PrincipalKind.WINDOW_STAFF, PrincipalKind.TERMINAL})


# -- applicant ------------------------------------------------------------------------------------


def _own(path: str, summary: str, **kw: Any) -> Any:
    return api_route(cases, "POST", path, summary=summary, kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN,
                     authorizer=jwt_authorizer, **kw)


@_own("/v1/applications/{application_id}/counter-pass",
      "A short-lived code to show at a window or terminal: only with it can the counter reach this application",
      response=lambda: case_schemas.CounterPass, status=201)
def counter_pass(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    code, expires = service.counter_pass(deps(), principal, application_id)
    return {"code": code, "expires_at": expires}


@_own("/v1/applications/{application_id}/resubmit", "Resubmit after a supplement request (补正): the clock resumes",
      response=lambda: schemas.ApplicationView)
def resubmit(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.resubmit(deps(), principal, application_id))


@_own("/v1/applications/{application_id}/withdraw", "Withdraw the application or case before a decision",
      response=lambda: schemas.ApplicationView)
def withdraw(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.withdraw(deps(), principal, application_id))


@_own("/v1/applications/{application_id}/result", "Take the decided case's result: download, mail or pick-up",
      body=lambda: case_schemas.IssueResultBody, response=lambda: case_schemas.ResultView)
def issue_result(principal: Principal, body: IssueResultBody, application_id: str) -> dict[str, Any]:
    app, documents = service.issue_result(deps(), principal, application_id, body.method, body.address, body.office)
    return {"application": schemas.application_view(app), "documents": documents}


@api_route(cases, "GET", "/v1/applications/{application_id}/result", summary="Fresh links to an issued result",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           response=lambda: case_schemas.ResultView)
def get_result(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    app, documents = service.own_result(deps(), principal, application_id)
    return {"application": schemas.application_view(app), "documents": documents}


@_own("/v1/applications/{application_id}/close", "Confirm the result arrived: the case is closed (办结)",
      response=lambda: schemas.ApplicationView)
def close(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.close(deps(), principal, application_id))


@_own("/v1/applications/{application_id}/rating", "Rate the decided case (好差评), once",
      body=lambda: case_schemas.RatingBody,
      response=lambda: schemas.ApplicationView, status=201)
def rate(principal: Principal, body: RatingBody, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.rate(deps(), principal, application_id, body.level, body.comment))


# -- departments ----------------------------------------------------------------------------------


def _department(path: str, summary: str, **kw: Any) -> Any:
    return api_route(cases, "POST", path, summary=summary, kinds=DEPARTMENTS, scope=Scope.TASKS_DEPARTMENT,
                     authorizer=jwt_authorizer, **kw)


@_department("/v1/tasks/{task_id}/supplement-request",
             "Ask the applicant to supplement (补正): everything at once; pauses every clock of the case",
             body=lambda: case_schemas.SupplementRequestBody, response=lambda: schemas.TaskView, status=201)
def request_supplement(principal: Principal, body: SupplementRequestBody, task_id: str) -> dict[str, Any]:
    return schemas.task_view(service.request_supplement(deps(), principal, task_id, body.items)[1])


@_department("/v1/tasks/{task_id}/result-uploads", "A presigned POST for the task's result document (PDF)",
             body=lambda: case_schemas.ResultUploadBody, response=lambda: case_schemas.ResultUploadTicket, status=201)
def result_upload(principal: Principal, body: ResultUploadBody, task_id: str) -> dict[str, Any]:
    upload_id, post = service.result_upload(deps(), principal, task_id, body.content_type)
    return {"upload_id": upload_id, "url": post.url, "fields": post.fields, "expires_at": post.expires_at,
            "max_size_bytes": post.max_size}


@_department("/v1/tasks/{task_id}/rectification", "Close a rectification task (整改) with what was put right",
             body=lambda: case_schemas.RectificationBody, response=lambda: schemas.TaskView)
def close_rectification(principal: Principal, body: RectificationBody, task_id: str) -> dict[str, Any]:
    return schemas.task_view(service.close_rectification(deps(), principal, task_id, body.note))


# -- the counter ----------------------------------------------------------------------------------


@api_route(cases, "POST", "/v1/counter/applications/{application_id}/accept",
           summary="Acceptance review passed at the window (受理): the case starts; the visit is recorded",
           kinds=WINDOW, scope=Scope.CASES_COUNTER, authorizer=jwt_authorizer, body=lambda: case_schemas.CounterBody,
           response=lambda: schemas.ApplicationView)
def accept_at_window(principal: Principal, body: CounterBody, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.accept_at_window(deps(), principal, application_id, body.pass_code))


@api_route(cases, "POST", "/v1/counter/applications/{application_id}/refuse",
           summary="Refuse at acceptance (不予受理), with reasons", kinds=WINDOW, scope=Scope.CASES_COUNTER,
           authorizer=jwt_authorizer, body=lambda: case_schemas.RefusalBody, response=lambda: schemas.ApplicationView)
def refuse_at_window(principal: Principal, body: RefusalBody, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.refuse_at_window(deps(), principal, application_id, body.pass_code,
                                                     body.reasons))


@api_route(cases, "POST", "/v1/counter/applications/{application_id}/visits",
           summary="Record one visit in person (window staff or a terminal)", kinds=COUNTER,
           scope=Scope.CASES_COUNTER, authorizer=jwt_authorizer, body=lambda: case_schemas.VisitBody,
           response=lambda: schemas.ApplicationView,
           status=201)
def record_visit(principal: Principal, body: VisitBody, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.record_visit(deps(), principal, application_id, body.pass_code,
                                                 body.reason))
