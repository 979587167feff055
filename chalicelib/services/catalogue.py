"""The catalogue's use cases: the service guide and its search, the checklist of one applicant,
drafts, publishing (only with a clean lint), and the diff of a new version with its impact."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..domain.catalogue import ItemStatus, ServiceItem, is_valid_code
from ..domain.catalogue_search import MAX_QUERY, CatalogueIndex
from ..domain.checklist import Checklist, checklist
from ..domain.errors import ConcurrentUpdate, Conflict, NotFound, Problem, ValidationFailed
from ..ports import Page, Store

if TYPE_CHECKING:  # the linter and the differ load where a catalogue is published or compared (cold start)
    from ..domain.catalogue_diff import ItemDiff
    from ..domain.catalogue_lint import Finding, LintContext

# The search index is rebuilt at most this often per warm container: a newly published version is
# searchable within this time (the guide itself, GET /v1/items/{code}, is always read fresh).
INDEX_TTL_SECONDS = 300
_LOAD_PAGE = 100


def list_items(store: Store, limit: int, cursor: str | None) -> Page:
    return store.list_items(limit, cursor)


def get_item(store: Store, code: str) -> ServiceItem:
    item = store.get_item(code) if is_valid_code(code) else None
    if item is None:
        raise NotFound.of("item", code)
    return item


def item_checklist(store: Store, code: str, answers: dict[str, Any]) -> Checklist:
    """Exactly the materials and prerequisites for these answers, under the current published version."""
    return checklist(get_item(store, code), answers)


# -- search ------------------------------------------------------------------------------------------
@dataclass
class _Cached:
    index: CatalogueIndex
    built_at: float
    store: Store  # a warm container has one store; tests swap it


_cache: _Cached | None = None


def load_published(store: Store) -> list[ServiceItem]:
    """Every published item (latest version): Queries on the catalogue index, page by page."""
    items: list[ServiceItem] = []
    cursor: str | None = None
    while True:
        page = store.list_items(_LOAD_PAGE, cursor)
        items.extend(page.items)
        if page.cursor is None:
            return items
        cursor = page.cursor


def catalogue_index(store: Store, *, now: float | None = None) -> CatalogueIndex:
    global _cache
    now = time.monotonic() if now is None else now
    if _cache is None or _cache.store is not store or now - _cache.built_at > INDEX_TTL_SECONDS:
        _cache = _Cached(CatalogueIndex(load_published(store)), now, store)
    return _cache.index


def reset_index() -> None:
    global _cache
    _cache = None


def search_items(store: Store, q: str | None, department: str | None, channel: str | None, limit: int,
                 cursor: str | None) -> Page:
    problems = []
    if q is not None and len(q) > MAX_QUERY:
        problems.append(Problem("query_too_long", f"搜索词不能超过 {MAX_QUERY} 个字符",
                                f"The search text is limited to {MAX_QUERY} characters", "q"))
    if channel is not None and channel not in {"online", "window", "terminal", "town_centre"}:
        problems.append(Problem("channel_invalid", "办理渠道无效（online、window、terminal、town_centre）",
                                "channel must be online, window, terminal or town_centre", "channel"))
    if department is not None and not is_valid_code(department):
        problems.append(Problem("department_invalid", "部门编码无效", "The department code is invalid", "department"))
    if problems:
        raise ValidationFailed(problems=problems)
    binding = hashlib.sha256(json.dumps([q, department, channel]).encode()).hexdigest()[:16]
    offset = _decode_offset(cursor, binding)
    found = catalogue_index(store).search(q, department, channel)
    chunk = found[offset:offset + limit]
    more = offset + limit < len(found)
    next_cursor = base64.urlsafe_b64encode(json.dumps({"s": binding, "o": offset + limit}).encode()
                                           ).decode().rstrip("=") if more else None
    return Page(chunk, next_cursor)


def _decode_offset(cursor: str | None, binding: str) -> int:
    if not cursor:
        return 0
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(doc, dict) and doc.get("s") == binding and isinstance(doc.get("o"), int) and doc["o"] >= 0:
            return int(doc["o"])
    except (ValueError, TypeError):
        pass
    raise ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid", "cursor")])


# -- versions ----------------------------------------------------------------------------------------
def publish_item(store: Store, item: ServiceItem) -> ServiceItem:
    """Store one published version as given (seeding of a linted catalogue, tests). A version number is
    never reused with other content: cases pin it."""
    existing = store.get_item_version(item.code, item.version)
    if existing is not None and existing.content_hash != item.content_hash:
        raise _version_exists(item)
    try:
        store.put_item(item)
    except ConcurrentUpdate as exc:
        raise _version_exists(item) from exc
    return item


def _version_exists(item: ServiceItem) -> Conflict:
    return Conflict("该版本号已发布且内容不同", "This version was published with other content",
                    code="item_version_exists", detail={"code": item.code, "version": item.version})


def import_drafts(store: Store, items: list[ServiceItem]) -> list[str]:
    """Save items as drafts (a draft may still have findings; publishing is where they are refused)."""
    for item in items:
        store.put_draft(item.model_copy(update={"status": ItemStatus.DRAFT}))
    return [i.code for i in items]


def all_drafts(store: Store) -> list[ServiceItem]:
    drafts: list[ServiceItem] = []
    cursor: str | None = None
    while True:
        page = store.list_drafts(100, cursor)
        drafts.extend(page.items)
        if page.cursor is None:
            return drafts
        cursor = page.cursor


@dataclass(frozen=True)
class PublishOutcome:
    published: list[ServiceItem]
    unchanged: list[str]
    diffs: list[ItemDiff]


def lint_context_for(store: Store, drafts: list[ServiceItem],
                     provincial_codes: frozenset[str] | None) -> LintContext:
    """References are checked against what is registered and published now (GetItem per reference)."""
    from ..domain.catalogue_lint import LintContext

    draft_codes = {d.code for d in drafts}
    departments: set[str] = set()
    referenced_items: set[str] = set()
    for d in drafts:
        codes = {*d.departments, *d.delegated_to, *(m.obtainable_from.department for m in d.materials
                                                    if m.obtainable_from and m.obtainable_from.department)}
        for code in codes:
            dept = store.get_department(code)
            if dept is not None:
                departments.add(code)
                departments.update(o.code for o in getattr(dept, "offices", ()))
        referenced_items.update({*(p.item_code for p in d.prerequisites if p.item_code),
                                 *(c for s in d.stages for c in s.item_codes),
                                 *([d.main_item] if d.main_item else [])} - draft_codes)
    published = frozenset(c for c in referenced_items if store.get_item(c) is not None)
    return LintContext(frozenset(departments), provincial_codes, published)


def publish_drafts(store: Store, codes: list[str] | None, provincial_codes: frozenset[str] | None,
                   today: date) -> PublishOutcome:
    """Publish the named drafts (or all): refused with every finding unless the lint is clean; a draft
    whose content equals the published version is not re-published."""
    from ..domain.catalogue_diff import diff
    from ..domain.catalogue_lint import lint

    if codes is None:
        drafts = all_drafts(store)
    else:
        drafts, missing = [], []
        for code in codes:
            draft = store.get_draft(code) if is_valid_code(code) else None
            (drafts.append(draft) if draft is not None else missing.append(code))
        if missing:
            raise NotFound("没有这些事项的草稿：" + "、".join(missing), f"No draft for: {', '.join(missing)}",
                           code="draft_not_found", detail={"codes": missing})
    findings = lint(drafts, lint_context_for(store, drafts, provincial_codes))
    if findings:
        raise lint_refusal(findings)
    published, unchanged, diffs = [], [], []
    for draft in drafts:
        latest = store.get_item(draft.code)
        if latest is not None and latest.content_hash == draft.content_hash:
            unchanged.append(draft.code)
            store.delete_draft(draft.code)
            continue
        valid_from = draft.valid_from if draft.valid_from and draft.valid_from > today else today
        item = ServiceItem.model_validate({
            **draft.model_dump(mode="json"), "status": ItemStatus.PUBLISHED.value,
            "version": (latest.version + 1) if latest else 1, "valid_from": valid_from.isoformat()})
        publish_item(store, item)
        store.delete_draft(draft.code)
        published.append(item)
        diffs.append(diff(latest, item))
    return PublishOutcome(published, unchanged, diffs)


def lint_refusal(findings: list[Finding]) -> ValidationFailed:
    return ValidationFailed(
        f"目录有 {len(findings)} 处不符合标准化要求，不能发布",
        f"The catalogue has {len(findings)} findings; not published",
        code="catalogue_lint_failed",
        problems=[Problem(f.rule, f.message_zh, f.message_en, f"{f.item}.{f.path}") for f in findings])


@dataclass(frozen=True)
class DiffReport:
    diff: ItemDiff
    open_under_old: int
    pending_draft: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**self.diff.to_dict(), "pending_draft": self.pending_draft,
                "impact": {"open_applications_and_cases_under_old_version": self.open_under_old}}


def diff_item(store: Store, code: str) -> DiffReport:
    """The pending draft against the current version, or else the current version against the one before.
    Impact: applications and cases not yet decided under the older version (an aggregate, no Scan)."""
    from ..domain.catalogue_diff import diff

    draft = store.get_draft(code) if is_valid_code(code) else None
    current = store.get_item(code) if is_valid_code(code) else None
    if draft is None and current is None:
        raise NotFound.of("item", code)
    if draft is not None:  # numbered as it would be published
        old, new = current, draft.model_copy(update={"version": current.version + 1 if current else 1})
    else:
        assert current is not None
        old = store.get_item_version(code, current.version - 1) if current.version > 1 else None
        new = current
    result = diff(old, new)
    return DiffReport(result, store.open_applications(code, old.version) if old is not None else 0,
                      pending_draft=draft is not None)
