"""Request and response models of the routes about me (chalicelib/entrypoints/api_me.py), imported on
the first request that needs them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VerifyIdentity(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Lengths only: the use case checks both fields together so every problem is told at once.
    name: str = Field(max_length=50)
    id_number: str = Field(max_length=32)


class IdentityView(BaseModel, defer_build=True):
    name_masked: str
    id_number_masked: str
    assurance_level: str
    method: str
    verified_at: str


class MeView(BaseModel, defer_build=True):
    subject: str
    kind: str
    department: str | None
    office: str | None
    location: str | None
    scopes: list[str]
    identity: IdentityView | None


class MyData(BaseModel, defer_build=True):
    subject: str
    kind: str
    identity: IdentityView | None
    applications: list[dict[str, Any]]
