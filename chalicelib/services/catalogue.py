"""Reading the service guide (服务指南) and publishing catalogue versions."""

from __future__ import annotations

from ..domain.catalogue import ServiceItem, is_valid_code
from ..domain.errors import Conflict, NotFound
from ..ports import Page, Store


def list_items(store: Store, limit: int, cursor: str | None) -> Page:
    return store.list_items(limit, cursor)


def get_item(store: Store, code: str) -> ServiceItem:
    item = store.get_item(code) if is_valid_code(code) else None
    if item is None:
        raise NotFound.of("item", code)
    return item


def publish_item(store: Store, item: ServiceItem) -> ServiceItem:
    """Publish a version. A version number is never reused with other content: cases pin it."""
    existing = store.get_item_version(item.code, item.version)
    if existing is not None and existing.content_hash != item.content_hash:
        raise Conflict("该版本号已发布且内容不同", "This version was published with other content",
                       code="item_version_exists", detail={"code": item.code, "version": item.version})
    store.put_item(item)
    return item
