"""Once-only on fakes: a verified reusable material enters the vault; a later item's draft is offered
it and, only with consent, filled without an upload; e-certificates the same way; every use and every
department read is in the owner's access log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.access_log import AccessAction
from chalicelib.domain.applications import ApplicationStatus, MaterialStatus
from chalicelib.domain.catalogue import MaterialSpec, ObtainableFrom
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.domain.vault import MATERIAL_REUSED
from chalicelib.services.access_log import my_access_log, task_material_links
from chalicelib.services.applications import create_application, request_upload
from chalicelib.services.cases import submit_application
from chalicelib.services.catalogue import publish_item
from chalicelib.services.certificates import register_certificate
from chalicelib.services.identities import record_verified_identity
from chalicelib.services.materials import verify_material
from chalicelib.services.tasks import get_department_task
from chalicelib.services.vault import Reuse, offers, reuse_material
from tests.fake_vault import FakeBlindIndex
from tests.unit.catalogue_samples import VALID_ID, citizen, item, material, officer, seeded_deps, upload

SHA_OF_DOC = "ab" * 32


def reusable(code: str, days: int) -> MaterialSpec:
    return material(code).model_copy(update={"valid_for_days": days})


FIRST = item("T-FIRST", materials=(material("form-a"), reusable("premises", 180)))
SECOND = item("T-SECOND", materials=(
    material("form-b"), reusable("premises", 90),
    material("licence", required=False).model_copy(update={
        "obtainable_from": ObtainableFrom(e_certificate="营业执照"), "required": True})))


@pytest.fixture
def deps():
    deps = seeded_deps()
    deps.blind_index = FakeBlindIndex()
    # Verified again with a blind index: certificates find their holder by it.
    record_verified_identity(deps, "citizen-1", "张三", VALID_ID, AssuranceLevel.L2, "test")
    record_verified_identity(deps, "citizen-2", "李四", "440524188001010014", AssuranceLevel.L2, "test")
    publish_item(deps.store, FIRST)
    publish_item(deps.store, SECOND)
    return deps


@pytest.fixture
def first(deps):
    """T-FIRST with its reusable material `premises` verified."""
    app = create_application(deps, citizen(), "T-FIRST")
    assert verify_material(deps, upload(deps, citizen(), app.id, "premises")).outcome == "verified"
    return deps.store.get_application(app.id)


def vault_offer(deps, app_id, owner=None):
    return [o for o in offers(deps, owner or citizen(), app_id) if o["source"] == "vault"]


def test_a_verified_reusable_material_enters_its_owners_vault(deps, first):
    slot = first.materials["premises"]
    [entry] = deps.store.list_vault("sub:citizen-1")
    assert (entry.material, entry.sha256, entry.sealed_key) == ("premises", slot.sha256, slot.sealed_key)
    assert entry.application_id == first.id and entry.valid_until == deps.now().date() + timedelta(days=180)


def test_a_material_without_a_validity_is_not_kept(deps, first):
    verify_material(deps, upload(deps, citizen(), first.id, "form-a"))
    assert [e.material for e in deps.store.list_vault("sub:citizen-1")] == ["premises"]


def test_the_second_item_needs_no_upload_for_a_material_verified_in_the_first_after_consent(deps, first):
    second = create_application(deps, citizen(), "T-SECOND")
    [offer] = vault_offer(deps, second.id)
    verified = first.materials["premises"]
    assert offer["material"] == "premises" and offer["from_application"] == first.id
    assert offer["preview_url"] == f"https://downloads.example/{verified.sealed_key}?expires=300"
    assert offer["usable_until"] == (deps.now().date() + timedelta(days=90)).isoformat()  # the stricter spec

    app, receipt = reuse_material(deps, citizen(), second.id, "premises", Reuse("vault", True, sha256=offer["sha256"]))

    slot = app.materials["premises"]
    assert slot.status is MaterialStatus.VERIFIED and slot.upload_id is None and slot.key is None
    assert (slot.sha256, slot.sealed_key, slot.reused_from) == (verified.sha256, verified.sealed_key, first.id)
    assert receipt.action is AccessAction.VAULT_REUSE and receipt.consent is not None
    assert receipt.consent.given_by["sub"] == "citizen-1" and receipt.application_id == second.id
    [event] = [e for e in deps.store.outbox if e.type == MATERIAL_REUSED]
    assert event.data["reused_from"] == first.id and event.actor["sub"] == "citizen-1"
    verify_material(deps, upload(deps, citizen(), second.id, "form-b"))
    accepted = submit_application(deps, citizen(), second.id)
    assert accepted.status is not ApplicationStatus.DRAFT and accepted.case is not None
    assert not any(f"/{second.id}/premises/" in p["key"] for p in deps.files.posts)  # never uploaded


def test_without_consent_nothing_is_reused(deps, first):
    second = create_application(deps, citizen(), "T-SECOND")
    [offer] = vault_offer(deps, second.id)
    events_before = list(deps.store.outbox)
    with pytest.raises(ValidationFailed) as refused:
        reuse_material(deps, citizen(), second.id, "premises", Reuse("vault", False, sha256=offer["sha256"]))
    assert refused.value.code == "consent_required"
    assert deps.store.get_application(second.id).materials["premises"].status is MaterialStatus.MISSING
    assert my_access_log(deps, citizen(), 10, None).items == []
    assert deps.store.outbox == events_before


def test_an_expired_copy_is_neither_offered_nor_reused(deps, first):
    sha = first.materials["premises"].sha256
    deps.now.current += timedelta(days=91)  # within the first item's 180 days, past the second's 90
    second = create_application(deps, citizen(), "T-SECOND")
    assert vault_offer(deps, second.id) == []
    with pytest.raises(ValidationFailed) as refused:
        reuse_material(deps, citizen(), second.id, "premises", Reuse("vault", True, sha256=sha))
    assert [p.code for p in refused.value.problems] == ["vault_entry_expired"]


def test_another_citizens_vault_is_out_of_reach(deps, first):
    other = citizen("citizen-2")
    theirs = create_application(deps, other, "T-SECOND")
    assert vault_offer(deps, theirs.id, other) == []
    with pytest.raises(NotFound):
        reuse_material(deps, other, theirs.id, "premises",
                       Reuse("vault", True, sha256=first.materials["premises"].sha256))
    with pytest.raises(NotFound):  # nor can anyone reuse into someone else's application
        reuse_material(deps, other, first.id, "premises", Reuse("vault", True, sha256="0" * 64))


def test_an_upload_after_a_reuse_replaces_it_entirely(deps, first):
    second = create_application(deps, citizen(), "T-SECOND")
    [offer] = vault_offer(deps, second.id)
    reuse_material(deps, citizen(), second.id, "premises", Reuse("vault", True, sha256=offer["sha256"]))
    app, _ = request_upload(deps, citizen(), second.id, "premises", "application/pdf", "new.pdf")
    slot = app.materials["premises"]
    assert slot.status is MaterialStatus.UPLOAD_REQUESTED and slot.reused_from is None and slot.upload_id


# -- e-certificates --------------------------------------------------------------------------------
def licence(deps, holder_id=VALID_ID, **kw):
    return register_certificate(deps, officer("dept-a"), type_="营业执照", number="92330382MA0000001X",
                                document_sha256=SHA_OF_DOC, holder_id_number=holder_id, **kw)


def test_an_e_certificate_satisfies_a_material_with_the_holders_consent(deps):
    cert = licence(deps)
    draft = create_application(deps, citizen(), "T-SECOND")
    [offer] = [o for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"]
    assert (offer["material"], offer["certificate_id"], offer["issuer"]) == ("licence", cert.id, "dept-a")
    assert VALID_ID not in str(offer) and offer["number_masked"] != "92330382MA0000001X"

    with pytest.raises(ValidationFailed):
        reuse_material(deps, citizen(), draft.id, "licence", Reuse("e_certificate", False, certificate_id=cert.id))
    app, receipt = reuse_material(deps, citizen(), draft.id, "licence",
                                  Reuse("e_certificate", True, certificate_id=cert.id))

    slot = app.materials["licence"]
    assert slot.status is MaterialStatus.VERIFIED and slot.certificate_id == cert.id and slot.sha256 == SHA_OF_DOC
    assert receipt.action is AccessAction.CERTIFICATE_USE and receipt.materials[0].certificate_id == cert.id


def test_someone_elses_certificate_is_not_found(deps):
    cert = licence(deps, holder_id="440524188001010014")  # citizen-2's
    draft = create_application(deps, citizen(), "T-SECOND")
    assert [o for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"] == []
    with pytest.raises(NotFound):
        reuse_material(deps, citizen(), draft.id, "licence", Reuse("e_certificate", True, certificate_id=cert.id))


def test_an_expired_certificate_is_refused(deps):
    cert = licence(deps, valid_until=deps.now().date())
    deps.now.current += timedelta(days=1)
    draft = create_application(deps, citizen(), "T-SECOND")
    assert [o for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"] == []
    with pytest.raises(ValidationFailed) as refused:
        reuse_material(deps, citizen(), draft.id, "licence", Reuse("e_certificate", True, certificate_id=cert.id))
    assert [p.code for p in refused.value.problems] == ["certificate_expired"]


def test_a_certificate_registers_once_and_a_different_one_under_its_number_is_refused(deps):
    first = licence(deps)
    assert licence(deps).id == first.id
    with pytest.raises(Conflict):
        licence(deps, holder_id="440524188001010014")


def test_a_department_registers_only_its_own_and_every_problem_is_told(deps):
    from chalicelib.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        licence(deps, issuer="dept-b")
    with pytest.raises(ValidationFailed) as refused:
        register_certificate(deps, officer("dept-a"), type_=" ", number="", document_sha256=SHA_OF_DOC,
                             holder_id_number="110105194912310021", holder_credit_code="91350100M000100Y43")
    assert {p.code for p in refused.value.problems} == {
        "holder_required", "certificate_type_required", "certificate_number_required"}


# -- department reads ------------------------------------------------------------------------------
def test_a_department_read_links_every_material_and_shows_in_the_owners_log(deps, first):
    cert = licence(deps)
    second = create_application(deps, citizen(), "T-SECOND")
    [offer] = vault_offer(deps, second.id)
    reuse_material(deps, citizen(), second.id, "premises", Reuse("vault", True, sha256=offer["sha256"]))
    deps.now.current += timedelta(minutes=1)
    reuse_material(deps, citizen(), second.id, "licence", Reuse("e_certificate", True, certificate_id=cert.id))
    verify_material(deps, upload(deps, citizen(), second.id, "form-b"))
    case = submit_application(deps, citizen(), second.id)
    deps.now.current += timedelta(minutes=1)
    task = get_department_task(deps, officer("dept-a"), case.tasks[0].task_id)

    links = {m["code"]: m for m in task_material_links(deps, officer("dept-a"), task, case)}

    assert {c: m["source"] for c, m in links.items()} == {"form-b": "upload", "premises": "vault",
                                                          "licence": "e_certificate"}
    assert links["premises"]["download_url"].startswith("https://downloads.example/verified/")
    assert links["licence"]["download_url"] is None and links["licence"]["certificate"]["issuer"] == "dept-a"
    log = my_access_log(deps, citizen(), 10, None).items
    assert [r.action for r in log] == [AccessAction.DEPARTMENT_READ, AccessAction.CERTIFICATE_USE,
                                       AccessAction.VAULT_REUSE]
    read = log[0]
    assert read.actor["binding"] == "dept-a" and read.case_number == case.case.case_number
    assert sorted(m.code for m in read.materials) == ["form-b", "licence", "premises"]
    task_material_links(deps, officer("dept-a"), task, case)  # every read is recorded, not just the first
    assert len(my_access_log(deps, citizen(), 10, None).items) == 4
    assert my_access_log(deps, citizen("citizen-2"), 10, None).items == []


def test_a_result_document_becomes_the_applicants_e_certificate_once(deps, first):
    from types import SimpleNamespace

    from chalicelib.domain.certificates import CertificateSource
    from chalicelib.services.certificates import register_from_result

    verify_material(deps, upload(deps, citizen(), first.id, "form-a"))
    case = submit_application(deps, citizen(), first.id)
    result = SimpleNamespace(name_zh="营业执照（电子营业执照）", key=f"verified/results/{case.id}/r.pdf",
                             content_type="application/pdf", size=1234, sha256=SHA_OF_DOC)

    cert = register_from_result(deps, case, result, "dept-a", actor=officer("dept-a").actor())

    assert cert is not None and cert.type == "营业执照" and cert.source is CertificateSource.CASE_RESULT
    assert (cert.case_number, cert.issuer, cert.document_key) == (case.case.case_number, "dept-a", result.key)
    assert register_from_result(deps, case, result, "dept-a").id == cert.id  # a redelivered call: the same one
    draft = create_application(deps, citizen(), "T-SECOND")
    [offer] = [o for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"]
    assert offer["certificate_id"] == cert.id and offer["preview_url"].endswith(f"{result.key}?expires=300")


def test_an_agents_materials_belong_to_the_enterprise_and_so_does_its_log(deps):
    from datetime import date

    from chalicelib.domain.enterprises import AgentAuthorization
    from chalicelib.domain.principals import Principal, PrincipalKind
    from chalicelib.services.enterprises import register_enterprise

    agent = Principal(sub="agent-1", kind=PrincipalKind.ENTERPRISE_AGENT, client_id="web")
    enterprise = register_enterprise(deps, "91350100M000100Y43", "示例公司", None)
    deps.store.put_authorization(AgentAuthorization(
        enterprise_id=enterprise.id, agent_sub=agent.sub, items=("*",), valid_until=date(2027, 6, 30),
        granted_by="admin", granted_at="2026-11-01T00:00:00+00:00"))
    first_app = create_application(deps, agent, "T-FIRST", enterprise.id)
    verify_material(deps, upload(deps, agent, first_app.id, "premises"))
    assert [e.owner for e in deps.store.list_vault(f"ent:{enterprise.id}")] == [f"ent:{enterprise.id}"]
    assert deps.store.list_vault("sub:agent-1") == []

    second = create_application(deps, agent, "T-SECOND", enterprise.id)
    [offer] = vault_offer(deps, second.id, agent)
    reuse_material(deps, agent, second.id, "premises", Reuse("vault", True, sha256=offer["sha256"]))

    [receipt] = my_access_log(deps, agent, 10, None, enterprise.id).items
    assert receipt.owner == f"ent:{enterprise.id}" and receipt.actor["sub"] == "agent-1"
    assert my_access_log(deps, agent, 10, None).items == []  # the agent's own log: nothing of the enterprise's
    with pytest.raises(NotFound):
        my_access_log(deps, Principal(sub="agent-2", kind=PrincipalKind.ENTERPRISE_AGENT), 10, None, enterprise.id)
    from chalicelib.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        my_access_log(deps, citizen(), 10, None, enterprise.id)
