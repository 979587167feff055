"""Department use cases on fakes: the inbox, one task with its materials, and the fan-in of decisions."""

from __future__ import annotations

import pytest

from chalicelib.domain.applications import ApplicationStatus, MaterialStatus, Outcome, Reason
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.services.applications import create_application
from chalicelib.services.cases import decide_task, submit_application
from chalicelib.services.materials import verify_material
from chalicelib.services.tasks import (
    get_department_task,
    list_department_tasks,
    task_with_materials,
)
from tests.unit.catalogue_samples import citizen, officer, seeded_deps, upload

REASON = Reason(code="form_unsigned", message_zh="申请书未签字", message_en="The form is not signed")


@pytest.fixture
def deps():
    return seeded_deps()


@pytest.fixture
def case(deps):
    """An accepted joint case (dept-a lead, dept-b joint); the optional material was never uploaded."""
    owner = citizen()
    app = create_application(deps, owner, "T-JOINT")
    for code in ("form", "photo"):
        verify_material(deps, upload(deps, owner, app.id, code))
    app = submit_application(deps, owner, app.id)
    tasks = {t.department: t for t in deps.store.tasks.values()}
    return app, tasks


def test_a_department_sees_its_own_task(deps, case):
    _, tasks = case
    assert get_department_task(deps, officer("dept-a"), tasks["dept-a"].id) == tasks["dept-a"]


def test_another_departments_task_is_not_found(deps, case):
    _, tasks = case
    with pytest.raises(NotFound) as exc:
        get_department_task(deps, officer("dept-b"), tasks["dept-a"].id)
    assert exc.value.code == "task_not_found"
    with pytest.raises(NotFound):
        get_department_task(deps, officer("dept-c"), tasks["dept-a"].id)
    with pytest.raises(NotFound):
        get_department_task(deps, citizen(), tasks["dept-a"].id)


@pytest.mark.parametrize("task_id", ["tsk_1", "../x", "", "app_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                                     "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV"])
def test_malformed_or_missing_task_ids_are_not_found(deps, case, task_id):
    with pytest.raises(NotFound):
        get_department_task(deps, officer("dept-a"), task_id)


def test_the_inbox_lists_only_the_departments_tasks(deps, case):
    _, tasks = case
    page = list_department_tasks(deps, officer("dept-b"), 10, None)
    assert [t.id for t in page.items] == [tasks["dept-b"].id]


def test_material_links_are_given_only_for_verified_materials(deps, case):
    app, tasks = case
    task, case_app, materials = task_with_materials(deps, officer("dept-a"), tasks["dept-a"].id)
    assert case_app.id == app.id and task.id == tasks["dept-a"].id
    assert case_app.materials["extra"].key is None
    assert sorted(m["code"] for m in materials) == ["form", "photo"]
    for m in materials:
        # Departments download the sealed copy of the verified bytes, not the upload key.
        slot = case_app.materials[m["code"]]
        assert slot.sealed_key == "verified/" + slot.key.removeprefix("materials/")
        assert m["download_url"] == f"https://downloads.example/{slot.sealed_key}?expires=300"
        assert m["download_expires_in"] == 300


def test_a_joint_case_is_decided_when_the_last_department_decides(deps, case):
    app, tasks = case
    assigned = list(deps.store.outbox)
    app_a, task_a = decide_task(deps, officer("dept-a"), tasks["dept-a"].id, Outcome.APPROVED, [])
    assert task_a.outcome is Outcome.APPROVED
    assert app_a.status is ApplicationStatus.IN_REVIEW
    # nothing to tell any department yet: the task's decision is for the audit trail only
    assert [(e.type, e.recipients) for e in deps.store.outbox[len(assigned):]] == [("onetrip.task.decided", [])]
    app_b, _ = decide_task(deps, officer("dept-b"), tasks["dept-b"].id, Outcome.REJECTED, [REASON])
    assert app_b.status is ApplicationStatus.DECIDED and app_b.outcome is Outcome.REJECTED
    stored = deps.store.get_application(app.id)
    assert stored.outcome is Outcome.REJECTED
    decided = deps.store.outbox[len(assigned) + 1:]
    assert [(e.type, e.recipients, e.data["outcome"]) for e in decided] == [
        ("onetrip.task.decided", [], "rejected"), ("onetrip.case.decided", ["dept-a", "dept-b"], "rejected")]


def test_a_department_cannot_decide_twice(deps, case):
    _, tasks = case
    decide_task(deps, officer("dept-a"), tasks["dept-a"].id, Outcome.APPROVED, [])
    with pytest.raises(Conflict):
        decide_task(deps, officer("dept-a"), tasks["dept-a"].id, Outcome.REJECTED, [REASON])
    assert deps.store.get_task(tasks["dept-a"].id).outcome is Outcome.APPROVED


def test_a_department_cannot_decide_another_departments_task(deps, case):
    _, tasks = case
    with pytest.raises(NotFound):
        decide_task(deps, officer("dept-b"), tasks["dept-a"].id, Outcome.APPROVED, [])
    assert deps.store.get_task(tasks["dept-a"].id).outcome is None


def test_a_slot_with_a_key_but_no_verified_status_gets_no_link(deps, case):
    app, tasks = case
    stored = deps.store.applications[app.id]
    rejected = stored.materials["extra"].model_copy(update={
        "status": MaterialStatus.REJECTED, "key": f"materials/{app.id}/extra/upl_x"})
    deps.store.applications[app.id] = stored.model_copy(update={"materials": {**stored.materials,
                                                                             "extra": rejected}})
    _, _, materials = task_with_materials(deps, officer("dept-b"), tasks["dept-b"].id)
    assert sorted(m["code"] for m in materials) == ["form", "photo"]
