"""The catalogue refuses entries that could not be served consistently."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.catalogue import MaterialSpec, ServiceItem, is_valid_code, json_schema
from chalicelib.domain.catalogue_lint import lint
from tests.unit.catalogue_samples import item, material


def test_committed_days_may_equal_statutory_days():
    assert item(committed_days=15, statutory_days=15).committed_days == 15


def test_committed_days_beyond_statutory_days_are_a_lint_finding_not_a_parse_error():
    # The linter reports it with its rule id (committed-exceeds-statutory); publishing refuses it.
    findings = lint([item(committed_days=16, statutory_days=15)])
    assert "committed-exceeds-statutory" in {f.rule for f in findings}


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
def test_a_department_listed_twice_gets_one_task_and_a_lint_finding(joint):
    listed_twice = item(lead="dept-a", joint=joint)
    assert len(listed_twice.departments) == len(set(listed_twice.departments))
    assert "joint-needs-two-departments" in {f.rule for f in lint([listed_twice])}


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        ServiceItem.model_validate({**item().model_dump(), "owner": "someone"})
    with pytest.raises(ValidationError):
        MaterialSpec.model_validate({**material("form").model_dump(), "verified": True})


def test_an_item_needs_at_least_one_material():
    with pytest.raises(ValidationError):
        ServiceItem.model_validate({**item().model_dump(), "materials": []})


def test_content_hash_is_stable_and_changes_with_the_content():
    assert item().content_hash == item().content_hash
    assert item().content_hash != item(committed_days=2).content_hash


def test_content_hash_ignores_the_version_number_and_lifecycle():
    assert item(version=1).content_hash == item(version=7, status="draft").content_hash


def test_a_conditional_material_is_not_also_required():
    with pytest.raises(ValidationError, match="condition"):
        MaterialSpec(code="m", name_zh="材料", name_en="M", required=True, condition="x")


def test_json_schema_describes_items_and_materials():
    schema = json_schema()
    assert schema["title"].startswith("OneTrip") and "materials" in schema["properties"]
    assert {"MaterialSpec", "FormField", "Stage"} <= set(schema["$defs"])


def test_material_lookup_by_code():
    sample = item()
    assert sample.material("form") is not None
    assert sample.material("nope") is None


@pytest.mark.parametrize("code,ok", [("YQ-AMR-0001", True), ("a.b_c", True), ("", False), ("-x", False),
                                     ("../x", False), ("a" * 65, False), ("事项", False)])
def test_codes_are_short_ascii_identifiers(code, ok):
    assert is_valid_code(code) is ok
