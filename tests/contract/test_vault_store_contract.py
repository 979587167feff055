"""Contract of the once-only records, on the fake and on DynamoDB alike: vault entries kept with the
verdict (once per content), e-certificates registered once per number, the access log newest first."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.access_log import AccessedMaterial, department_read
from chalicelib.domain.certificates import Certificate, CertificateSource, HolderKind
from chalicelib.domain.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.vault import VaultEntry
from tests.unit.catalogue_samples import FRIDAY, citizen, officer, single_item


def entry(owner: str = "sub:citizen-1", material: str = "form", content: bytes = b"a", *,
          valid_days: int = 180, app_id: str = "app_x") -> VaultEntry:
    return VaultEntry(owner=owner, material=material, sha256=hashlib.sha256(content).hexdigest(),
                      sealed_key=f"verified/{app_id}/{material}/upl_1", content_type="application/pdf", size=10,
                      application_id=app_id, item_code="T-SINGLE", item_version=1,
                      verified_at=FRIDAY.isoformat(timespec="milliseconds"),
                      valid_until=FRIDAY.date() + timedelta(days=valid_days))


def certificate(holder: str = "h1", number_index: str | None = None, **update) -> Certificate:
    cert = Certificate(id=new_id("crt_"), type="营业执照", holder_kind=HolderKind.PERSON, holder_index=holder,
                       holder_masked="110105********002X", issuer="dept-a", number_masked="913***1234",
                       number_ciphertext="c", number_index=number_index or new_id("n"),
                       document_sha256="0" * 64, source=CertificateSource.DEPARTMENT,
                       registered_at="2026-11-27T09:30:00+00:00")
    return cert.model_copy(update=update)


def read(app_id: str, n: int, owner: str = "sub:citizen-1"):
    return department_read(owner, officer("dept-a").actor(), FRIDAY + timedelta(seconds=n), application_id=app_id, item_code="T-SINGLE",
                           case_number=None, task_id=f"tsk_{n}",
                           materials=[AccessedMaterial(code="form", source="upload", sha256="0" * 64)])


@pytest.fixture
def draft(store):
    app = rules.new_application(new_id("app_"), citizen(), single_item(), FRIDAY)
    store.create_application(app)
    return app


class TestVault:
    def test_the_application_its_entries_and_records_are_written_together(self, store, draft, outbox_events):
        kept, record = entry(app_id=draft.id), read(draft.id, 1)
        event = rules.verdict_event(draft, "form", FRIDAY)
        saved = store.save_application_with_evidence(draft, draft.version, [event], [kept], [record])
        assert saved.version == draft.version + 1 == store.get_application(draft.id).version
        assert store.get_vault_entry(kept.owner, "form", kept.sha256) == kept
        assert [r.id for r in store.list_access_records("sub:citizen-1", 10, None).items] == [record.id]
        assert [e.id for e in outbox_events(draft.id)] == [event.id]

    def test_an_entry_already_kept_keeps_its_first_validity(self, store, draft):
        first = entry(valid_days=180)
        store.save_application_with_evidence(draft, draft.version, [], [first], [])
        later = entry(valid_days=30)
        store.save_application_with_evidence(draft, draft.version + 1, [], [later], [])
        assert store.get_vault_entry(first.owner, "form", first.sha256).valid_until == first.valid_until

    def test_a_lost_race_writes_no_entry_and_no_record(self, store, draft, outbox_events):
        store.save_application(draft, draft.version)  # someone else changed the draft meanwhile
        kept, record = entry(), read(draft.id, 1)
        with pytest.raises(ConcurrentUpdate):
            store.save_application_with_evidence(draft, draft.version, [rules.verdict_event(draft, "form", FRIDAY)],
                                                 [kept], [record])
        assert store.get_vault_entry(kept.owner, "form", kept.sha256) is None
        assert store.list_access_records("sub:citizen-1", 10, None).items == []
        assert outbox_events(draft.id) == []

    def test_the_vault_lists_only_its_owners_entries(self, store, draft):
        mine = [entry(material="form", content=b"1"), entry(material="photo", content=b"2")]
        theirs = entry(owner="ent:ent_other", content=b"3")
        store.save_application_with_evidence(draft, draft.version, [], [*mine, theirs], [])
        assert sorted((e.material, e.sha256) for e in store.list_vault("sub:citizen-1")) == sorted(
            (e.material, e.sha256) for e in mine)
        assert store.list_vault("ent:ent_other") == [theirs]
        assert store.list_vault("sub:nobody") == []
        assert store.get_vault_entry("sub:citizen-1", "form", theirs.sha256) is None


class TestCertificates:
    def test_a_certificate_is_found_by_id_and_by_holder(self, store):
        cert = certificate(holder="holder-a", valid_until=date(2030, 1, 1))
        assert store.create_certificate(cert) == cert
        assert store.get_certificate(cert.id) == cert
        assert store.list_certificates("holder-a") == [cert]
        assert store.list_certificates("holder-b") == []
        assert store.get_certificate(new_id("crt_")) is None

    def test_the_same_number_registers_once(self, store):
        first = certificate(number_index="same")
        store.create_certificate(first)
        again = certificate(number_index="same", holder="someone-else")
        assert store.create_certificate(again) == first
        assert store.get_certificate(again.id) is None
        assert store.list_certificates("someone-else") == []


class TestAccessLog:
    def test_records_are_listed_newest_first_page_by_page(self, store):
        records = [read("app_1", n) for n in range(5)]
        for record in records:
            store.add_access_record(record)
        store.add_access_record(read("app_2", 9, owner="sub:other"))
        seen, cursor = [], None
        for _ in range(5):
            page = store.list_access_records("sub:citizen-1", 2, cursor)
            seen += [r.id for r in page.items]
            cursor = page.cursor
            if not cursor:
                break
        assert seen == [r.id for r in reversed(records)]
        assert store.list_access_records("sub:citizen-1", 10, None).items[0] == records[-1]

    def test_a_cursor_of_another_owners_log_is_refused(self, store):
        for n in range(3):
            store.add_access_record(read("app_1", n, owner="sub:other"))
        cursor = store.list_access_records("sub:other", 1, None).cursor
        assert cursor
        with pytest.raises(ValidationFailed):
            store.list_access_records("sub:citizen-1", 1, cursor)
        with pytest.raises(ValidationFailed):
            store.list_access_records("sub:citizen-1", 1, "not-a-cursor")
