"""Revoking an e-certificate (注销/吊销): once, by its issuing department or an admin, with a reason; a
revoked certificate is no longer offered nor accepted for a material (`certificate_revoked`), and the
holder sees when and why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.catalogue import ObtainableFrom
from chalicelib.domain.certificates import Certificate, CertificateSource, HolderKind, revoke, use_problems
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.services.applications import create_application
from chalicelib.services.catalogue import publish_item
from chalicelib.services.certificates import get_certificate, my_certificates, register_certificate, revoke_certificate
from chalicelib.services.identities import record_verified_identity
from chalicelib.services.vault import Reuse, offers, reuse_material
from tests.fake_vault import FakeBlindIndex
from tests.unit.catalogue_samples import FRIDAY, VALID_ID, citizen, item, material, officer, seeded_deps

LICENCE = material("licence").model_copy(update={"obtainable_from": ObtainableFrom(e_certificate="营业执照")})
ITEM = item("T-CERT", materials=(material("form"), LICENCE))
ADMIN = Principal(sub="admin-1", kind=PrincipalKind.ADMIN)


def a_certificate(**update) -> Certificate:
    cert = Certificate(id="crt_1", type="营业执照", holder_kind=HolderKind.PERSON, holder_index="h1",
                       holder_masked="110105********002X", issuer="dept-a", number_masked="923***001X",
                       number_ciphertext="c", number_index="n1", document_sha256="0" * 64,
                       source=CertificateSource.DEPARTMENT, registered_at="2026-11-27T09:30:00+00:00")
    return cert.model_copy(update=update)


# -- domain ------------------------------------------------------------------------------------------
def test_a_revocation_records_when_by_whom_and_why():
    revoked = revoke(a_certificate(), "dept-a", "  营业执照已吊销  ", {"sub": "officer-a"}, FRIDAY)
    assert revoked.revocation is not None
    assert (revoked.revocation.at, revoked.revocation.by, revoked.revocation.reason) == (
        "2026-11-27T09:30:00+00:00", "dept-a", "营业执照已吊销")
    assert not revoked.usable_on(FRIDAY.date()) and a_certificate().usable_on(FRIDAY.date())


def test_a_certificate_is_revoked_only_once():
    revoked = revoke(a_certificate(), "dept-a", "吊销", {}, FRIDAY)
    with pytest.raises(Conflict) as again:
        revoke(revoked, "admin", "注销", {}, FRIDAY + timedelta(hours=1))
    assert again.value.code == "certificate_already_revoked"
    assert again.value.detail["revoked_at"] == revoked.revocation.at


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_revocation_needs_a_reason_of_1_to_500_characters(reason):
    with pytest.raises(ValidationFailed) as refused:
        revoke(a_certificate(), "dept-a", reason, {}, FRIDAY)
    assert [(p.code, p.target) for p in refused.value.problems] == [("revocation_reason_invalid", "reason")]


def test_a_reason_of_exactly_500_characters_is_accepted():
    assert revoke(a_certificate(), "dept-a", "x" * 500, {}, FRIDAY).revocation.reason == "x" * 500


def test_a_revoked_certificate_is_refused_for_a_material_with_every_other_problem():
    revoked = revoke(a_certificate(type="户口簿", valid_until=FRIDAY.date()), "dept-a", "证照作废", {}, FRIDAY)
    problems = use_problems(revoked, LICENCE, FRIDAY.date() + timedelta(days=1))
    assert [p.code for p in problems] == ["certificate_type_mismatch", "certificate_revoked", "certificate_expired"]
    refused = problems[1]
    assert refused.message_zh and refused.message_en and refused.target == "licence"
    assert refused.detail == {"revoked_at": "2026-11-27T09:30:00+00:00", "reason": "证照作废"}
    assert use_problems(a_certificate(), LICENCE, FRIDAY.date()) == []


def test_the_public_view_shows_when_and_why_but_not_who_acted():
    assert a_certificate().public_view()["revocation"] is None
    view = revoke(a_certificate(), "dept-a", "吊销", {"sub": "officer-a"}, FRIDAY).public_view()
    assert view["revocation"] == {"at": "2026-11-27T09:30:00+00:00", "reason": "吊销"}
    assert "officer-a" not in str(view)


# -- service on fakes --------------------------------------------------------------------------------
@pytest.fixture
def deps():
    deps = seeded_deps()
    deps.blind_index = FakeBlindIndex()
    record_verified_identity(deps, "citizen-1", "张三", VALID_ID, AssuranceLevel.L2, "test")
    publish_item(deps.store, ITEM)
    return deps


@pytest.fixture
def cert(deps):
    return register_certificate(deps, officer("dept-a"), type_="营业执照", number="92330382MA0000001X",
                                document_sha256="ab" * 32, holder_id_number=VALID_ID)


def test_the_issuer_revokes_and_the_holder_can_no_longer_use_it(deps, cert):
    draft = create_application(deps, citizen(), "T-CERT")
    assert [o["certificate_id"] for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"] == [
        cert.id]

    revoked = revoke_certificate(deps, officer("dept-a"), cert.id, "营业执照被吊销")

    assert revoked.revocation.by == "dept-a" and revoked.revocation.actor["sub"] == officer("dept-a").sub
    assert deps.store.get_certificate(cert.id) == revoked
    assert [o for o in offers(deps, citizen(), draft.id) if o["source"] == "e_certificate"] == []
    with pytest.raises(ValidationFailed) as refused:
        reuse_material(deps, citizen(), draft.id, "licence", Reuse("e_certificate", True, certificate_id=cert.id))
    assert [p.code for p in refused.value.problems] == ["certificate_revoked"]
    [mine] = my_certificates(deps, citizen())
    assert mine.public_view()["revocation"]["reason"] == "营业执照被吊销"


def test_an_admin_revokes_as_admin(deps, cert):
    assert revoke_certificate(deps, ADMIN, cert.id, "登记错误").revocation.by == "admin"


@pytest.mark.parametrize("who", [officer("dept-b"), citizen(), Principal(sub="dept-none", kind=PrincipalKind.DEPARTMENT)],
                         ids=["other-department", "holder", "department-without-code"])
def test_anyone_else_is_told_the_certificate_does_not_exist(deps, cert, who):
    with pytest.raises(NotFound) as hidden:
        revoke_certificate(deps, who, cert.id, "吊销")
    with pytest.raises(NotFound) as unknown:
        revoke_certificate(deps, officer("dept-a"), "crt_" + "0" * 26, "吊销")
    assert hidden.value.code == unknown.value.code == "certificate_not_found"
    assert deps.store.get_certificate(cert.id).revocation is None


def test_a_second_revocation_is_a_conflict_and_keeps_the_first(deps, cert):
    revoke_certificate(deps, officer("dept-a"), cert.id, "第一次")
    with pytest.raises(Conflict) as again:
        revoke_certificate(deps, ADMIN, cert.id, "第二次")
    assert again.value.code == "certificate_already_revoked"
    assert get_certificate(deps, ADMIN, cert.id).revocation.reason == "第一次"


def test_a_revocation_that_loses_the_race_is_a_conflict(deps, cert, monkeypatch):
    """Both read the certificate unrevoked; the store's conditional write lets only the first through."""
    read_before = deps.store.get_certificate(cert.id)
    revoke_certificate(deps, officer("dept-a"), cert.id, "先到")
    monkeypatch.setattr(deps.store, "get_certificate", lambda _id: read_before)
    with pytest.raises(Conflict) as lost:
        revoke_certificate(deps, ADMIN, cert.id, "后到")
    assert lost.value.code == "certificate_already_revoked"
    monkeypatch.undo()
    assert deps.store.get_certificate(cert.id).revocation.reason == "先到"


# -- acceptance re-checks the certificates that filled materials ----------------------------------------
def test_a_certificate_that_expired_after_it_filled_a_material_is_refused_at_submission_with_the_rest(deps):
    from datetime import date

    from chalicelib.services.cases import submit_application

    cert = register_certificate(deps, officer("dept-a"), type_="营业执照", number="92330382MA0000002X",
                                document_sha256="cd" * 32, holder_id_number=VALID_ID, valid_until=date(2026, 11, 27))
    draft = create_application(deps, citizen(), "T-CERT")
    reuse_material(deps, citizen(), draft.id, "licence", Reuse("e_certificate", True, certificate_id=cert.id))
    deps.now.current += timedelta(days=1)  # the certificate's last valid day has passed

    with pytest.raises(ValidationFailed) as refused:
        submit_application(deps, citizen(), draft.id)

    problems = {(p.code, p.target) for p in refused.value.problems}
    assert ("certificate_expired", "licence") in problems and ("material_missing", "form") in problems


def test_an_application_that_used_no_certificate_reads_none_at_submission(deps, monkeypatch):
    from chalicelib.services.vault import certificate_problems

    draft = create_application(deps, citizen(), "T-CERT")
    monkeypatch.setattr(deps.store, "get_certificate", lambda _id: pytest.fail("read a certificate"))
    assert certificate_problems(deps, draft, ITEM) == []
