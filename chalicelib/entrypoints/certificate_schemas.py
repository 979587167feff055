"""Request and response models of the e-certificate routes (chalicelib/entrypoints/api_certificates.py),
imported on the first request that needs them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class RegisterCertificate(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: str = Field(max_length=100, description="the certificate type material specs name, e.g. 营业执照")
    number: str = Field(max_length=100, description="the certificate's number (kept encrypted, shown masked)")
    holder_id_number: str | None = Field(default=None, max_length=32, description="a person holder")
    holder_credit_code: str | None = Field(default=None, max_length=32, description="an enterprise holder")
    issuer: str | None = Field(default=None, max_length=64,
                               description="admins: the issuing department; departments: itself (may be omitted)")
    issued_on: date | None = None
    valid_until: date | None = Field(default=None, description="omitted: valid until revoked")
    document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="the issuer's SHA-256 of the document")
    signature: str | None = Field(default=None, max_length=8192,
                                  description="the issuer's signature, base64 (required once it registered keys)")
    signature_algorithm: str | None = Field(default=None, max_length=40, description="SM2-with-SM3 or Ed25519")


class RevokeCertificate(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=500,
                        description="why it is revoked (注销/吊销理由), shown to the holder")


class RevocationView(BaseModel, defer_build=True):
    at: str
    reason: str


class CertificateView(BaseModel, defer_build=True):
    id: str
    type: str
    holder_kind: str
    holder_masked: str
    issuer: str
    number_masked: str
    issued_on: date | None
    valid_until: date | None
    document_sha256: str
    signature: str | None
    signature_algorithm: str | None
    signature_key_id: str | None = Field(default=None, description="the issuer's key that verified the signature")
    document_content_type: str | None
    document_size: int | None
    source: str
    application_id: str | None
    case_number: str | None
    registered_at: str
    revocation: RevocationView | None = Field(default=None, description="set once it is revoked")
