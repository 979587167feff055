"""Request and response models of the enterprise routes (chalicelib/entrypoints/api_enterprises.py),
imported on the first request that needs them."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RegisterEnterprise(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    credit_code: str = Field(max_length=32)
    name_zh: str = Field(min_length=1, max_length=200)
    legal_representative_id_number: str | None = Field(default=None, max_length=32)


class AuthorizeAgent(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    agent_sub: str = Field(min_length=1, max_length=128)
    items: list[str] = Field(min_length=1, max_length=200, description='item codes, or ["*"] for every item')
    valid_until: date


class EnterpriseView(BaseModel, defer_build=True):
    id: str
    name_zh: str
    credit_code_masked: str
    registered_at: str


class AuthorizationView(BaseModel, defer_build=True):
    enterprise_id: str
    agent_sub: str
    items: list[str]
    valid_until: date
    granted_at: str


class MyEnterprises(BaseModel, defer_build=True):
    items: list[dict[str, Any]]
