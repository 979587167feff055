"""Verification on arrival, on fakes: verdicts are recorded once, for the upload the slot expects."""

from __future__ import annotations

import pytest

from chalicelib.domain.applications import MaterialStatus
from chalicelib.services.applications import create_application, request_upload
from chalicelib.services.materials import verify_material
from tests.unit.catalogue_samples import PDF, PNG, citizen, seeded_deps, upload


@pytest.fixture
def deps():
    return seeded_deps()


@pytest.fixture
def app(deps):
    return create_application(deps, citizen(), "T-SINGLE")


def slot(deps, app, code="form"):
    return deps.store.get_application(app.id).materials[code]


def test_a_matching_file_is_verified(deps, app):
    key = upload(deps, citizen(), app.id, "form", PDF)
    result = verify_material(deps, key)
    assert (result.outcome, result.problem_codes) == ("verified", ())
    stored = slot(deps, app)
    assert stored.status is MaterialStatus.VERIFIED and stored.size == len(PDF) and stored.sha256


def test_a_pdf_that_is_really_a_png_is_rejected_with_its_reasons(deps, app):
    key = upload(deps, citizen(), app.id, "form", PNG + b"\x00" * 2000, "application/pdf")
    result = verify_material(deps, key)
    assert result.outcome == "rejected"
    assert result.problem_codes == ("file_too_large", "file_type_not_accepted")
    assert [p["code"] for p in slot(deps, app).problems] == ["file_too_large", "file_type_not_accepted"]
    assert slot(deps, app).status is MaterialStatus.REJECTED


def test_the_stale_key_of_a_superseded_upload_is_ignored(deps, app):
    old_key = upload(deps, citizen(), app.id, "form")
    _, post = request_upload(deps, citizen(), app.id, "form", "application/pdf", None)
    result = verify_material(deps, old_key)
    assert (result.outcome, result.reason) == ("ignored", "superseded_or_unknown_upload")
    current = slot(deps, app)
    assert current.status is MaterialStatus.UPLOAD_REQUESTED and current.key == post.key


def test_a_redelivered_event_records_one_verdict(deps, app):
    key = upload(deps, citizen(), app.id, "form")
    first = verify_material(deps, key)
    version = deps.store.get_application(app.id).version
    again = verify_material(deps, key)
    assert first.outcome == "verified" and again.outcome == "ignored"
    assert deps.store.get_application(app.id).version == version


@pytest.mark.parametrize("key", ["uploads/x/y/z", "materials/a/b", "materials/a/b/c/d", "../materials/a/b/c"])
def test_keys_outside_the_materials_layout_are_ignored(deps, key):
    assert verify_material(deps, key).outcome == "ignored"


def test_an_object_that_is_not_there_is_ignored(deps, app):
    _, post = request_upload(deps, citizen(), app.id, "form", "application/pdf", None)
    result = verify_material(deps, post.key)
    assert result.outcome == "ignored"
    assert slot(deps, app).status is MaterialStatus.UPLOAD_REQUESTED


def test_an_object_of_an_unknown_application_is_ignored(deps):
    result = verify_material(deps, "materials/app_01ARZ3NDEKTSV4RRFFQ69G5FAV/form/upl_1")
    assert (result.outcome, result.reason) == ("ignored", "unknown_application")
