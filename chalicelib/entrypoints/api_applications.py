"""Applicants' routes: draft, upload materials, submit, follow the case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from .. import metrics
from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, Scope
from ..lazy import deferred
from ..observability import logger
from .auth import jwt_authorizer
from .http import api_route, page_params

if TYPE_CHECKING:
    from ..services import applications as service
    from ..services import cases
    from . import schemas
    from .schemas import CreateApplication, RequestUpload, UpdateAnswers
else:
    schemas = deferred("chalicelib.entrypoints.schemas")
    service = deferred("chalicelib.services.applications")
    cases = deferred("chalicelib.services.cases")

applications = Blueprint(__name__)


@api_route(applications, "POST", "/v1/applications", summary="Draft an application for a service item",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN,
           authorizer=jwt_authorizer, body=lambda: schemas.CreateApplication, response=lambda: schemas.ApplicationView,
           status=201)
def create_application(principal: Principal, body: CreateApplication) -> dict[str, Any]:
    return schemas.application_view(service.create_application(deps(), principal, body.item_code, body.enterprise_id,
                                                       body.answers, body.region_code))


@api_route(applications, "GET", "/v1/applications", summary="My applications, newest first",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN,
           authorizer=jwt_authorizer, response=lambda: schemas.ApplicationPage, query=("limit", "cursor"))
def list_applications(principal: Principal, _body: None) -> dict[str, Any]:
    limit, cursor = page_params(applications)
    page = service.list_own_applications(deps(), principal, limit, cursor)
    return {"items": [schemas.application_view(a) for a in page.items], "next_cursor": page.cursor}


@api_route(applications, "GET", "/v1/applications/{application_id}", summary="One of my applications",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN,
           authorizer=jwt_authorizer, response=lambda: schemas.ApplicationView)
def get_application(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.get_own_application(deps(), principal, application_id))


@api_route(applications, "PUT", "/v1/applications/{application_id}/answers",
           summary="Answer the item's form on a draft; the materials needed follow the answers",
           kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer,
           body=lambda: schemas.UpdateAnswers,
           response=lambda: schemas.ApplicationView)
def update_answers(principal: Principal, body: UpdateAnswers, application_id: str) -> dict[str, Any]:
    return schemas.application_view(service.update_answers(deps(), principal, application_id, body.answers))


@api_route(applications, "POST", "/v1/applications/{application_id}/materials/{material_code}/uploads",
           summary="A presigned S3 POST for one material", kinds=APPLICANT_KINDS, scope=Scope.APPLICATIONS_OWN,
           authorizer=jwt_authorizer,
           body=lambda: schemas.RequestUpload, response=lambda: schemas.UploadTicket, status=201)
def request_upload(principal: Principal, body: RequestUpload, application_id: str,
                   material_code: str) -> dict[str, Any]:
    app, post = service.request_upload(deps(), principal, application_id, material_code, body.content_type,
                                       body.file_name)
    slot = app.materials[material_code]
    return {"upload_id": slot.upload_id, "url": post.url, "fields": post.fields, "expires_at": post.expires_at,
            "max_size_bytes": post.max_size, "content_type": body.content_type,
            "application": schemas.application_view(app)}


@api_route(applications, "POST", "/v1/applications/{application_id}/submit",
           summary="Submit: accepted as a case (or awaiting the window's acceptance review), "
                   "or 422 with every problem at once", kinds=APPLICANT_KINDS,
           scope=Scope.APPLICATIONS_OWN, authorizer=jwt_authorizer, response=lambda: schemas.ApplicationView)
def submit_application(principal: Principal, _body: None, application_id: str) -> dict[str, Any]:
    metrics.count("ApplicationsSubmitted")
    accepted = cases.submit_application(deps(), principal, application_id)
    if accepted.status.value == "accepted":  # else submitted: the window's acceptance review comes first
        metrics.count("CasesAccepted")
    if accepted.case is not None:
        logger.append_keys(case_number=accepted.case.case_number)
    return schemas.application_view(accepted)
