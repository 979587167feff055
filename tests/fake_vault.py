"""The once-only part of the fake store (mixed into `tests.fakes.FakeStore`) and a fake blind index;
tests/contract/test_vault_store_contract.py holds the fake to the DynamoDB adapter's behaviour."""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable

from chalicelib.domain.access_log import AccessRecord
from chalicelib.domain.applications import Application
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.errors import ConcurrentUpdate, Problem, ValidationFailed
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.vault import VaultEntry
from chalicelib.ports import Page


class FakeBlindIndex:
    """A keyed hash like KMS GenerateMac: deterministic per purpose and value, reveals neither."""

    def __init__(self, key: bytes = b"fake-blind-index-key") -> None:
        self._key = key

    def index(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid", "cursor")])


class FakeVaultRecords:
    applications: dict[str, Application]
    outbox: list[DomainEvent]

    _check_app: Callable[[str, int], None]  # FakeStore's
    _record_events: Callable[[Application, int, list[DomainEvent]], Application]  # FakeCaseRecords'

    def _vault_tables(self) -> dict[str, dict]:
        if not hasattr(self, "_vt"):
            self._vt: dict[str, dict] = {"vault": {}, "certs": {}, "numbers": {}, "access": {}}
        return self._vt

    def save_application_with_evidence(self, app: Application, expected_version: int, events: list[DomainEvent],
                                       vault: list[VaultEntry], access: list[AccessRecord]) -> Application:
        tables = self._vault_tables()
        self._check_app(app.id, expected_version)
        if any((r.owner, r.id) in tables["access"] for r in access):
            raise ConcurrentUpdate()
        saved = self._record_events(app, expected_version + 1, events)
        self.applications[app.id] = saved
        for entry in vault:
            tables["vault"].setdefault((entry.owner, entry.material, entry.sha256), entry)
        for record in access:
            tables["access"][(record.owner, record.id)] = record
        return copy.deepcopy(saved)

    def get_vault_entry(self, owner: str, material: str, sha256: str) -> VaultEntry | None:
        return self._vault_tables()["vault"].get((owner, material, sha256))

    def list_vault(self, owner: str) -> list[VaultEntry]:
        entries = self._vault_tables()["vault"]
        return [entries[k] for k in sorted(entries) if k[0] == owner]

    def create_certificate(self, certificate: Certificate) -> Certificate:
        tables = self._vault_tables()
        existing = tables["numbers"].get(certificate.number_index)
        if existing is not None:
            return tables["certs"][existing]
        if certificate.id in tables["certs"]:
            raise ConcurrentUpdate()
        tables["certs"][certificate.id] = certificate
        tables["numbers"][certificate.number_index] = certificate.id
        return certificate

    def get_certificate(self, certificate_id: str) -> Certificate | None:
        return self._vault_tables()["certs"].get(certificate_id)

    def revoke_certificate(self, certificate: Certificate) -> bool:
        certs = self._vault_tables()["certs"]
        stored = certs.get(certificate.id)
        if stored is None or stored.revocation is not None:
            return False
        certs[certificate.id] = certificate
        return True

    def list_certificates(self, holder_index: str) -> list[Certificate]:
        certs = self._vault_tables()["certs"]
        return [certs[k] for k in sorted(certs) if certs[k].holder_index == holder_index]

    def add_access_record(self, record: AccessRecord) -> None:
        access = self._vault_tables()["access"]
        if (record.owner, record.id) in access:
            raise ConcurrentUpdate()
        access[(record.owner, record.id)] = record

    def list_access_records(self, owner: str, limit: int, cursor: str | None) -> Page:
        from tests.fakes import _page

        rows = [(f"REC#{r.at}#{rid}", r) for (o, rid), r in self._vault_tables()["access"].items() if o == owner]
        return _page(f"ACCESS#{owner}", rows, limit, cursor, newest_first=True)
