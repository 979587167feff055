"""Applicant use cases on fakes: drafts, upload requests, submission into a case."""

from __future__ import annotations

import pytest

from chalicelib.domain.applications import ApplicationStatus, MaterialStatus
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.services.applications import (
    create_application,
    get_own_application,
    list_own_applications,
    request_upload,
)
from chalicelib.services.cases import submit_application
from chalicelib.services.materials import verify_material
from tests.unit.catalogue_samples import VALID_ID, citizen, seeded_deps, upload


@pytest.fixture
def deps():
    return seeded_deps()


def ready(deps, item_code="T-JOINT", owner=None):
    owner = owner or citizen()
    app = create_application(deps, owner, item_code)
    for code in ("form", "photo"):
        assert verify_material(deps, upload(deps, owner, app.id, code)).outcome == "verified"
    return app


def test_create_application_stores_a_draft_of_the_latest_item_version(deps):
    app = create_application(deps, citizen(), "T-SINGLE")
    assert app.status is ApplicationStatus.DRAFT
    assert deps.store.get_application(app.id) == app
    assert set(app.materials) == {"form", "photo", "extra"}


@pytest.mark.parametrize("code", ["NOPE", "../T-SINGLE", ""])
def test_create_application_for_an_unknown_item_is_not_found(deps, code):
    with pytest.raises(NotFound):
        create_application(deps, citizen(), code)
    assert deps.store.applications == {}


def test_another_citizens_application_is_not_found(deps):
    app = create_application(deps, citizen("owner"), "T-SINGLE")
    with pytest.raises(NotFound) as exc:
        get_own_application(deps, citizen("intruder"), app.id)
    assert exc.value.code == "application_not_found"
    assert get_own_application(deps, citizen("owner"), app.id).id == app.id


@pytest.mark.parametrize("app_id", ["../../etc", "app_123", "APP#x", new_id("tsk_"), new_id("app_"), ""])
def test_malformed_or_missing_ids_are_not_found(deps, app_id):
    with pytest.raises(NotFound):
        get_own_application(deps, citizen(), app_id)


def test_an_applicant_lists_only_their_own_applications(deps):
    mine = [create_application(deps, citizen(), "T-SINGLE").id for _ in range(2)]
    create_application(deps, citizen("someone-else"), "T-SINGLE")
    page = list_own_applications(deps, citizen(), 10, None)
    assert sorted(a.id for a in page.items) == sorted(mine)


def test_request_upload_records_a_presigned_post_bound_to_the_spec(deps):
    app = create_application(deps, citizen(), "T-SINGLE")
    updated, post = request_upload(deps, citizen(), app.id, "form", "application/pdf", "申请书.pdf")
    slot = updated.materials["form"]
    assert post.key == slot.key and post.key.startswith(f"materials/{app.id}/form/upl_")
    assert deps.files.posts == [{"key": post.key, "content_type": "application/pdf", "max_size": 1000,
                                 "expires_in": 900, "key_prefix": f"materials/{app.id}/"}]
    assert post.max_size == 1000
    assert slot.status is MaterialStatus.UPLOAD_REQUESTED
    assert deps.store.get_application(app.id).version == app.version + 1


def test_request_upload_on_someone_elses_application_presigns_nothing(deps):
    app = create_application(deps, citizen("owner"), "T-SINGLE")
    with pytest.raises(NotFound):
        request_upload(deps, citizen("intruder"), app.id, "form", "application/pdf", None)
    assert deps.files.posts == []


def test_request_upload_with_a_wrong_type_presigns_nothing(deps):
    app = create_application(deps, citizen(), "T-SINGLE")
    with pytest.raises(ValidationFailed):
        request_upload(deps, citizen(), app.id, "form", "image/png", None)
    assert deps.files.posts == []


def test_submit_refuses_with_every_problem_at_once(deps):
    owner = citizen("unverified")
    app = create_application(deps, owner, "T-SINGLE")
    upload(deps, owner, app.id, "photo")  # uploaded, never verified
    with pytest.raises(Forbidden) as exc:
        submit_application(deps, owner, app.id)
    assert exc.value.code == "assurance_level_too_low"
    assert [(p.code, p.target) for p in exc.value.problems] == [
        ("identity_not_verified", "applicant"), ("material_missing", "form"),
        ("material_not_verified", "photo")]
    assert deps.store.tasks == {} and deps.store.outbox == []
    assert deps.store.get_application(app.id).status is ApplicationStatus.DRAFT


def test_submit_accepts_a_complete_application_into_tasks_and_outbox_events(deps):
    app = ready(deps)
    accepted = submit_application(deps, citizen(), app.id)
    assert accepted.status is ApplicationStatus.ACCEPTED
    assert accepted.case is not None and accepted.case.deadline == "2026-11-30"
    assert sorted(t.department for t in deps.store.tasks.values()) == ["dept-a", "dept-b"]
    assigned = [e for e in deps.store.outbox if e.type == "onetrip.task.assigned"]
    assert [(e.type, e.recipients) for e in assigned] == [
        ("onetrip.task.assigned", ["dept-a"]), ("onetrip.task.assigned", ["dept-b"])]
    assert {e.data["task_id"] for e in assigned} == set(deps.store.tasks)
    assert accepted.case.applicant["id_number_masked"] == "110105********002X"
    assert VALID_ID not in accepted.model_dump_json()


def test_submitting_twice_creates_nothing_more(deps):
    app = ready(deps)
    submit_application(deps, citizen(), app.id)
    with pytest.raises(Conflict):
        submit_application(deps, citizen(), app.id)
    assigned = [e for e in deps.store.outbox if e.type == "onetrip.task.assigned"]
    assert len(deps.store.tasks) == 2 and len(assigned) == 2


def test_someone_else_cannot_submit_my_application(deps):
    app = ready(deps)
    with pytest.raises(NotFound):
        submit_application(deps, citizen("intruder"), app.id)
    assert deps.store.tasks == {}
