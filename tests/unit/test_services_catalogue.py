"""Catalogue use cases on the fake store: drafts, publishing only with a clean lint, immutable versions,
diffs with their impact, the checklist and the search."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import Outcome
from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.departments import Department
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services import catalogue as svc
from infra.onetrip import catalogue_files as files
from tests.fakes import FakeStore
from tests.unit.catalogue_samples import FRIDAY, accepted, citizen

TODAY = date(2026, 11, 27)
PROVINCIAL = frozenset(p.base_code for p in files.load_provincial())


class Store(FakeStore):
    """The fake store with the department look-up the departments issue adds to the port (until it lands)."""

    def get_department(self, code: str) -> Department | None:
        return self.departments.get(code)


@pytest.fixture
def sample() -> dict[str, ServiceItem]:
    return {i.code: i for i in files.load_items(files.CATALOGUE_DIR)}


@pytest.fixture
def store() -> Store:
    s = Store()
    for raw in files.load_departments():
        s.put_department(Department.model_validate({k: v for k, v in raw.items() if k != "demo_receiver"}))
    return s


def test_publishing_all_drafts_numbers_versions_and_sets_validity(store, sample):
    svc.import_drafts(store, list(sample.values()))
    outcome = svc.publish_drafts(store, None, PROVINCIAL, TODAY)
    assert len(outcome.published) == len(sample) and outcome.unchanged == []
    item = store.get_item("YQ-RE-0010")
    assert (item.version, item.status, item.valid_from) == (1, "published", TODAY)
    assert store.list_drafts(10, None).items == []


def test_publishing_with_findings_is_refused_with_every_finding(store, sample):
    bad = sample["YQ-AMR-0001"].model_copy(update={
        "legal_basis": (), "materials": (*sample["YQ-AMR-0001"].materials,
                                         sample["YQ-AMR-0001"].materials[0].model_copy(
                                             update={"code": "extra", "name_zh": "其他相关材料"}))})
    svc.import_drafts(store, [bad])
    with pytest.raises(ValidationFailed) as info:
        svc.publish_drafts(store, ["YQ-AMR-0001"], PROVINCIAL, TODAY)
    assert info.value.code == "catalogue_lint_failed"
    assert {(p.code, p.target) for p in info.value.problems} >= {
        ("missing-legal-basis", "YQ-AMR-0001.legal_basis"), ("vague-wording", "YQ-AMR-0001.materials[3].name_zh")}
    assert store.get_item("YQ-AMR-0001") is None and store.get_draft("YQ-AMR-0001") is not None


def test_a_draft_referring_to_an_unregistered_department_is_refused(sample):
    svc.import_drafts(bare := Store(), [sample["YQ-AMR-0001"]])
    with pytest.raises(ValidationFailed) as info:
        svc.publish_drafts(bare, ["YQ-AMR-0001"], PROVINCIAL, TODAY)
    assert {p.code for p in info.value.problems} == {"unknown-department"}


def test_a_new_version_gets_the_next_number_and_the_old_one_stays(store, sample):
    item = sample["YQ-RE-0010"]
    svc.import_drafts(store, [item])
    svc.publish_drafts(store, ["YQ-RE-0010"], PROVINCIAL, TODAY)
    changed = item.model_copy(update={"committed_days": 3})
    svc.import_drafts(store, [changed])
    outcome = svc.publish_drafts(store, ["YQ-RE-0010"], PROVINCIAL, date(2026, 12, 1))
    assert [(i.version, i.committed_days) for i in outcome.published] == [(2, 3)]
    assert store.get_item_version("YQ-RE-0010", 1).committed_days == 5
    assert outcome.diffs[0].fields_changed == ["committed_days"]


def test_republishing_the_same_content_is_a_no_op(store, sample):
    svc.import_drafts(store, [sample["YQ-CIV-0001"]])
    svc.publish_drafts(store, ["YQ-CIV-0001"], PROVINCIAL, TODAY)
    svc.import_drafts(store, [sample["YQ-CIV-0001"]])
    outcome = svc.publish_drafts(store, ["YQ-CIV-0001"], PROVINCIAL, TODAY)
    assert outcome.published == [] and outcome.unchanged == ["YQ-CIV-0001"]
    assert store.get_item("YQ-CIV-0001").version == 1


def test_a_published_version_is_immutable(store, sample):
    item = sample["YQ-AMR-0001"]
    svc.publish_item(store, item)
    with pytest.raises(Conflict) as info:
        svc.publish_item(store, item.model_copy(update={"committed_days": 2}))
    assert info.value.code == "item_version_exists"


def test_publishing_unknown_drafts_names_them(store):
    with pytest.raises(NotFound) as info:
        svc.publish_drafts(store, ["NOPE-1", "../x"], PROVINCIAL, TODAY)
    assert info.value.detail == {"codes": ["NOPE-1", "../x"]}


def test_diff_lists_material_changes_and_counts_open_cases_under_the_old_version(store, sample):
    item = sample["YQ-RE-0010"]
    svc.publish_item(store, item)
    # two open applications and one decided case under v1
    for n in range(2):
        store.create_application(rules.new_application(f"app_{n}", citizen(), item, FRIDAY))
    case, tasks, _ = accepted(item)
    for task in tasks:
        case, _, _ = rules.decide(case, task, Outcome.APPROVED, [], FRIDAY)
    store.create_application(case)
    materials = [m for m in item.materials if m.code != "tax-declaration"]
    materials[0] = materials[0].model_copy(update={"max_size_bytes": 2048})
    draft = item.model_copy(update={"materials": (*materials, materials[-1].model_copy(
        update={"code": "buyer-id", "name_zh": "买方身份证", "condition": None, "required": True}))})
    svc.import_drafts(store, [draft])
    report = svc.diff_item(store, "YQ-RE-0010")
    assert report.pending_draft and (report.diff.from_version, report.diff.to_version) == (1, 2)
    assert report.diff.materials_added == ["buyer-id"]
    assert report.diff.materials_removed == ["tax-declaration"]
    assert report.diff.materials_changed == {"sale-contract": ["max_size_bytes"]}
    assert report.open_under_old == 2
    assert report.to_dict()["impact"] == {"open_applications_and_cases_under_old_version": 2}


def test_diff_of_an_unknown_item_is_404(store):
    with pytest.raises(NotFound):
        svc.diff_item(store, "NOPE")


def test_checklist_gives_exactly_the_needed_materials_and_their_source(store, sample):
    svc.publish_item(store, sample["YQ-PSB-HJ-0101"])
    married_with_child = svc.item_checklist(store, "YQ-PSB-HJ-0101", {"married_years": 3, "with_children": True})
    doc = married_with_child.to_dict()
    assert [(m["code"], m["source"]) for m in doc["materials"]] == [
        ("transfer-form", "upload"), ("marriage-certificate", "bus"), ("spouse-household-register", "bus"),
        ("residence-proof", "upload"), ("child-birth-certificate", "bus")]
    assert doc["materials"][1]["obtainable_from"] == {"e_certificate": "结婚证"}
    alone = svc.item_checklist(store, "YQ-PSB-HJ-0101", {"married_years": 3, "with_children": False})
    assert "child-birth-certificate" not in [m.code for m in alone.materials]


def test_checklist_tells_every_applicable_prerequisite(store, sample):
    svc.publish_item(store, sample["YQ-HRSS-0003"])
    resigned = svc.item_checklist(store, "YQ-HRSS-0003", {"separation": "resigned"}).to_dict()
    dismissed = svc.item_checklist(store, "YQ-HRSS-0003", {"separation": "dismissed"}).to_dict()
    assert len(resigned["prerequisites"]) == 2 and len(dismissed["prerequisites"]) == 1


def test_checklist_with_invalid_answers_lists_every_problem(store, sample):
    svc.publish_item(store, sample["YQ-RE-0010"])
    with pytest.raises(ValidationFailed) as info:
        svc.item_checklist(store, "YQ-RE-0010", {"marital_status": "complicated", "pets": 2})
    assert info.value.code == "answers_invalid"
    assert {(p.code, p.target) for p in info.value.problems} == {
        ("answer_invalid", "answers.marital_status"), ("answer_unknown_field", "answers.pets"),
        ("answer_required", "answers.buyer_first_home")}


def test_needed_materials_is_what_applications_should_require(sample):
    from chalicelib.domain.catalogue import needed_materials

    item = sample["YQ-RE-0010"]
    assert [m.code for m in needed_materials(item, {"marital_status": "married"})] == [
        "sale-contract", "property-certificate", "tax-declaration", "marriage-certificate"]
    assert [m.code for m in needed_materials(item, {"marital_status": "single"})] == [
        "sale-contract", "property-certificate", "tax-declaration"]


def test_search_finds_chinese_names_and_aliases_and_filters(store, sample):
    svc.reset_index()
    for item in sample.values():
        svc.publish_item(store, item)
    codes = lambda **kw: [i.code for i in svc.search_items(store, limit=50, cursor=None, **kw).items]  # noqa: E731
    assert codes(q="驾驶证", department=None, channel=None) == ["YQ-TRF-0001", "YQ-TRF-0002"]
    assert "YQ-RE-0010" in codes(q="二手房", department=None, channel=None)  # an alias
    assert codes(q="户口 迁移", department=None, channel=None)[0].startswith("YQ-PSB-HJ-010")
    assert codes(q="ＰＡＳＳＰＯＲＴ", department=None, channel=None) == ["YQ-PSB-CRJ-0001"]  # full-width, any case
    assert set(codes(q=None, department="yq-tax", channel=None)) == {
        "YQ-RE-0010", "YQ-RE-0011", "YQ-AMR-0002", "YQ-TAX-0001"}
    assert all("terminal" in sample[c].channels for c in codes(q=None, department=None, channel="terminal"))
    assert codes(q="量子计算", department=None, channel=None) == []
    svc.reset_index()


def test_search_pages_with_a_cursor_bound_to_the_query(store, sample):
    svc.reset_index()
    for item in sample.values():
        svc.publish_item(store, item)
    seen, cursor = [], None
    while True:
        page = svc.search_items(store, "证", None, None, 2, cursor)
        seen += [i.code for i in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert len(seen) == len(set(seen)) > 4
    first = svc.search_items(store, "证", None, None, 2, None)
    with pytest.raises(ValidationFailed):
        svc.search_items(store, "户口", None, None, 2, first.cursor)
    with pytest.raises(ValidationFailed) as info:
        svc.search_items(store, "x" * 51, "Not A Code!", "fax", 2, None)
    assert {p.code for p in info.value.problems} == {"query_too_long", "department_invalid", "channel_invalid"}
    svc.reset_index()
