"""Request and response models of the vault routes (chalicelib/entrypoints/api_vault.py), imported on
the first request that needs them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .schemas import ApplicationView


class ReuseMaterial(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    source: Literal["vault", "e_certificate"]
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                               description="source vault: the content offered (GET …/offers)")
    certificate_id: str | None = Field(default=None, max_length=64, description="source e_certificate: which one")
    consent: bool = Field(description="the applicant's explicit consent; without it nothing is reused")

    @model_validator(mode="after")
    def _reference(self) -> ReuseMaterial:
        if self.source == "vault" and not self.sha256:
            raise ValueError("source vault needs sha256")
        if self.source == "e_certificate" and not self.certificate_id:
            raise ValueError("source e_certificate needs certificate_id")
        return self


class OffersView(BaseModel, defer_build=True):
    application_id: str
    offers: list[dict[str, Any]]


class ReuseView(BaseModel, defer_build=True):
    application: ApplicationView
    consent_receipt: dict[str, Any]


class AccessLogPage(BaseModel, defer_build=True):
    items: list[dict[str, Any]]
    next_cursor: str | None


class CertificateList(BaseModel, defer_build=True):
    items: list[dict[str, Any]]
