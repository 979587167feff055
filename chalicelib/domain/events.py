"""Domain events, written to the outbox in the same transaction as the change that raised them.

The table's stream carries them to `dispatch`, which fans each one out to the departments named in
`recipients`. Types are CloudEvents types (`onetrip.task.assigned`, `onetrip.case.decided`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .ids import new_id


class CaseContext(BaseModel, defer_build=True):
    """Stamped on an outbox event by the store, from the application the change saved: what the
    stream's projections need (whose case, under which catalogue version) without reading the
    application back. Never sent in a webhook body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner_sub: str
    item_code: str
    item_version: int
    case_number: str | None = None


class DomainEvent(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: str
    occurred_at: str
    application_id: str
    subject: str
    recipients: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    # Who caused it, for the case's audit trail: the principal's opaque subject, kind and binding
    # (department, office or location) — or {"kind": "system"} for the bus's own sweeps. Never sent
    # in a webhook body.
    actor: dict[str, str] = Field(default_factory=dict)
    context: CaseContext | None = None

    @classmethod
    def raised(cls, type_: str, now: datetime, *, application_id: str, subject: str,
               recipients: list[str], data: dict[str, Any], actor: dict[str, str] | None = None) -> DomainEvent:
        return cls(id=new_id("evt_"), type=type_, occurred_at=now.isoformat(timespec="milliseconds"),
                   application_id=application_id, subject=subject, recipients=recipients, data=data,
                   actor=actor or {})
