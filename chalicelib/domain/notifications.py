"""Applicant notifications (办件进度通知): what the applicant is told when their case changes.

Only events that concern the applicant produce one (not a department's task or deadline events).
The text is the catalogue's: an item may override any event's zh/en template (`ServiceItem.
notifications`); otherwise the built-in default below is used. Templates fill `{placeholder}`s from
the event, the case and the item — never with personal data (no names, ID numbers, addresses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .catalogue import ServiceItem
from .events import DomainEvent

_ITEM = frozenset({"item_code", "item_name_zh", "item_name_en"})
_CASE = _ITEM | {"case_number"}

# Each applicant event type and the placeholders its templates may use, in lifecycle order (which
# also orders events raised in the same instant, e.g. submitted and accepted in one write).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "onetrip.application.submitted": _ITEM,
    "onetrip.case.accepted": _CASE | {"deadline", "committed_days"},
    "onetrip.case.refused": _ITEM | {"reasons_zh", "reasons_en"},
    "onetrip.task.supplement_requested": _CASE | {"round", "materials_zh", "materials_en", "deadline"},
    "onetrip.case.decided": _CASE | {"outcome_zh", "outcome_en"},
    "onetrip.case.result_issued": _CASE | {"method_zh", "method_en"},
    "onetrip.case.closed": _CASE,
    "onetrip.case.withdrawn": _ITEM,
    "onetrip.case.visit_recorded": _CASE | {"visits", "max_visits"},
    "onetrip.case.rated": _CASE | {"level"},
}
APPLICANT_EVENTS = frozenset(PLACEHOLDERS)

# (zh, en) per event type. Plain strings, not NotificationText: building that model at import would
# cost every cold start its schema.
DEFAULT_TEXTS: dict[str, tuple[str, str]] = {t: (zh, en) for t, zh, en in (
    ("onetrip.application.submitted", "您的“{item_name_zh}”申请已提交。",
     "Your application for {item_name_en} has been submitted."),
    ("onetrip.case.accepted",
     "您的“{item_name_zh}”申请已受理，办件编号 {case_number}，承诺 {committed_days} 个工作日内（{deadline} 前）办结。",
     "Your application for {item_name_en} was accepted as case {case_number}; it will be decided within "
     "{committed_days} working days (by {deadline})."),
    ("onetrip.case.refused", "您的“{item_name_zh}”申请不予受理：{reasons_zh}",
     "Your application for {item_name_en} was not accepted: {reasons_en}"),
    ("onetrip.task.supplement_requested",
     "办件 {case_number} 需要补正（第 {round} 轮）：{materials_zh}。请一次性补齐；补正期间办理时限暂停计算。",
     "Case {case_number} needs supplements (round {round}): {materials_en}. Supply them all at once; the "
     "clock is paused meanwhile."),
    ("onetrip.case.decided", "办件 {case_number}（{item_name_zh}）已作出决定：{outcome_zh}。",
     "Case {case_number} ({item_name_en}) has been decided: {outcome_en}."),
    ("onetrip.case.result_issued", "办件 {case_number} 的办理结果已送达，方式：{method_zh}。",
     "The result of case {case_number} has been issued: {method_en}."),
    ("onetrip.case.closed", "办件 {case_number} 已办结。欢迎对本次服务作出评价。",
     "Case {case_number} is closed. Please rate the service."),
    ("onetrip.case.withdrawn", "您已撤回“{item_name_zh}”申请。",
     "You withdrew your application for {item_name_en}."),
    ("onetrip.case.visit_recorded", "已记录您为办件 {case_number} 到场办理第 {visits} 次（承诺最多 {max_visits} 次）。",
     "Visit {visits} for case {case_number} was recorded (the promise is at most {max_visits})."),
    ("onetrip.case.rated", "感谢您对办件 {case_number} 的评价（{level} 星）。",
     "Thank you for rating case {case_number} ({level} of 5)."),
)}

_OUTCOME = {"approved": ("准予批准", "approved"), "rejected": ("不予批准", "rejected")}
_METHOD = {"download": ("在线下载", "download online"), "mail": ("邮寄送达", "by mail"),
           "pickup": ("窗口自取", "pick-up at the window")}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, str]) -> str | None:
    """The template filled in, or None when a value it needs is not known for this event."""
    if not placeholders(template) <= values.keys():
        return None
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class Notification(BaseModel, defer_build=True):
    """One notification of one event to the applicant; its id follows the event's (one per event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    application_id: str
    event_id: str
    type: str
    occurred_at: str
    # Where it sorts in the application's list: time, then lifecycle order, then the event id.
    position: str
    recipient_sub: str
    case_number: str | None = None
    text_zh: str
    text_en: str
    # recorded: kept only (no sender configured, the local stage); pending: being sent; sent: handed to SNS.
    delivery: Literal["recorded", "pending", "sent"] = "recorded"
    sent_at: str | None = None


def notification_id(event_id: str) -> str:
    return "ntf_" + event_id.removeprefix("evt_")


_LIFECYCLE_RANK = {event_type: rank for rank, event_type in enumerate(PLACEHOLDERS)}


def notification_position(event: DomainEvent) -> str:
    """The sort key of the event's notification: UTC milliseconds, lifecycle rank, event id."""
    at = datetime.fromisoformat(event.occurred_at)
    epoch_ms = int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)
    return f"{epoch_ms:013d}#{_LIFECYCLE_RANK.get(event.type, 99):02d}#{event.id}"


def _values(event: DomainEvent, item: ServiceItem | None, case_number: str | None) -> dict[str, str]:
    data = event.data
    values: dict[str, str] = {"item_code": str(data.get("item_code") or (item.code if item else ""))}
    if item is not None:
        values.update(item_name_zh=item.name_zh, item_name_en=item.name_en)
    number = data.get("case_number") or case_number
    if number:
        values["case_number"] = str(number)
    for key in ("deadline", "committed_days", "round", "visits", "max_visits", "level"):
        if data.get(key) is not None:
            values[key] = str(data[key])
    if data.get("outcome") in _OUTCOME:
        values["outcome_zh"], values["outcome_en"] = _OUTCOME[data["outcome"]]
    if data.get("method") in _METHOD:
        values["method_zh"], values["method_en"] = _METHOD[data["method"]]
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, dict)]
    if reasons:
        values["reasons_zh"] = "；".join(str(r.get("message_zh", r.get("code", ""))) for r in reasons)
        values["reasons_en"] = "; ".join(str(r.get("message_en", r.get("code", ""))) for r in reasons)
    wanted = [w for w in data.get("items") or [] if isinstance(w, dict)]
    if wanted:
        names = [_wanted_name(w, item) for w in wanted]
        values["materials_zh"] = "、".join(zh for zh, _ in names)
        values["materials_en"] = ", ".join(en for _, en in names)
    return values


def _wanted_name(wanted: dict[str, Any], item: ServiceItem | None) -> tuple[str, str]:
    """A supplement request's material or form field, named as the catalogue names it."""
    material = item.material(str(wanted["material"])) if item and wanted.get("material") else None
    if material is not None:
        return material.name_zh, material.name_en
    form_field = item.field(str(wanted["field"])) if item and wanted.get("field") else None
    if form_field is not None:
        return form_field.label_zh, form_field.label_en
    code = str(wanted.get("material") or wanted.get("field") or wanted.get("code") or "")
    return code, code


def compose(event: DomainEvent, item: ServiceItem | None, case_number: str | None) -> tuple[str, str] | None:
    """The applicant's text for this event (the item's own template, else the default), or None when
    the event is not for the applicant."""
    default = DEFAULT_TEXTS.get(event.type)
    if default is None:
        return None
    values = _values(event, item, case_number)
    override = item.notifications.get(event.type) if item is not None else None
    templates = [(override.text_zh, override.text_en)] if override is not None else []
    for text_zh, text_en in (*templates, default):
        zh, en = render(text_zh, values), render(text_en, values)
        if zh is not None and en is not None:
            return zh, en
    # The event lacks something even the default needs: still tell the applicant, with a gap.
    gaps = {name: "—" for name in PLACEHOLDERS[event.type]} | values
    default_zh, default_en = default
    return render(default_zh, gaps) or default_zh, render(default_en, gaps) or default_en

