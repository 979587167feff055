"""Gaps in the case rules found while building the case simulation (bench/cases_simulation.py), now
fixed; each test failed before its fix.

1. Year end: acceptance already computes a provisional deadline when next year's holiday schedule
   is not imported yet, but three other calendar uses still raise `CalendarYearUnknown` — the
   deadline sweep's "next working day", a dissatisfied rating's rectification deadline, and the
   paused working days of a resubmission. Every year, from the last working days of December until
   an admin imports the new schedule, the sweep stopped and those requests failed with a 500; they
   now count weekdays provisionally, as acceptance does.
2. A form field a department asks to correct can bring in a conditional material: the resubmission
   was accepted without it, and the applicant could not have uploaded it (not asked for in the round).
   Now it is told at resubmission and may be uploaded during the round.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.applications import ApplicationStatus, Outcome, SupplementItem
from chalicelib.domain.catalogue import FieldType, FormField
from chalicelib.domain.errors import OneTripError
from chalicelib.services import cases
from chalicelib.services.applications import create_application, update_answers
from chalicelib.services.catalogue import publish_item
from chalicelib.services.materials import verify_material
from tests.unit.catalogue_samples import citizen, item, material, officer, seeded_deps, upload

FORM_UNSIGNED = SupplementItem(material="form", code="form_unsigned", message_zh="申请书未签字",
                               message_en="The form is not signed")


def _accepted(deps, code="T-SINGLE", answers=None):
    app = create_application(deps, citizen(), code, answers=answers)
    for m in ("form", "photo"):
        verify_material(deps, upload(deps, citizen(), app.id, m))
    return cases.submit_application(deps, citizen(), app.id)


def _at(deps, *args):
    deps.now.current = datetime(*args, 2, 0, tzinfo=UTC)



def test_the_deadline_sweep_keeps_running_on_the_last_working_day_of_a_year_without_next_years_schedule():
    deps = seeded_deps()
    _at(deps, 2026, 12, 30)
    _accepted(deps)  # committed 1 working day: due 31 December
    _at(deps, 2026, 12, 31)  # the next working day is in 2027, whose schedule is not published yet
    assert cases.sweep_deadlines(deps) == {"warned": 1, "breached": 0}



def test_a_dissatisfied_rating_in_the_last_week_of_a_year_opens_its_rectification():
    deps = seeded_deps()
    _at(deps, 2026, 12, 24)
    case = _accepted(deps)
    cases.decide_task(deps, officer("dept-a"), case.tasks[0].task_id, Outcome.APPROVED, [])
    _at(deps, 2026, 12, 28)  # five working days on reach into 2027
    rated = cases.rate(deps, citizen(), case.id, 1, None)
    assert rated.case.rating.rectification_task_id is not None



def test_a_supplement_answered_in_january_resumes_the_clock_before_the_new_years_schedule_is_imported():
    deps = seeded_deps()
    _at(deps, 2026, 12, 28)
    case = _accepted(deps)
    cases.request_supplement(deps, officer("dept-a"), case.tasks[0].task_id, [FORM_UNSIGNED])
    _at(deps, 2027, 1, 4)
    verify_material(deps, upload(deps, citizen(), case.id, "form"))
    resumed = cases.resubmit(deps, citizen(), case.id)
    assert resumed.status is ApplicationStatus.RESUBMITTED and resumed.case.deadline_provisional



def test_a_corrected_answer_that_needs_a_conditional_material_is_told_at_resubmission_and_can_be_supplied():
    deps = seeded_deps()
    publish_item(deps.store, item("T-COND", materials=(
        material("form", max_size=1000), material("photo", types=("jpg", "png")),
        material("foreign-id", required=False).model_copy(update={"condition": "foreign_investor"})),
        form=(FormField(name="foreign_investor", label_zh="有外国投资者", label_en="Has a foreign investor",
                        type=FieldType.BOOLEAN),)))
    case = _accepted(deps, "T-COND", answers={"foreign_investor": False})
    cases.request_supplement(deps, officer("dept-a"), case.tasks[0].task_id, [SupplementItem(
        field="foreign_investor", code="answer_inconsistent", message_zh="与章程不一致",
        message_en="Does not match the articles")])
    update_answers(deps, citizen(), case.id, {"foreign_investor": True})  # the articles name a foreign investor
    with pytest.raises(OneTripError) as refused:
        cases.resubmit(deps, citizen(), case.id)
    assert "foreign-id" in {p.target for p in refused.value.problems} | {
        p.target.removeprefix("material:") for p in refused.value.problems if p.target}
    verify_material(deps, upload(deps, citizen(), case.id, "foreign-id"))  # and it can be supplied
    assert cases.resubmit(deps, citizen(), case.id).status is ApplicationStatus.RESUBMITTED
