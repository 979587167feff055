"""The applicant-notification access patterns of the single table (mixed into `DynamoStore`).

`APP#<application>/NTF#<ms>#<lifecycle rank>#<event id>`: one record per event, put only if absent
(a redelivered event records nothing new); the key sorts by time, so "newest first" is one descending
Query.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..lazy import deferred
from ..ports import Page
from . import keys
from .records import bad_cursor as _bad_cursor
from .records import doc as _doc
from .records import key_of as _key
from .records import s as _s

# Domain models this mixin alone reads are imported on its first read: a function that never
# touches them does not pay for them at its cold start.
if TYPE_CHECKING:
    from ..domain import notifications as notifications_models
    from ..domain.notifications import Notification
else:
    notifications_models = deferred("chalicelib.domain.notifications")



def _encode(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    flat = {"pk": last_key["pk"]["S"], "sk": last_key["sk"]["S"]}
    return base64.urlsafe_b64encode(json.dumps(flat, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str | None, app_id: str) -> dict[str, Any] | None:
    """A cursor of this very list only (another application's cursor is refused, not followed)."""
    if not cursor:
        return None
    try:
        flat = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise _bad_cursor() from exc
    if not (isinstance(flat, dict) and set(flat) == {"pk", "sk"} and all(isinstance(v, str) for v in flat.values())
            and flat["pk"] == keys.notification(app_id, "")["pk"]
            and flat["sk"].startswith(keys.NOTIFICATION_PREFIX)):
        raise _bad_cursor()
    return {k: _s(v) for k, v in flat.items()}


def notification_put(table: str, notification: Notification) -> dict[str, Any]:
    """The put that records an event's notification unless it is there (a redelivered event)."""
    return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
        **_key(keys.notification(notification.application_id, notification.position)),
        "type": _s("notification"), "version": {"N": "0"}, "doc": _s(notification.model_dump_json())}}}


class NotificationRecords:
    _db: Any
    _table: str

    def get_notification(self, app_id: str, position: str) -> Notification | None:
        rec = self._db.get_item(TableName=self._table, Key=_key(keys.notification(app_id, position)),
                                ConsistentRead=True).get("Item")
        return notifications_models.Notification.model_validate(_doc(rec)) if rec else None

    def mark_notification_sent(self, sent: Notification) -> None:
        """One conditional UpdateItem with the sent copy (the caller holds the recorded notification); a
        notification that is not recorded stays unrecorded."""
        try:
            self._db.update_item(TableName=self._table,
                                 Key=_key(keys.notification(sent.application_id, sent.position)),
                                 UpdateExpression="SET #d = :d", ExpressionAttributeNames={"#d": "doc"},
                                 ExpressionAttributeValues={":d": _s(sent.model_dump_json())},
                                 ConditionExpression="attribute_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def list_notifications(self, app_id: str, limit: int, cursor: str | None) -> Page:
        # One more than asked: a cursor only when there is a next page (never an empty last page).
        kwargs: dict[str, Any] = {
            "TableName": self._table, "Limit": limit + 1, "ScanIndexForward": False,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(keys.notification(app_id, "")["pk"]),
                                          ":s": _s(keys.NOTIFICATION_PREFIX)}}
        start = _decode(cursor, app_id)
        if start:
            kwargs["ExclusiveStartKey"] = start
        items = self._db.query(**kwargs).get("Items", [])
        page = items[:limit]
        return Page([notifications_models.Notification.model_validate(_doc(i)) for i in page],
                    _encode({"pk": page[-1]["pk"], "sk": page[-1]["sk"]}) if len(items) > limit else None)
