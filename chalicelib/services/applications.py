"""Use cases of an applicant's draft: create it, answer the form, upload materials (submission and
everything after it: `services.cases`)."""

from __future__ import annotations

from typing import Any

from ..domain import applications as rules
from ..domain.applications import Application
from ..domain.catalogue import ServiceItem
from ..domain.errors import NotFound
from ..domain.ids import is_id, new_id
from ..domain.principals import Principal
from ..ports import Page, PresignedPost
from .catalogue import get_item
from .deps import Deps, retry_on_conflict
from .enterprises import acting_for


def create_application(deps: Deps, principal: Principal, item_code: str,
                       enterprise_id: str | None = None, answers: dict[str, Any] | None = None,
                       region_code: str | None = None) -> Application:
    item = get_item(deps.store, item_code)
    enterprise = acting_for(deps, principal, enterprise_id, item.code)
    typed = rules.draft_answers(item, answers or {})
    app = rules.new_application(new_id("app_"), principal, item, deps.now(), answers or {}, typed)
    if region_code is not None:
        app = app.model_copy(update={"region_code": region_code})
    if enterprise is not None:
        app = app.model_copy(update={"enterprise": {
            "id": enterprise.id, "name_zh": enterprise.name_zh, "credit_code_masked": enterprise.credit_code_masked}})
    deps.store.create_application(app)
    return app


def update_answers(deps: Deps, principal: Principal, app_id: str, answers: dict[str, Any]) -> Application:
    """New form answers on a draft: every invalid answer at once (422), and the materials it needs
    re-derived (a conditional material appears or disappears with its condition)."""

    def attempt() -> Application:
        app = get_own_application(deps, principal, app_id)
        item = pinned_item(deps, app)
        typed = rules.draft_answers(item, answers)
        return deps.store.save_application(rules.apply_answers(app, item, answers, typed, deps.now()), app.version)

    return retry_on_conflict(attempt)


def get_own_application(deps: Deps, principal: Principal, app_id: str) -> Application:
    """The applicant's own application; anyone else's, like a missing one, is simply not found."""
    app = deps.store.get_application(app_id) if is_id(app_id, "app_") else None
    if app is None or not app.is_owned_by(principal):
        raise NotFound.of("application", app_id)
    return app


def list_own_applications(deps: Deps, principal: Principal, limit: int, cursor: str | None) -> Page:
    return deps.store.list_applications(principal.sub, limit, cursor)


def request_upload(
    deps: Deps, principal: Principal, app_id: str, material_code: str, content_type: str, file_name: str | None,
) -> tuple[Application, PresignedPost]:
    """A presigned POST bound to one generated key, the declared type and the spec's size limit."""
    upload_id = new_id("upl_")

    def attempt() -> tuple[Application, str, int]:
        app = get_own_application(deps, principal, app_id)
        item = pinned_item(deps, app)
        updated, key = rules.issue_upload(app, item, material_code, content_type, file_name, upload_id, deps.now())
        spec = item.material(material_code)
        assert spec is not None
        return deps.store.save_application(updated, app.version), key, spec.max_size_bytes

    app, key, max_size = retry_on_conflict(attempt)
    post = deps.files.presigned_post(key, content_type, max_size, deps.settings.upload_url_ttl_seconds,
                                     key_prefix=rules.application_prefix(app.id))
    return app, post


def pinned_item(deps: Deps, app: Application) -> ServiceItem:
    item = deps.store.get_item_version(app.item_code, app.item_version)
    if item is None:  # a published version is never deleted; this is a data fault, not user error
        raise RuntimeError(f"catalogue version {app.item_code} v{app.item_version} is missing")
    return item
