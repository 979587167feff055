"""The catalogue linter (标准化检查): the rules a service item must pass before it is published.

Each rule has a stable id; each finding names the item, the rule, the field path and a Chinese and
an English message. The rules come from the Zhejiang "最多跑一次" guide standard and the seed: no
catch-all or vague materials (兜底条款), exact file limits, committed ≤ statutory time, joint items
with at least two registered departments, sub-items with their main item, unique codes, conditions
over real form fields that can be true, a legal basis, a known provincial base code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import conditions
from .catalogue import ServiceItem


@dataclass(frozen=True)
class Rule:
    id: str
    title_zh: str
    title_en: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("vague-wording", "材料或前置条件含兜底、模糊用语", "Catch-all or vague wording in a material or prerequisite"),
    Rule("no-file-limits", "材料未规定文件类型或大小上限", "A material without accepted file types or a size limit"),
    Rule("committed-exceeds-statutory", "承诺时限超过法定时限", "Committed time limit exceeds the statutory one"),
    Rule("joint-needs-two-departments", "联办事项少于两个部门", "A joint item with fewer than two departments"),
    Rule("unknown-department", "部门未注册", "A department that is not registered"),
    Rule("sub-item-without-main", "子项缺少主项", "A sub-item whose main item is missing"),
    Rule("duplicate-code", "编码重复", "Duplicate item code"),
    Rule("condition-invalid", "条件无法解析或类型不符", "A condition that does not parse or does not fit the form"),
    Rule("condition-unknown-field", "条件引用了表单中不存在的字段", "A condition over an unknown form field"),
    Rule("condition-never-true", "条件永远不成立", "A condition that can never be true"),
    Rule("missing-legal-basis", "缺少设定依据", "Missing legal basis"),
    Rule("base-code-missing", "缺少省级基本编码", "Missing provincial base code"),
    Rule("base-code-unknown", "省级基本编码不在省级目录中", "Provincial base code not in the provincial catalogue"),
    Rule("unknown-item-reference", "引用了目录中不存在的事项", "A reference to an item not in the catalogue"),
    Rule("notification-unknown-event", "通知文本针对的不是申请人事件", "A notification text for an event the "
         "applicant is not told about"),
    Rule("notification-unknown-placeholder", "通知文本含该事件没有的占位符",
         "A notification text with a placeholder this event does not have"),
)}


@dataclass(frozen=True)
class Finding:
    item: str
    rule: str
    path: str
    message_zh: str
    message_en: str

    def line(self) -> str:
        return f"{self.item} {self.rule} {self.path}: {self.message_zh} | {self.message_en}"

    def to_dict(self) -> dict[str, str]:
        return {"item": self.item, "rule": self.rule, "path": self.path, "message_zh": self.message_zh,
                "message_en": self.message_en}


@dataclass(frozen=True)
class LintContext:
    """What the linter checks references against. `None` means "not known here": the rule that needs
    it reports nothing rather than guessing (the CLI always supplies both)."""

    departments: frozenset[str] | None = None
    provincial_codes: frozenset[str] | None = None
    other_items: frozenset[str] = field(default_factory=frozenset)  # already published, not in this batch


# Catch-all and vague wording (兜底条款). "等" only where it ends an enumeration, so 等级 or 平等 pass.
_VAGUE_ZH = re.compile(
    r"其[他它]\S{0,4}(材料|证明|文件|资料)|相关(材料|证明|文件|资料|手续)|有关|必要时|其[他它]|"
    r"等(?=$|[。；;，,、）)\s]|材料|证明|文件|资料|证件)|视情况|另行通知|按规定提供|根据需要")
_VAGUE_EN = re.compile(
    r"\b(as required|if necessary|when necessary|where necessary|etc\b\.?|and so on|other (relevant |related )?"
    r"(materials?|documents?|proofs?|certificates?)|relevant (materials?|documents?|proofs?|certificates?)|"
    r"related (materials?|documents?)|as appropriate|any other)", re.IGNORECASE)


def vague_term(text: str | None) -> str | None:
    if not text:
        return None
    match = _VAGUE_ZH.search(text) or _VAGUE_EN.search(text)
    return match.group(0) if match else None


def _f(item: ServiceItem, rule: str, path: str, zh: str, en: str) -> Finding:
    return Finding(item.code, rule, path, zh, en)


def lint_item(item: ServiceItem, context: LintContext, catalogue_codes: frozenset[str]) -> list[Finding]:
    out: list[Finding] = []
    known_items = catalogue_codes | context.other_items

    for i, m in enumerate(item.materials):
        for attr in ("name_zh", "name_en", "note_zh", "note_en"):
            term = vague_term(getattr(m, attr))
            if term:
                out.append(_f(item, "vague-wording", f"materials[{i}].{attr}",
                              f"材料“{m.name_zh}”含兜底或模糊用语“{term}”，请写明具体材料",
                              f"material {m.code!r} has catch-all or vague wording {term!r}; name the exact document"))
        if not m.obtained_by_bus:
            missing = [a for a in ("accepted_types", "max_size_bytes") if a not in m.model_fields_set]
            if missing:
                out.append(_f(item, "no-file-limits", f"materials[{i}]",
                              f"材料“{m.name_zh}”未规定{'、'.join(_ZH_ATTR[a] for a in missing)}",
                              f"material {m.code!r} does not state {' and '.join(missing)}"))
        if m.obtainable_from and m.obtainable_from.department:
            out += _department(item, m.obtainable_from.department, f"materials[{i}].obtainable_from.department",
                               context)
        if m.condition is not None:
            out += _condition(item, m.condition, f"materials[{i}].condition")

    for i, p in enumerate(item.prerequisites):
        for attr in ("description_zh", "description_en"):
            term = vague_term(getattr(p, attr))
            if term:
                out.append(_f(item, "vague-wording", f"prerequisites[{i}].{attr}",
                              f"前置条件含兜底或模糊用语“{term}”", f"prerequisite has vague wording {term!r}"))
        if p.condition is not None:
            out += _condition(item, p.condition, f"prerequisites[{i}].condition")
        if p.item_code and p.item_code not in known_items:
            out.append(_unknown_item(item, p.item_code, f"prerequisites[{i}].item_code"))

    if item.committed_days > item.statutory_days:
        out.append(_f(item, "committed-exceeds-statutory", "committed_days",
                      f"承诺时限 {item.committed_days} 个工作日超过法定时限 {item.statutory_days} 个工作日",
                      f"committed {item.committed_days} working days exceed the statutory {item.statutory_days}"))
    if item.joint_departments:
        distinct = set(item.departments)
        listed_twice = len(item.joint_departments) != len(set(item.joint_departments)) \
            or item.lead_department in item.joint_departments
        if len(distinct) < 2 or listed_twice:
            out.append(_f(item, "joint-needs-two-departments", "joint_departments",
                          "联办事项须由至少两个不同部门办理，且每个部门只列一次",
                          "a joint item needs at least two distinct departments, each listed once"))
    out += _department(item, item.lead_department, "lead_department", context)
    for i, d in enumerate(item.joint_departments):
        out += _department(item, d, f"joint_departments[{i}]", context)
    for i, d in enumerate(item.delegated_to):
        out += _department(item, d, f"delegated_to[{i}]", context)

    if item.main_item is not None and (item.main_item == item.code or item.main_item not in known_items):
        out.append(_f(item, "sub-item-without-main", "main_item",
                      f"子项的主项 {item.main_item} 不在目录中",
                      f"main item {item.main_item!r} is not in the catalogue"))
    for i, s in enumerate(item.stages):
        for j, code in enumerate(s.item_codes):
            if code not in known_items:
                out.append(_unknown_item(item, code, f"stages[{i}].item_codes[{j}]"))

    if not item.legal_basis:
        out.append(_f(item, "missing-legal-basis", "legal_basis", "缺少设定依据（法律法规及条款）",
                      "no legal basis (law or regulation and article) is given"))
    if not item.base_code.strip():
        out.append(_f(item, "base-code-missing", "base_code", "缺少省级事项基本编码",
                      "the provincial base code is missing"))
    elif context.provincial_codes is not None and item.base_code not in context.provincial_codes:
        out.append(_f(item, "base-code-unknown", "base_code", f"基本编码 {item.base_code} 不在省级目录中",
                      f"base code {item.base_code!r} is not in the provincial catalogue"))
    out += _notifications(item)
    return out


def _notifications(item: ServiceItem) -> list[Finding]:
    from .notifications import PLACEHOLDERS, placeholders

    out: list[Finding] = []
    for event_type, text in item.notifications.items():
        known = PLACEHOLDERS.get(event_type)
        if known is None:
            out.append(_f(item, "notification-unknown-event", f"notifications.{event_type}",
                          f"事件 {event_type} 不通知申请人", f"event {event_type!r} is not told to the applicant"))
            continue
        for attr in ("text_zh", "text_en"):
            for name in sorted(placeholders(getattr(text, attr)) - known):
                out.append(_f(item, "notification-unknown-placeholder", f"notifications.{event_type}.{attr}",
                              f"占位符 {{{name}}} 不适用于事件 {event_type}（可用：{'、'.join(sorted(known))}）",
                              f"placeholder {{{name}}} is not known for {event_type} "
                              f"(known: {', '.join(sorted(known))})"))
    return out


_ZH_ATTR = {"accepted_types": "文件类型", "max_size_bytes": "大小上限"}


def _department(item: ServiceItem, code: str, path: str, context: LintContext) -> list[Finding]:
    if context.departments is None or code in context.departments:
        return []
    return [_f(item, "unknown-department", path, f"部门 {code} 未注册", f"department {code!r} is not registered")]


def _unknown_item(item: ServiceItem, code: str, path: str) -> Finding:
    return _f(item, "unknown-item-reference", path, f"引用的事项 {code} 不在目录中",
              f"item {code!r} is not in the catalogue")


def _condition(item: ServiceItem, source: str, path: str) -> list[Finding]:
    tree, problems = conditions.check(source, item.form)
    out: list[Finding] = []
    for p in problems:
        rule = "condition-unknown-field" if p.code == "condition_unknown_field" else "condition-invalid"
        out.append(_f(item, rule, path, f"条件“{source}”：{p.message_zh}", f"condition {source!r}: {p.message_en}"))
    if tree is not None and conditions.satisfiable(tree, item.form) is False:
        out.append(_f(item, "condition-never-true", path, f"条件“{source}”对任何填写都不成立",
                      f"condition {source!r} is false for every possible answer"))
    return out


def lint(items: Iterable[ServiceItem], context: LintContext | None = None) -> list[Finding]:
    """Every finding over a set of items (a whole catalogue or a batch being published)."""
    items = list(items)
    context = context or LintContext()
    counts = Counter(i.code for i in items)
    codes = frozenset(counts)
    findings: list[Finding] = []
    reported: set[str] = set()
    for item in items:
        if counts[item.code] > 1 and item.code not in reported:
            reported.add(item.code)
            findings.append(_f(item, "duplicate-code", "code", f"事项编码 {item.code} 出现 {counts[item.code]} 次",
                               f"item code {item.code!r} appears {counts[item.code]} times"))
        findings += lint_item(item, context, codes)
    return findings
