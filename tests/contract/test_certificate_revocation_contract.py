"""Contract of `revoke_certificate`, on the fake and on DynamoDB alike: the revoked certificate replaces
the registered one wherever it is read, once; a second (or concurrent) revocation and an unknown
certificate write nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.certificates import Certificate, revoke
from chalicelib.domain.ids import new_id

from .test_vault_store_contract import certificate

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def revoked(cert: Certificate, reason: str) -> Certificate:
    return revoke(cert, cert.issuer, reason, {"sub": "officer-a", "kind": "department"}, AT)


def test_a_revoked_certificate_is_read_revoked_by_id_and_by_holder(store):
    cert = certificate(holder="holder-r")
    store.create_certificate(cert)
    assert store.revoke_certificate(revoked(cert, "吊销")) is True
    [listed] = store.list_certificates("holder-r")
    assert listed == store.get_certificate(cert.id) == revoked(cert, "吊销")
    assert listed.revocation is not None and listed.revocation.reason == "吊销"


def test_of_two_revocations_from_the_same_read_only_the_first_is_written(store):
    cert = certificate()
    store.create_certificate(cert)
    read_by_both = store.get_certificate(cert.id)
    assert store.revoke_certificate(revoked(read_by_both, "第一次")) is True
    assert store.revoke_certificate(revoked(read_by_both, "第二次")) is False
    assert store.get_certificate(cert.id).revocation.reason == "第一次"


def test_revoking_an_unknown_certificate_writes_nothing(store):
    ghost = certificate(holder="holder-ghost")
    assert store.revoke_certificate(revoked(ghost, "吊销")) is False
    assert store.get_certificate(ghost.id) is None
    assert store.list_certificates("holder-ghost") == []


def test_a_revocation_leaves_other_certificates_of_the_holder_alone(store):
    kept, gone = certificate(holder="holder-two"), certificate(holder="holder-two", number_index=new_id("n"))
    store.create_certificate(kept)
    store.create_certificate(gone)
    store.revoke_certificate(revoked(gone, "注销"))
    assert store.get_certificate(kept.id) == kept
    assert sorted((c.id, c.revocation is None) for c in store.list_certificates("holder-two")) == sorted(
        [(kept.id, True), (gone.id, False)])
