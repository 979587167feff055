"""The applicant's notifications: every event that concerns them becomes one notification with the
catalogue's text (a stream projection), sent through the applicant notifier where one is configured
(SNS in AWS) and listed by `GET /v1/applications/{id}/events`.

Idempotent on the event id: the record is put only if absent (with the batch's other projections,
services/projections.py); a record still `pending` (recorded, but the send did not complete) is sent
again on redelivery — at least once, deduplicated downstream by the notification id.
"""

from __future__ import annotations

from ..domain.events import CaseContext, DomainEvent
from ..domain.notifications import (
    APPLICANT_EVENTS,
    Notification,
    compose,
    notification_id,
    notification_position,
)
from ..domain.principals import Principal
from ..observability import logger
from ..ports import Page, Recorded
from .applications import get_own_application
from .deps import Deps


def compose_notification(deps: Deps, event: DomainEvent) -> Notification | None:
    """The event's notification as it is to be recorded, or None when the event is not for the applicant.
    Whose case and which catalogue version come from the event's context (stamped by the store); an
    event without one (written before contexts existed) has its application read."""
    if event.type not in APPLICANT_EVENTS:
        return None
    context = event.context or _context_of(deps, event)
    if context is None:
        return None
    item = deps.store.get_item_version(context.item_code, context.item_version)  # immutable: cached warm
    texts = compose(event, item, context.case_number)
    if texts is None:
        return None
    return Notification(
        id=notification_id(event.id), application_id=event.application_id, event_id=event.id, type=event.type,
        occurred_at=event.occurred_at, position=notification_position(event), recipient_sub=context.owner_sub,
        case_number=str(event.data.get("case_number") or context.case_number or "") or None,
        text_zh=texts[0], text_en=texts[1],
        delivery="pending" if deps.applicant_notifier is not None else "recorded")


def _context_of(deps: Deps, event: DomainEvent) -> CaseContext | None:
    app = deps.store.get_application(event.application_id)
    if app is None:
        logger.warning("notification_without_application", extra={"event_id": event.id, "type": event.type})
        return None
    return CaseContext(owner_sub=app.owner_sub, item_code=app.item_code, item_version=app.item_version,
                       case_number=app.case.case_number if app.case is not None else None)


def send_recorded(deps: Deps, notifications: list[Notification], recorded: Recorded) -> list[Notification]:
    """Send what needs sending once the batch is recorded: each new notification, and each one an
    earlier delivery of the event recorded but did not send (still `pending`). Returns them as stored."""
    out = []
    for fresh in notifications:
        notification = fresh if fresh.id in recorded.notified else \
            deps.store.get_notification(fresh.application_id, fresh.position)
        if notification is None:  # pragma: no cover - refused as present yet not there: a store fault
            raise RuntimeError("notification neither recorded nor found")
        if notification.delivery == "pending" and deps.applicant_notifier is not None:
            deps.applicant_notifier.send(notification)
            sent_at = deps.now().isoformat(timespec="milliseconds")
            notification = notification.model_copy(update={"delivery": "sent", "sent_at": sent_at})
            deps.store.mark_notification_sent(notification)
        out.append(notification)
    return out


def list_own_notifications(deps: Deps, principal: Principal, application_id: str, limit: int,
                           cursor: str | None) -> Page:
    """The applicant's own application's notifications, newest first (anyone else's: not found)."""
    get_own_application(deps, principal, application_id)
    return deps.store.list_notifications(application_id, limit, cursor)
