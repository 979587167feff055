"""The catalogue refuses entries that could not be served consistently."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.catalogue import MaterialSpec, ServiceItem, is_valid_code
from tests.unit.catalogue_samples import item, material


def test_committed_days_may_equal_statutory_days():
    assert item(committed_days=15, statutory_days=15).committed_days == 15


def test_committed_days_beyond_statutory_days_are_refused():
    with pytest.raises(ValidationError, match="committed_days"):
        item(committed_days=16, statutory_days=15)


def test_material_codes_must_be_unique_within_an_item():
    with pytest.raises(ValidationError, match="unique"):
        item(materials=(material("form"), material("form", types=("png",))))


@pytest.mark.parametrize("types", [("docx",), ("pdf", "exe"), ("PDF",)])
def test_unknown_file_types_are_refused(types):
    with pytest.raises(ValidationError, match="unknown file types"):
        material("form", types=types)


def test_a_material_accepts_at_least_one_type():
    with pytest.raises(ValidationError):
        material("form", types=())


def test_accepted_mime_types_follow_the_declared_types():
    assert material("photo", types=("jpg", "png")).accepted_mime_types == ("image/jpeg", "image/png")


def test_departments_list_the_lead_first_then_the_joint_ones_in_order():
    joint = item(lead="dept-lead", joint=("dept-z", "dept-b"))
    assert joint.departments == ("dept-lead", "dept-z", "dept-b")
    assert item(lead="dept-lead").departments == ("dept-lead",)


@pytest.mark.parametrize("joint", [("dept-a",), ("dept-b", "dept-b")])
def test_a_department_is_listed_once(joint):
    with pytest.raises(ValidationError, match="once"):
        item(lead="dept-a", joint=joint)


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        ServiceItem.model_validate({**item().model_dump(), "status": "published"})
    with pytest.raises(ValidationError):
        MaterialSpec.model_validate({**material("form").model_dump(), "verified": True})


def test_an_item_needs_at_least_one_material():
    with pytest.raises(ValidationError):
        ServiceItem.model_validate({**item().model_dump(), "materials": []})


def test_content_hash_is_stable_and_changes_with_the_content():
    assert item().content_hash == item().content_hash
    assert item().content_hash != item(committed_days=2).content_hash


def test_material_lookup_by_code():
    sample = item()
    assert sample.material("form") is not None
    assert sample.material("nope") is None


@pytest.mark.parametrize("code,ok", [("YQ-AMR-0001", True), ("a.b_c", True), ("", False), ("-x", False),
                                     ("../x", False), ("a" * 65, False), ("事项", False)])
def test_codes_are_short_ascii_identifiers(code, ok):
    assert is_valid_code(code) is ok
