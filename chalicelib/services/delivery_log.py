"""The delivery log and replay: what was sent to a department, every attempt, and sending it again.

A department sees only its own deliveries; admins name the department. A replay sends the same body
under the same `webhook-id` as a new generation of attempts, so a receiver that already acted on it
answers 2xx without acting again: one effect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..domain.deliveries import STATUS_VALUES, Delivery, DeliveryStatus
from ..domain.errors import ConcurrentUpdate, NotFound, Problem, ValidationFailed
from ..domain.principals import Principal, PrincipalKind
from ..ports import OutboundMessage, Page
from .deps import Deps

MAX_REPLAY = 1000


def _department_for(principal: Principal, requested: str | None) -> str:
    if principal.kind is PrincipalKind.DEPARTMENT:
        assert principal.department is not None
        if requested not in (None, principal.department):
            raise NotFound.of("department", requested or "")
        return principal.department
    if not requested:
        raise ValidationFailed(problems=[Problem("department_required", "请指定部门", "Name the department",
                                                 "department")])
    return requested


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUS_VALUES:
        raise ValidationFailed(problems=[Problem("status_invalid", "投递状态无效", "Unknown delivery status",
                                                 "status", {"allowed": list(STATUS_VALUES)})])


def list_deliveries(deps: Deps, principal: Principal, department: str | None, status: str | None, limit: int,
                    cursor: str | None) -> Page:
    _check_status(status)
    return deps.store.list_deliveries(_department_for(principal, department), limit, cursor, status)


def get_delivery(deps: Deps, principal: Principal, webhook_id: str) -> tuple[Delivery, list[dict[str, Any]]]:
    delivery = deps.store.get_delivery(webhook_id) if len(webhook_id) <= 128 else None
    if delivery is None or (principal.kind is PrincipalKind.DEPARTMENT
                            and delivery.department != principal.department):
        raise NotFound.of("delivery", webhook_id)
    attempts = [a.model_dump(mode="json", exclude={"webhook_id"})
                for a in deps.store.list_delivery_attempts(webhook_id)]
    return delivery, attempts


def replay(deps: Deps, principal: Principal, webhook_id: str) -> Delivery:
    delivery, _ = get_delivery(deps, principal, webhook_id)
    return _replay(deps, delivery)


def _replay(deps: Deps, delivery: Delivery) -> Delivery:
    now = deps.now().isoformat(timespec="milliseconds")
    generation = delivery.generation + 1
    message = delivery.message().next(attempt=1, generation=generation)
    # Queue first: if the state write below is lost, the message still carries the new generation.
    deps.queue.send([OutboundMessage(id=delivery.webhook_id, body=message.model_dump_json())])
    replayed = delivery.model_copy(update={"generation": generation, "attempt": 0, "status": DeliveryStatus.RETRYING,
                                           "next_attempt_at": now, "updated_at": now, "claimed_at": None})
    try:
        return deps.store.save_delivery(replayed, delivery.version)
    except ConcurrentUpdate:  # the queued message is the replay; the state catches up on delivery
        return replayed


def _instant(value: str) -> str:
    """An ISO 8601 time with a zone, in the form delivery records are stamped with (UTC, milliseconds)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a zone is required")
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def replay_range(deps: Deps, principal: Principal, department: str | None, since: str, until: str,
                 status: str | None = None) -> list[str]:
    """Replays every delivery to the department created in [since, until] (ISO 8601), oldest first."""
    _check_status(status)
    code = _department_for(principal, department)
    try:
        start, end = (_instant(since), _instant(until))
    except ValueError as exc:
        raise ValidationFailed(problems=[Problem("range_invalid", "时间范围无效（ISO 8601，含时区）",
                                                 "The time range is invalid (ISO 8601 with a zone)", "since")]) from exc
    if start > end:
        raise ValidationFailed(problems=[Problem("range_invalid", "开始时间晚于结束时间", "since is after until",
                                                 "since")])
    since, until = start, end
    found: list[Delivery] = []
    cursor = None
    while True:
        page = deps.store.list_deliveries(code, 100, cursor, status, since, until)
        found += page.items
        cursor = page.cursor
        if cursor is None or len(found) > MAX_REPLAY:
            break
    if len(found) > MAX_REPLAY:
        raise ValidationFailed(problems=[Problem("range_too_large", "范围内投递过多，请缩小时间范围",
                                                 "Too many deliveries in the range; narrow it", "since",
                                                 {"max": MAX_REPLAY})])
    return [_replay(deps, d).webhook_id for d in sorted(found, key=lambda d: d.created_at)]
