"""The delivery-alert contacts of the single table (mixed into `DynamoStore`): `ALERTS#<hash>/CONTACT`,
one record per subscribed contact with the departments it hears, changed only at its version."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..domain.errors import ConcurrentUpdate
from ..lazy import deferred
from . import keys
from .records import doc as _doc

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import alert_contacts as alert_contacts_models
    from ..domain.alert_contacts import AlertContact
else:
    alert_contacts_models = deferred("chalicelib.domain.alert_contacts")



class AlertContactRecords:
    _db: Any
    _table: str
    _get: Callable[..., dict[str, Any] | None]
    _put: Callable[..., None]

    def get_alert_contact(self, key: str) -> AlertContact | None:
        rec = self._get(keys.alert_contact(key), consistent=True)
        if not rec:
            return None
        return alert_contacts_models.AlertContact.model_validate({**_doc(rec), "version": int(rec["version"]["N"])})

    def save_alert_contact(self, contact: AlertContact, expected_version: int | None) -> AlertContact:
        saved = contact.model_copy(update={"version": 0 if expected_version is None else expected_version + 1})
        item = {**{k: {"S": v} for k, v in keys.alert_contact(contact.key).items()}, "type": {"S": "alert_contact"},
                "version": {"N": str(saved.version)}, "doc": {"S": saved.model_dump_json(exclude={"version"})}}
        if expected_version is None:
            self._put(item, "attribute_not_exists(pk)")
        else:
            self._put(item, "version = :v", {":v": {"N": str(expected_version)}})
        return saved

    def delete_alert_contact(self, key: str, expected_version: int) -> None:
        try:
            self._db.delete_item(TableName=self._table, Key={k: {"S": v} for k, v in keys.alert_contact(key).items()},
                                 ConditionExpression="version = :v",
                                 ExpressionAttributeValues={":v": {"N": str(expected_version)}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdate() from exc
            raise
