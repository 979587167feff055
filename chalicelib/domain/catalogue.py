"""The standardized catalogue (事项目录): service items and the materials each one needs.

A service item is published in numbered versions; an application is pinned to the version it was
drafted under and is judged by it for life. The service guide the API serves *is* this entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Accepted material file types and the MIME type the upload must declare for each.
MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "ofd": "application/ofd",  # GB/T 33190 fixed-layout documents (a ZIP of XML)
}

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class ItemKind(StrEnum):
    ADMINISTRATIVE_LICENSE = "行政许可"
    ADMINISTRATIVE_CONFIRMATION = "行政确认"
    PUBLIC_SERVICE = "公共服务"
    OTHER = "其他行政权力"


class MaterialSpec(BaseModel):
    """One material (材料) an item requires: exact name, accepted file types and size limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    required: bool = True
    accepted_types: tuple[str, ...] = Field(default=("pdf",), min_length=1)
    max_size_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=100 * 1024 * 1024)
    max_pages: int | None = Field(default=None, ge=1, le=2000)

    @field_validator("accepted_types")
    @classmethod
    def _known_types(cls, types: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(types) - MIME_TYPES.keys())
        if unknown:
            raise ValueError(f"unknown file types {unknown}; accepted: {sorted(MIME_TYPES)}")
        return types

    @property
    def accepted_mime_types(self) -> tuple[str, ...]:
        return tuple(MIME_TYPES[t] for t in self.accepted_types)


class ServiceItem(BaseModel):
    """A published version of one service item (事项)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    base_code: str = Field(default="", max_length=64, description="provincial base code 基本编码")
    version: int = Field(default=1, ge=1)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    kind: ItemKind = ItemKind.PUBLIC_SERVICE
    lead_department: Code
    joint_departments: tuple[Code, ...] = Field(default=(), max_length=20)
    statutory_days: int = Field(ge=1, le=365, description="法定时限, working days")
    committed_days: int = Field(ge=1, le=365, description="承诺时限, working days")
    max_visits: int = Field(default=0, ge=0, le=1)
    materials: tuple[MaterialSpec, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceItem:
        if self.committed_days > self.statutory_days:
            raise ValueError("committed_days must not exceed statutory_days")
        codes = [m.code for m in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("material codes must be unique within an item")
        if self.lead_department in self.joint_departments or len(set(self.joint_departments)) != len(
            self.joint_departments
        ):
            raise ValueError("departments must be listed once")
        return self

    @property
    def departments(self) -> tuple[str, ...]:
        """Every department that reviews a case of this item: the lead first, then the joint ones (联办)."""
        return (self.lead_department, *self.joint_departments)

    def material(self, code: str) -> MaterialSpec | None:
        return next((m for m in self.materials if m.code == code), None)

    @property
    def content_hash(self) -> str:
        """Fingerprint of this version, stored on every case so the rules it was judged by are provable."""
        doc = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def is_valid_code(code: str) -> bool:
    return bool(_CODE_RE.match(code))
