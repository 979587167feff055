"""The audit trail of a case (留痕): every event of an application, appended to a per-case hash chain.

Entry n holds who acted (the principal's opaque subject, kind and binding), when, what (the event
type and a SHA-256 digest of its data, never the data: it may hold personal details), under which
catalogue version, the hash of entry n-1 and its own hash over all of that. Changing, removing or
reordering an entry breaks the chain at a seq the verifier names.

The chain grows in the very transaction that records its events: the application carries the chain's
head (`TrailHead`: the last seq and hash), every change to it is conditional on its version, so the
entries are in the order the changes happened, each event is in the chain exactly once, and appending
costs no request of its own (see `extend_trail`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import canonical_json
from .events import DomainEvent

GENESIS_HASH = "0" * 64


class AuditEntry(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str
    seq: int = Field(ge=1)
    event_id: str
    type: str
    subject: str
    occurred_at: str
    recorded_at: str
    actor: dict[str, str] = Field(default_factory=dict)
    item_code: str | None = None
    item_version: int | None = None
    data_digest: str
    prev_hash: str
    hash: str = ""

    def computed_hash(self) -> str:
        return sha256_hex(canonical_json(self.model_dump(mode="json", exclude={"hash"})))


class ChainHead(Protocol):
    """What links the next entry: the last entry itself or the head the application keeps of it."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...


class TrailHead(BaseModel, defer_build=True):
    """The head of a case's chain, kept on its application: the last entry's seq and hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    hash: str


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_digest(data: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(data))


def next_entry(event: DomainEvent, previous: ChainHead | None, recorded_at: datetime) -> AuditEntry:
    """The entry that appends `event` after `previous` (None: the first entry of the case)."""
    version = event.data.get("item_version")
    item_code = event.data.get("item_code")
    entry = AuditEntry(
        application_id=event.application_id, seq=previous.seq + 1 if previous else 1, event_id=event.id,
        type=event.type, subject=event.subject, occurred_at=event.occurred_at,
        recorded_at=recorded_at.isoformat(timespec="milliseconds"), actor=dict(event.actor),
        item_code=item_code if isinstance(item_code, str) else None,
        item_version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        data_digest=data_digest(event.data), prev_hash=previous.hash if previous else GENESIS_HASH,
    )
    return entry.model_copy(update={"hash": entry.computed_hash()})


def extend_trail(head: TrailHead | None, events: Sequence[DomainEvent]) -> tuple[TrailHead | None, list[AuditEntry]]:
    """The entries that append `events` (in order) after `head`, and the new head. Called by the store
    inside the transaction that writes the events, so an entry is recorded when its event is."""
    entries: list[AuditEntry] = []
    previous: ChainHead | None = head
    for event in events:
        entry = next_entry(event, previous, datetime.fromisoformat(event.occurred_at))
        entries.append(entry)
        previous = entry
    return (TrailHead(seq=entries[-1].seq, hash=entries[-1].hash) if entries else head), entries


# Why a chain is broken: a stable code and both languages; `{seq}` is the first broken entry.
BREAKS: dict[str, tuple[str, str]] = {
    "audit_entry_modified": ("第 {seq} 条留痕记录被修改：内容与其哈希不符",
                             "Entry {seq} was modified: its content does not match its hash"),
    "audit_entry_removed": ("第 {seq} 条留痕记录缺失（被删除）", "Entry {seq} is missing (removed)"),
    "audit_entries_reordered": ("第 {seq} 条留痕记录位置被调换", "Entry {seq} is out of order (reordered)"),
    "audit_entry_duplicated": ("第 {seq} 条留痕记录出现两次", "Entry {seq} appears twice"),
    "audit_chain_link_broken": ("第 {seq} 条留痕记录与前一条不相连：前一条被替换或记录被重新编号",
                                "Entry {seq} does not link to the entry before it: that entry was replaced "
                                "or the entries were renumbered"),
    "audit_entry_foreign": ("第 {seq} 条留痕记录属于其他办件", "Entry {seq} belongs to another case"),
    "audit_entry_unanchored": ("第 {seq} 条留痕记录不是经正常追加写入的（链头未记录）",
                               "Entry {seq} was not written by an append (the chain's head does not know it)"),
}


class ChainVerification(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool
    entries: int
    head_hash: str | None = None
    broken_seq: int | None = None
    code: str | None = None
    message_zh: str | None = None
    message_en: str | None = None


def _broken(count: int, seq: int, code: str) -> ChainVerification:
    zh, en = BREAKS[code]
    return ChainVerification(ok=False, entries=count, broken_seq=seq, code=code,
                             message_zh=zh.format(seq=seq), message_en=en.format(seq=seq))


def verify_chain(application_id: str, entries: Sequence[AuditEntry], head: ChainHead | None) -> ChainVerification:
    """Ok, or the first broken seq and why. `entries` are in storage (key) order; `head` is what the
    application recorded of the last entry with every append, so a removed or rewritten last entry is
    found too."""
    count = len(entries)
    claimed = {e.seq for e in entries}
    expected_prev = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            if entry.seq < position:
                return _broken(count, entry.seq, "audit_entry_duplicated")
            code = "audit_entries_reordered" if position in claimed else "audit_entry_removed"
            return _broken(count, position, code)
        if entry.application_id != application_id:
            return _broken(count, position, "audit_entry_foreign")
        if entry.computed_hash() != entry.hash:
            return _broken(count, position, "audit_entry_modified")
        if entry.prev_hash != expected_prev:
            return _broken(count, position, "audit_chain_link_broken")
        expected_prev = entry.hash
    anchored = head.seq if head is not None else 0
    if anchored > count:
        return _broken(count, count + 1, "audit_entry_removed")
    if anchored < count:
        return _broken(count, anchored + 1, "audit_entry_unanchored")
    if head is not None and head.hash != entries[-1].hash:
        return _broken(count, count, "audit_entry_modified")
    return ChainVerification(ok=True, entries=count, head_hash=entries[-1].hash if entries else None)
