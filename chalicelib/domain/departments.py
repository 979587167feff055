"""Departments (部门) and the webhook endpoints through which they receive their tasks."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import Code


class EndpointState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


class Endpoint(BaseModel):
    """A department's webhook endpoint. Signing secrets are kept only as KMS ciphertexts; during a
    rotation several are active and each one signs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    department: str
    url: str = Field(max_length=2048)
    event_types: tuple[str, ...] = ("onetrip.task.assigned", "onetrip.case.decided")
    secret_ciphertexts: tuple[str, ...] = Field(min_length=1)
    state: EndpointState = EndpointState.ACTIVE

    def wants(self, event_type: str) -> bool:
        return self.state is EndpointState.ACTIVE and event_type in self.event_types
