"""What changed between two versions of a service item: materials added, removed and changed, and the
item-level fields that changed. The impact (open applications and cases still judged by the old
version) is added by the service, which can count them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalogue import LIFECYCLE_FIELDS, ServiceItem


@dataclass(frozen=True)
class ItemDiff:
    code: str
    from_version: int | None
    to_version: int
    materials_added: list[str] = field(default_factory=list)
    materials_removed: list[str] = field(default_factory=list)
    materials_changed: dict[str, list[str]] = field(default_factory=dict)
    fields_changed: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.materials_added or self.materials_removed or self.materials_changed or self.fields_changed)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "from_version": self.from_version, "to_version": self.to_version,
                "materials_added": self.materials_added, "materials_removed": self.materials_removed,
                "materials_changed": self.materials_changed, "fields_changed": self.fields_changed}


def diff(old: ServiceItem | None, new: ServiceItem) -> ItemDiff:
    if old is None:
        return ItemDiff(new.code, None, new.version, materials_added=[m.code for m in new.materials])
    before = {m.code: m.model_dump(mode="json") for m in old.materials}
    after = {m.code: m.model_dump(mode="json") for m in new.materials}
    changed = {code: sorted(k for k in set(before[code]) | set(after[code])
                            if before[code].get(k) != after[code].get(k))
               for code in before.keys() & after.keys() if before[code] != after[code]}
    old_doc = old.model_dump(mode="json", exclude={"materials", *LIFECYCLE_FIELDS})
    new_doc = new.model_dump(mode="json", exclude={"materials", *LIFECYCLE_FIELDS})
    return ItemDiff(
        new.code, old.version, new.version,
        materials_added=[c for c in after if c not in before],
        materials_removed=[c for c in before if c not in after],
        materials_changed=dict(sorted(changed.items())),
        fields_changed=sorted(k for k in old_doc.keys() | new_doc.keys() if old_doc.get(k) != new_doc.get(k)),
    )
