"""The audit trail view (chalicelib/entrypoints/api_audit.py), imported on the first request that
needs it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..domain.audit import AuditEntry, ChainVerification


class CaseAuditTrail(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    application_id: str
    item_code: str
    case_number: str | None
    entries: list[AuditEntry]
    verification: ChainVerification
