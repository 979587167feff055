"""The issuer's signature on an e-certificate, checked when the certificate is registered.

A department that signs its certificates registers its public keys with the bus
(`Department.certificate_keys`, Ed25519, a key id each: several during a rotation). From then on it
must sign every certificate it registers, and a registration whose signature no key of its issuer
verifies is refused, so the registry never holds a signature nobody checked. The bus keeps the key id
that verified it.

What is signed is fixed byte for byte, so that any issuer's system can produce it:

    b"onetrip-certificate-v1\\n" + JSON of {document_sha256, holder, issued_on, issuer, number,
    type, valid_until}

as UTF-8, keys sorted, no whitespace (`separators=(",", ":")`), non-ASCII characters kept as they
are (not \\u-escaped); `holder` is the holder's ID number (upper case) or credit code, dates are
ISO `YYYY-MM-DD` or null. The number and the holder are signed in clear, and only checked here: the
bus keeps neither (a ciphertext and a blind index), so it cannot check the signature again later.

Only Ed25519 for now: SM2 with SM3 (GB/T 32918), what Chinese issuers use, has no implementation in
the `cryptography` package the functions ship with.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import Problem

ALGORITHM = "Ed25519"
SIGNED_PREFIX = b"onetrip-certificate-v1\n"
MAX_KEYS = 5  # current ones plus those retiring

KeyId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _raw_public_key(encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes, base64-encoded")
    return raw


class CertificateKey(BaseModel, defer_build=True):
    """One public key a department signs its certificates with."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: KeyId
    public_key: str = Field(max_length=64, description="Ed25519, the 32 raw bytes base64-encoded")

    @field_validator("public_key")
    @classmethod
    def _is_ed25519(cls, value: str) -> str:
        _raw_public_key(value)
        return value


def distinct_key_ids(keys: Sequence[CertificateKey]) -> Sequence[CertificateKey]:
    """A validator for a list of keys: a key id names one key."""
    ids = [key.id for key in keys]
    if len(ids) != len(set(ids)):
        raise ValueError("certificate key ids must differ")
    return keys


def signed_message(*, issuer: str, type_: str, number: str, holder: str, issued_on: date | None,
                   valid_until: date | None, document_sha256: str) -> bytes:
    """The bytes an issuer signs for one certificate (the format is in this module's docstring)."""
    fields = {"document_sha256": document_sha256, "holder": holder, "issued_on": _day(issued_on),
              "issuer": issuer, "number": number, "type": type_, "valid_until": _day(valid_until)}
    return SIGNED_PREFIX + json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _problem(code: str, zh: str, en: str, detail: dict | None = None) -> Problem:
    return Problem(code, zh, en, "signature", detail or {})


def verify(keys: Sequence[CertificateKey], signature: str | None, algorithm: str | None,
           message: bytes) -> tuple[str | None, list[Problem]]:
    """(the id of the key that verified the signature, or None when there is none to check; every
    problem). A department with keys must sign; one without keys cannot have its signature checked,
    so it cannot send one."""
    if signature is None and algorithm is None:
        if keys:
            return None, [_problem("signature_required", "签发部门已登记证照签名公钥，须附签名",
                                   "The issuer has registered signing keys: a signature is required",
                                   {"algorithm": ALGORITHM, "key_ids": [key.id for key in keys]})]
        return None, []
    problems = []
    if signature is None or algorithm is None:
        problems.append(_problem("signature_incomplete", "签名与签名算法须同时填写",
                                 "Give both signature and signature_algorithm"))
    elif algorithm != ALGORITHM:
        problems.append(_problem("signature_algorithm_unsupported", f"仅支持 {ALGORITHM} 签名",
                                 f"Only {ALGORITHM} signatures are supported",
                                 {"given": algorithm, "supported": [ALGORITHM]}))
    if not keys:
        problems.append(_problem("signature_unverifiable", "签发部门未登记证照签名公钥，签名无法验证",
                                 "The issuer has no registered signing key: the signature cannot be checked"))
    if problems:
        return None, problems
    assert signature is not None
    key_id = _verifying_key(keys, signature, message)
    if key_id is None:
        return None, [_problem("signature_invalid", "签名验证失败：与证照内容或签发部门公钥不符",
                               "The signature does not verify against the certificate and the issuer's keys",
                               {"key_ids": [key.id for key in keys]})]
    return key_id, []


def _verifying_key(keys: Sequence[CertificateKey], signature: str, message: bytes) -> str | None:
    from cryptography.exceptions import InvalidSignature  # lazy: registration only, not the cold start
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 64:
        return None
    for key in keys:
        try:
            Ed25519PublicKey.from_public_bytes(_raw_public_key(key.public_key)).verify(raw, message)
        except InvalidSignature:
            continue
        return key.id
    return None
