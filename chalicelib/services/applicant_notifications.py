"""The applicant's notifications: every event that concerns them becomes one notification with the
catalogue's text (a stream projection), sent through the applicant notifier where one is configured
(SNS in AWS) and listed by `GET /v1/applications/{id}/events`.

Idempotent on the event id: the record is put only if absent; a record still `pending` (recorded,
but the send did not complete) is sent again on redelivery — at least once, deduplicated downstream
by the notification id.
"""

from __future__ import annotations

from ..domain.events import DomainEvent
from ..domain.notifications import (
    APPLICANT_EVENTS,
    Notification,
    compose,
    notification_id,
    notification_position,
)
from ..domain.principals import Principal
from ..observability import logger
from ..ports import Page
from .applications import get_own_application
from .deps import Deps


def notify_applicant(deps: Deps, event: DomainEvent) -> Notification | None:
    """The projection: the event's notification (new or already recorded), or None when the event is
    not for the applicant."""
    if event.type not in APPLICANT_EVENTS:
        return None
    store = deps.store
    position = notification_position(event)
    # Put first, read only when it was there already (a redelivery): one request less per event in
    # the usual case than looking before writing.
    fresh = _compose(deps, event)
    if fresh is None:
        return None
    notification = fresh if store.put_notification(fresh) else store.get_notification(event.application_id, position)
    if notification is None:  # pragma: no cover - put refused yet nothing there: a store fault
        raise RuntimeError("notification neither recorded nor found")
    if notification.delivery == "pending" and deps.applicant_notifier is not None:
        deps.applicant_notifier.send(notification)
        sent_at = deps.now().isoformat(timespec="milliseconds")
        store.mark_notification_sent(event.application_id, position, sent_at)
        notification = notification.model_copy(update={"delivery": "sent", "sent_at": sent_at})
    return notification


def _compose(deps: Deps, event: DomainEvent) -> Notification | None:
    app = deps.store.get_application(event.application_id)
    if app is None:
        logger.warning("notification_without_application", extra={"event_id": event.id, "type": event.type})
        return None
    item = deps.store.get_item_version(app.item_code, app.item_version)
    case_number = app.case.case_number if app.case is not None else None
    texts = compose(event, item, case_number)
    if texts is None:
        return None
    return Notification(
        id=notification_id(event.id), application_id=app.id, event_id=event.id, type=event.type,
        occurred_at=event.occurred_at, position=notification_position(event), recipient_sub=app.owner_sub,
        case_number=str(event.data.get("case_number") or case_number or "") or None,
        text_zh=texts[0], text_en=texts[1],
        delivery="pending" if deps.applicant_notifier is not None else "recorded")


def project_notifications(deps: Deps, event: DomainEvent) -> None:
    notify_applicant(deps, event)


def list_own_notifications(deps: Deps, principal: Principal, application_id: str, limit: int,
                           cursor: str | None) -> Page:
    """The applicant's own application's notifications, newest first (anyone else's: not found)."""
    get_own_application(deps, principal, application_id)
    return deps.store.list_notifications(application_id, limit, cursor)
