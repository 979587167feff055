"""The checklist (一次性告知清单): exactly what one applicant needs, from the item and the form answers.

Required materials always; a conditional material when its condition holds over the answers;
each one marked `upload` or `bus` (the bus obtains it itself: an e-certificate or a department's
record). Every prerequisite whose condition holds (or that has none) is told up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import conditions
from .catalogue import MaterialSpec, Prerequisite, ServiceItem
from .errors import Problem, ValidationFailed


@lru_cache(maxsize=4096)
def compiled(source: str) -> Any:
    """Parsed once per warm container: published conditions were type-checked by the linter."""
    return conditions.parse(source)


def applies(condition: str | None, answers: dict[str, Any]) -> bool:
    return condition is None or conditions.evaluate(compiled(condition), answers)


def needed_materials(item: ServiceItem, answers: dict[str, Any]) -> tuple[MaterialSpec, ...]:
    """The materials this applicant needs: every required one, and every conditional one whose condition
    holds. `answers` are typed answers (see `validated_answers`); optional materials are not included."""
    return tuple(m for m in item.materials
                 if m.required or (m.condition is not None and applies(m.condition, answers)))


def applicable_prerequisites(item: ServiceItem, answers: dict[str, Any]) -> tuple[Prerequisite, ...]:
    return tuple(p for p in item.prerequisites if applies(p.condition, answers))


def answer_problems(problems: list[conditions.AnswerProblem]) -> list[Problem]:
    return [Problem(p.code, p.message_zh, p.message_en, f"answers.{p.field}") for p in problems]


def answers_invalid(problems: list[conditions.AnswerProblem]) -> ValidationFailed:
    return ValidationFailed("表单填写有误，请按以下问题一次性修改",
                            "The form answers have problems; all of them are listed",
                            code="answers_invalid", problems=answer_problems(problems))


def validated_answers(item: ServiceItem, answers: dict[str, Any]) -> dict[str, Any]:
    """Typed answers, or ValidationFailed (422) listing every invalid answer at once."""
    typed, problems = conditions.validate_answers(item.form, answers)
    if problems:
        raise answers_invalid(problems)
    return typed


@dataclass(frozen=True)
class Checklist:
    item: ServiceItem
    materials: tuple[MaterialSpec, ...]
    prerequisites: tuple[Prerequisite, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_code": self.item.code, "item_version": self.item.version,
            "name_zh": self.item.name_zh, "name_en": self.item.name_en,
            "max_visits": self.item.max_visits, "committed_days": self.item.committed_days,
            "materials": [material_entry(m) for m in self.materials],
            "prerequisites": [p.model_dump(mode="json", exclude={"condition"}) for p in self.prerequisites],
        }


def material_entry(m: MaterialSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": m.code, "name_zh": m.name_zh, "name_en": m.name_en,
        "source": "bus" if m.obtained_by_bus else "upload", "conditional": m.condition is not None,
        "original": m.original, "copies": m.copies,
    }
    if m.obtained_by_bus:
        assert m.obtainable_from is not None
        entry["obtainable_from"] = m.obtainable_from.model_dump(mode="json", exclude_none=True)
    else:
        entry.update(accepted_types=list(m.accepted_types), accepted_content_types=list(m.accepted_mime_types),
                     max_size_bytes=m.max_size_bytes, max_pages=m.max_pages)
    if m.sample_ref:
        entry["sample_ref"] = m.sample_ref
    return entry


def checklist(item: ServiceItem, answers: dict[str, Any]) -> Checklist:
    typed = validated_answers(item, answers)
    return Checklist(item, needed_materials(item, typed), applicable_prerequisites(item, typed))
