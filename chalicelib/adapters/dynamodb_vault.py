"""The once-only access patterns of the single table (mixed into `DynamoStore`).

Vault entries `VAULT#<owner>/MAT#<code>#<sha256>` (the owner's whole vault is one Query; an entry
expires by TTL a month after its validity), e-certificates `CERT#<id>/CERT` listed per holder on gsi1
`HOLDER#<blind index>` with the number's claim `CERTNO#<blind index>/CERTNO`, and the access log
`ACCESS#<owner>/REC#<time>#<record id>` read newest first. Owners are `sub:<subject>` or `ent:<enterprise>`:
opaque ids, never personal data. Every read is a GetItem or a Query.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..domain.applications import Application
from ..domain.errors import ConcurrentUpdate
from ..domain.events import DomainEvent
from ..lazy import deferred
from ..ports import Page
from . import keys
from .records import bad_cursor as _bad_cursor
from .records import compressed_doc
from .records import doc as _doc
from .records import key_of as _key
from .records import n as _n
from .records import s as _s

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import access_log as access_log_models
    from ..domain import certificates as certificates_models
    from ..domain import vault as vault_models
    from ..domain.access_log import AccessRecord
    from ..domain.certificates import Certificate
    from ..domain.vault import VaultEntry
else:
    access_log_models = deferred("chalicelib.domain.access_log")
    certificates_models = deferred("chalicelib.domain.certificates")
    vault_models = deferred("chalicelib.domain.vault")


# An expired entry is no longer offered; it is deleted (TTL) a month later, so the owner can still see
# what the access log refers to for a while.
VAULT_TTL_MARGIN = timedelta(days=31)
# One owner's vault and one holder's certificates are small; a runaway partition is cut off, not scanned.
_MAX_PAGES = 5






class VaultRecords:
    _db: Any
    _table: str

    # Provided by DynamoStore.
    _get: Callable[..., dict[str, Any] | None]
    _transact: Callable[..., None]
    _app_record: Callable[[Application], dict[str, Any]]
    _recorded: Callable[[Application, int, list[DomainEvent]], tuple[Application, list[dict[str, Any]]]]
    _versioned_put: Callable[[dict[str, Any], int], dict[str, Any]]
    _new_put: Callable[[dict[str, Any]], dict[str, Any]]

    # -- the vault ---------------------------------------------------------------------------------
    def _vault_update(self, entry: VaultEntry) -> dict[str, Any]:
        """Kept only if new (if_not_exists): an Update cannot fail, so it never cancels the verdict's
        transaction, and the first verification's validity stays."""
        expires = datetime.combine(entry.valid_until, time(), tzinfo=UTC) + VAULT_TTL_MARGIN
        return {"Key": _key(keys.vault_entry(entry.owner, entry.material, entry.sha256)),
                "UpdateExpression": "SET #d = if_not_exists(#d, :d), #t = :t, #v = if_not_exists(#v, :z), "
                                    "#e = if_not_exists(#e, :e)",
                "ExpressionAttributeNames": {"#d": "doc", "#t": "type", "#v": "version", "#e": "expires_at"},
                "ExpressionAttributeValues": {":d": _s(entry.model_dump_json()), ":t": _s("vault_entry"),
                                              ":z": _n(0), ":e": _n(int(expires.timestamp()))}}

    def _access_put(self, record: AccessRecord) -> dict[str, Any]:
        item = {**_key(keys.access_record(record.owner, record.at, record.id)), "type": _s("access_record"),
                "version": _n(0), **compressed_doc(record.model_dump_json())}
        return {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    def save_application_with_evidence(self, app: Application, expected_version: int, events: list[DomainEvent],
                                       vault: list[VaultEntry], access: list[AccessRecord]) -> Application:
        saved, recorded = self._recorded(app, expected_version, events)
        self._transact([
            self._versioned_put(self._app_record(saved), expected_version),
            *recorded,
            *(self._access_put(r) for r in access),
        ], [self._vault_update(e) for e in vault])
        return saved

    def get_vault_entry(self, owner: str, material: str, sha256: str) -> VaultEntry | None:
        rec = self._get(keys.vault_entry(owner, material, sha256), consistent=True)
        return vault_models.VaultEntry.model_validate(_doc(rec)) if rec else None

    def list_vault(self, owner: str) -> list[VaultEntry]:
        items = self._query_all({"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": {":p": _s(keys.vault_entry(owner, "", "")["pk"]),
                                                               ":s": _s(keys.VAULT_PREFIX)}})
        return [vault_models.VaultEntry.model_validate(_doc(i)) for i in items]

    def _query_all(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        for _ in range(_MAX_PAGES):
            resp = self._db.query(TableName=self._table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            items += resp.get("Items", [])
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return items

    # -- e-certificates ------------------------------------------------------------------------------
    def create_certificate(self, certificate: Certificate) -> Certificate:
        record = {**_key(keys.certificate(certificate.id)), "type": _s("certificate"), "version": _n(0),
                  "doc": _s(certificate.model_dump_json()),
                  "gsi1pk": _s(keys.certificate_holder_index(certificate.holder_index)),
                  "gsi1sk": _s(certificate.id)}
        claim = {**_key(keys.certificate_number(certificate.number_index)), "type": _s("certificate_number"),
                 "version": _n(0), "doc": _s(json.dumps({"certificate_id": certificate.id}))}
        try:
            self._transact([self._new_put(record), self._new_put(claim)])
        except ConcurrentUpdate:
            claimed = self._get(keys.certificate_number(certificate.number_index), consistent=True)
            existing = self.get_certificate(_doc(claimed)["certificate_id"]) if claimed else None
            if existing is None:
                raise
            return existing
        return certificate

    def get_certificate(self, certificate_id: str) -> Certificate | None:
        rec = self._get(keys.certificate(certificate_id), consistent=True)
        return certificates_models.Certificate.model_validate(_doc(rec)) if rec else None

    def revoke_certificate(self, certificate: Certificate) -> bool:
        # `revoked_at` marks the item itself, so the condition needs no read of the document.
        assert certificate.revocation is not None
        try:
            self._db.update_item(
                TableName=self._table, Key=_key(keys.certificate(certificate.id)),
                UpdateExpression="SET #d = :d, #r = :r ADD #v :one",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#r)",
                ExpressionAttributeNames={"#d": "doc", "#r": "revoked_at", "#v": "version"},
                ExpressionAttributeValues={":d": _s(certificate.model_dump_json()),
                                           ":r": _s(certificate.revocation.at), ":one": _n(1)})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list_certificates(self, holder_index: str) -> list[Certificate]:
        items = self._query_all({"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": {":p": _s(keys.certificate_holder_index(holder_index))}})
        return [certificates_models.Certificate.model_validate(_doc(i)) for i in items]

    # -- the access log ------------------------------------------------------------------------------
    def add_access_record(self, record: AccessRecord) -> None:
        put = self._access_put(record)
        self._db.put_item(TableName=self._table, Item=put["Item"], ConditionExpression=put["ConditionExpression"])

    def list_access_records(self, owner: str, limit: int, cursor: str | None) -> Page:
        partition = keys.access_record(owner, "", "")["pk"]
        kwargs: dict[str, Any] = {
            "TableName": self._table, "Limit": limit, "ScanIndexForward": False,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(partition), ":s": _s(keys.ACCESS_PREFIX)}}
        if cursor:
            kwargs["ExclusiveStartKey"] = {"pk": _s(partition), "sk": _s(_decode_cursor(cursor, partition))}
        resp = self._db.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return Page([access_log_models.AccessRecord.model_validate(_doc(i)) for i in resp.get("Items", [])],
                    _encode_cursor(partition, last["sk"]["S"]) if last else None)


def _encode_cursor(partition: str, sort_key: str) -> str:
    raw = json.dumps({"list": partition, "after": sort_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str) -> str:
    """The sort key to continue after; a cursor of another list (another owner's log) is refused."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(doc, dict) or doc.get("list") != partition:
        raise _bad_cursor()
    after = doc.get("after")
    if not isinstance(after, str) or not after.startswith(keys.ACCESS_PREFIX):
        raise _bad_cursor()
    return after
