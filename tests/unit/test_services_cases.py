"""Case use cases on fakes: a joint case through a supplement round, decisions with a result document,
issuing, rating and rectification; window acceptance with the counter pass; jurisdiction routing; the
deadline sweep; and lost races re-decided."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.applications import ApplicationStatus, Outcome, Reason, SupplementItem, TaskStatus
from chalicelib.domain.departments import Department, Office
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.services import cases
from chalicelib.services.applications import create_application
from chalicelib.services.catalogue import publish_item
from chalicelib.services.materials import verify_material
from tests.unit.catalogue_samples import PDF, citizen, item, officer, seeded_deps, upload

FORM_UNSIGNED = SupplementItem(material="form", code="form_unsigned", message_zh="申请书未签字",
                               message_en="The form is not signed")
WINDOW = Principal(sub="window-1", kind=PrincipalKind.WINDOW_STAFF, office="yq-centre")
TERMINAL = Principal(sub="kiosk-1", kind=PrincipalKind.TERMINAL, location="kiosk-01")


class Notified:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []

    def notify(self, kind: str, department: str, subject: str, detail: dict[str, Any]) -> None:
        self.sent.append((kind, department, subject, detail))


@pytest.fixture
def deps():
    d = seeded_deps()
    d.notifier = Notified()
    return d


def ready(deps, code="T-JOINT", owner=None, **kw):
    owner = owner or citizen()
    app = create_application(deps, owner, code, **kw)
    for material in ("form", "photo"):
        verify_material(deps, upload(deps, owner, app.id, material))
    return app


def tasks_of(deps, app_id):
    app = deps.store.get_application(app_id)
    return {ref.department: deps.store.get_task(ref.task_id) for ref in app.tasks}


def test_a_joint_case_through_one_supplement_round_to_an_issued_result_and_a_rating(deps):
    app = ready(deps)
    case = cases.submit_application(deps, citizen(), app.id)
    tasks = tasks_of(deps, app.id)
    deps.now.current += timedelta(hours=2)
    cases.request_supplement(deps, officer("dept-a"), tasks["dept-a"].id, [FORM_UNSIGNED])
    assert deps.store.get_application(app.id).status is ApplicationStatus.SUPPLEMENT_REQUESTED
    assert deps.store.list_deadline_watch(case.case.deadline) == []  # paused: nothing to warn about
    deps.now.current += timedelta(days=3)  # Monday
    verify_material(deps, upload(deps, citizen(), app.id, "form"))
    resumed = cases.resubmit(deps, citizen(), app.id)
    assert resumed.case.paused_working_days == 1 and resumed.case.deadline > case.case.deadline
    assert {w.task_id for w in deps.store.list_deadline_watch(resumed.case.deadline)} == {
        t.id for t in tasks.values()}
    # the department attaches its licence to the decision; the other decides without a document
    upload_id, post = cases.result_upload(deps, officer("dept-a"), tasks["dept-a"].id, "application/pdf")
    assert post.key.startswith(f"results/{app.id}/{tasks['dept-a'].id}/")
    deps.files.put(post.key, PDF, "application/pdf")
    cases.decide_task(deps, officer("dept-a"), tasks["dept-a"].id, Outcome.APPROVED, [], upload_id)
    decided, _ = cases.decide_task(deps, officer("dept-b"), tasks["dept-b"].id, Outcome.APPROVED, [])
    assert decided.status is ApplicationStatus.DECIDED and decided.outcome is Outcome.APPROVED
    assert deps.store.list_deadline_watch(resumed.case.deadline) == []
    issued, documents = cases.issue_result(deps, citizen(), app.id, "download", None, None)
    assert issued.status is ApplicationStatus.RESULT_ISSUED
    assert [d["department"] for d in documents] == ["dept-a"]
    assert documents[0]["download_url"].startswith(f"https://downloads.example/verified/results/{app.id}/")
    rated = cases.rate(deps, citizen(), app.id, 2, "补正来回两次")
    assert rated.status is ApplicationStatus.CLOSED  # rating an issued result closes the case
    rectification = deps.store.get_task(rated.case.rating.rectification_task_id)
    assert rectification.department == "dept-a"
    closed = cases.close_rectification(deps, officer("dept-a"), rectification.id, "已优化补正告知")
    assert closed.status is TaskStatus.DECIDED and closed.note == "已优化补正告知"
    types = [e.type for e in deps.store.outbox]
    for expected in ("onetrip.application.submitted", "onetrip.case.accepted", "onetrip.task.supplement_requested",
                     "onetrip.task.supplemented", "onetrip.case.decided", "onetrip.case.result_issued",
                     "onetrip.case.rated", "onetrip.case.closed", "onetrip.rectification.closed"):
        assert expected in types, expected
    assert all(e.actor for e in deps.store.outbox)


def test_a_result_that_is_not_a_pdf_or_missing_is_refused_and_the_task_stays_open(deps):
    app = ready(deps, "T-SINGLE")
    cases.submit_application(deps, citizen(), app.id)
    task = tasks_of(deps, app.id)["dept-a"]
    with pytest.raises(ValidationFailed) as exc:
        cases.decide_task(deps, officer("dept-a"), task.id, Outcome.APPROVED, [], "upl_01M8E2Y03B1V7ZFYD1ZEZEEFDZ")
    assert [p.code for p in exc.value.problems] == ["result_not_uploaded"]
    upload_id, post = cases.result_upload(deps, officer("dept-a"), task.id, "application/pdf")
    deps.files.put(post.key, b"MZ\x90\x00 not a pdf", "application/pdf")
    with pytest.raises(ValidationFailed) as exc:
        cases.decide_task(deps, officer("dept-a"), task.id, Outcome.APPROVED, [], upload_id)
    assert [p.code for p in exc.value.problems] == ["result_not_a_pdf"]
    assert deps.store.get_task(task.id).status is TaskStatus.ASSIGNED


def test_mail_issuing_keeps_the_address_encrypted_and_out_of_the_view(deps):
    from chalicelib.entrypoints.schemas import application_view

    app = ready(deps, "T-SINGLE")
    cases.submit_application(deps, citizen(), app.id)
    cases.decide_task(deps, officer("dept-a"), tasks_of(deps, app.id)["dept-a"].id, Outcome.APPROVED, [])
    with pytest.raises(ValidationFailed) as exc:
        cases.issue_result(deps, citizen(), app.id, "mail", None, None)
    assert [p.code for p in exc.value.problems] == ["address_required"]
    issued, links = cases.issue_result(deps, citizen(), app.id, "mail", "浙江省乐清市柳市镇前进路 1 号", None)
    assert links == [] and issued.case.issuance.address_ciphertext
    assert "前进路" not in str(application_view(issued))


def test_an_acceptance_review_happens_at_the_window_with_the_applicants_pass(deps):
    publish_item(deps.store, item("T-REVIEW", acceptance_review=True, max_visits=1))
    app = ready(deps, "T-REVIEW")
    submitted = cases.submit_application(deps, citizen(), app.id)
    assert submitted.status is ApplicationStatus.SUBMITTED and submitted.tasks == []
    with pytest.raises(NotFound):
        cases.accept_at_window(deps, WINDOW, app.id, "AAAAAAAA")
    code, _ = cases.counter_pass(deps, citizen(), app.id)
    with pytest.raises(NotFound):  # another applicant's code does not open this application
        cases.counter_pass(deps, citizen("intruder"), app.id)
    accepted = cases.accept_at_window(deps, WINDOW, app.id, code)
    assert accepted.status is ApplicationStatus.ACCEPTED and [v.place for v in accepted.visits] == ["yq-centre"]
    visited = cases.record_visit(deps, TERMINAL, app.id, code, "result_pickup")
    assert [v.by_kind for v in visited.visits] == ["window_staff", "terminal"]
    deps.now.current += timedelta(minutes=31)
    with pytest.raises(NotFound):
        cases.record_visit(deps, TERMINAL, app.id, code, "consultation")


def test_a_delegated_item_is_routed_to_the_town_office_of_the_applicants_region(deps):
    deps.store.put_department(Department(code="dept-a", name_zh="甲", name_en="A", offices=(
        Office(code="dept-a-liushi", name_zh="柳市", name_en="Liushi", region_codes=("330382101",)),
        Office(code="dept-a-hongqiao", name_zh="虹桥", name_en="Hongqiao", region_codes=("330382106",)))))
    publish_item(deps.store, item("T-TOWN", delegated_to=("dept-a-liushi", "dept-a-hongqiao")))
    hongqiao = cases.submit_application(deps, citizen(), ready(deps, "T-TOWN", region_code="330382106").id)
    elsewhere = cases.submit_application(deps, citizen(), ready(deps, "T-TOWN", region_code="330381001").id)
    assert [t.office for t in hongqiao.tasks] == ["dept-a-hongqiao"]
    assert [t.office for t in elsewhere.tasks] == [None]  # no town office serves it: the department itself


def test_the_province_hears_every_case_event_when_configured():
    d = seeded_deps(provincial_subscriber="zj-province")
    app = ready(d, "T-SINGLE")
    cases.submit_application(d, citizen(), app.id)
    cases.decide_task(d, officer("dept-a"), tasks_of(d, app.id)["dept-a"].id, Outcome.APPROVED, [])
    heard = [e.type for e in d.store.outbox if "zj-province" in e.recipients]
    assert heard == ["onetrip.case.accepted", "onetrip.case.decided"]


def test_the_sweep_warns_then_escalates_to_the_admins_once(deps):
    app = ready(deps, "T-SINGLE")
    case = cases.submit_application(deps, citizen(), app.id)  # committed 1 day: deadline Monday
    assert cases.sweep_deadlines(deps) == {"warned": 1, "breached": 0}  # Friday: Monday is the next working day
    assert cases.sweep_deadlines(deps) == {"warned": 0, "breached": 0}
    deps.now.current += timedelta(days=4)  # Tuesday
    assert cases.sweep_deadlines(deps) == {"warned": 0, "breached": 1}
    assert cases.sweep_deadlines(deps) == {"warned": 0, "breached": 0}
    assert [(k, d) for k, d, _, _ in deps.notifier.sent] == [("deadline_breached", "dept-a")]
    task = deps.store.get_task(case.tasks[0].task_id)
    assert task.warned_at and task.breached_at
    assert deps.store.get_application(app.id).tasks[0].breached_at == task.breached_at


def test_a_decision_that_loses_a_race_is_re_decided_not_overwritten(deps):
    app = ready(deps)
    cases.submit_application(deps, citizen(), app.id)
    tasks = tasks_of(deps, app.id)
    original = deps.store.save_case
    raced = []

    def save_after_the_other_department(change):
        if not raced:  # the other department's decision lands between this read and this write
            raced.append(True)
            cases.decide_task(deps, officer("dept-b"), tasks["dept-b"].id, Outcome.REJECTED, [
                Reason(code="zoning", message_zh="不符合规划", message_en="Against zoning")])
        return original(change)

    deps.store.save_case = save_after_the_other_department
    decided, _ = cases.decide_task(deps, officer("dept-a"), tasks["dept-a"].id, Outcome.APPROVED, [])
    assert decided.status is ApplicationStatus.DECIDED and decided.outcome is Outcome.REJECTED
    assert [e.type for e in deps.store.outbox].count("onetrip.case.decided") == 1


def test_an_approved_result_the_catalogue_marks_as_an_e_certificate_is_registered_once(deps):
    from chalicelib.domain.catalogue import ResultDocument
    from chalicelib.domain.identity import AssuranceLevel
    from chalicelib.services.identities import record_verified_identity
    from tests.fake_vault import FakeBlindIndex
    from tests.unit.catalogue_samples import VALID_ID

    deps.blind_index = FakeBlindIndex()  # the holder is found by the blind index of the ID number
    record_verified_identity(deps, "citizen-1", "张三", VALID_ID, AssuranceLevel.L2, "test")

    publish_item(deps.store, item("T-LICENCE", results=(ResultDocument(
        name_zh="营业执照（电子营业执照）", name_en="Business licence", e_certificate=True),)))
    app = ready(deps, "T-LICENCE")
    cases.submit_application(deps, citizen(), app.id)
    task = tasks_of(deps, app.id)["dept-a"]
    upload_id, post = cases.result_upload(deps, officer("dept-a"), task.id, "application/pdf")
    deps.files.put(post.key, PDF, "application/pdf")
    cases.decide_task(deps, officer("dept-a"), task.id, Outcome.APPROVED, [], upload_id)
    for event in list(deps.store.outbox) * 2:  # the stream delivers at least once
        cases.certify_results(deps, event)
    (certificate,) = deps.store._vault_tables()["certs"].values()
    assert (certificate.type, certificate.issuer) == ("营业执照", "dept-a")
    assert certificate.case_number == deps.store.get_application(app.id).case.case_number
