"""Province ↔ city alignment (目录对齐): the provincial catalogue's base codes against the local items.

The report goes both ways (seed P2): local items without a base code or with one the province does not
know, provincial items with no local implementation (directly or through their sub-items), and one
provincial item implemented by several local items (e.g. household migration split by reason).
Cases pin (code, version), and that version carries the base code used for upward reporting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import ServiceItem


class ProvincialItem(BaseModel, defer_build=True):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_code: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    main_code: str | None = Field(default=None, max_length=64, description="the provincial main item of a sub-item")
    department_zh: str = Field(default="", max_length=100)


@dataclass(frozen=True)
class Reconciliation:
    local_without_base_code: list[str]
    local_with_unknown_base_code: list[tuple[str, str]]
    provincial_without_local: list[tuple[str, str]]
    one_provincial_many_local: dict[str, list[str]]
    implemented: int
    provincial_total: int
    local_total: int

    @property
    def aligned(self) -> bool:
        return not (self.local_without_base_code or self.local_with_unknown_base_code or self.provincial_without_local)

    def to_dict(self) -> dict[str, Any]:
        return {
            "local_total": self.local_total, "provincial_total": self.provincial_total,
            "provincial_implemented": self.implemented,
            "local_without_base_code": self.local_without_base_code,
            "local_with_unknown_base_code": [{"code": c, "base_code": b} for c, b in self.local_with_unknown_base_code],
            "provincial_without_local": [{"base_code": b, "name_zh": n} for b, n in self.provincial_without_local],
            "one_provincial_many_local": self.one_provincial_many_local,
        }

    def lines(self) -> list[str]:
        out = [f"本地事项 local items: {self.local_total}; 省级事项 provincial items: {self.provincial_total}; "
               f"已实施 implemented: {self.implemented}/{self.provincial_total}"]
        out += [f"LOCAL-NO-BASE-CODE {c}: 本地事项无省级基本编码 | local item has no provincial base code"
                for c in self.local_without_base_code]
        out += [f"LOCAL-UNKNOWN-BASE-CODE {c}: 基本编码 {b} 不在省级目录 | "
                f"base code {b} not in the provincial catalogue" for c, b in self.local_with_unknown_base_code]
        out += [f"PROVINCIAL-NOT-IMPLEMENTED {b}: 省级事项“{n}”无本地实施 | no local implementation"
                for b, n in self.provincial_without_local]
        out += [f"ONE-TO-MANY {b}: 1 个省级事项由 {len(cs)} 个本地事项实施 | implemented by {len(cs)} local items: "
                f"{', '.join(cs)}" for b, cs in self.one_provincial_many_local.items()]
        return out


def reconcile(local: Iterable[ServiceItem], provincial: Iterable[ProvincialItem]) -> Reconciliation:
    local = list(local)
    provincial = list(provincial)
    by_code = {p.base_code: p for p in provincial}
    children: dict[str, list[str]] = defaultdict(list)
    for p in provincial:
        if p.main_code:
            children[p.main_code].append(p.base_code)
    implementers: dict[str, list[str]] = defaultdict(list)
    no_code, unknown = [], []
    for item in local:
        if not item.base_code.strip():
            no_code.append(item.code)
        elif item.base_code not in by_code:
            unknown.append((item.code, item.base_code))
        else:
            implementers[item.base_code].append(item.code)

    def implemented(code: str, seen: frozenset[str] = frozenset()) -> bool:
        if code in seen:
            return False
        return bool(implementers.get(code)) or any(implemented(c, seen | {code}) for c in children.get(code, ()))

    missing = [(p.base_code, p.name_zh) for p in provincial if not implemented(p.base_code)]
    return Reconciliation(
        local_without_base_code=sorted(no_code), local_with_unknown_base_code=sorted(unknown),
        provincial_without_local=missing,
        one_provincial_many_local={b: sorted(cs) for b, cs in sorted(implementers.items()) if len(cs) > 1},
        implemented=len(provincial) - len(missing), provincial_total=len(provincial), local_total=len(local))
