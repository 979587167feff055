"""The issuer's signature on an e-certificate, checked when the certificate is registered.

A department that signs its certificates registers its public keys with the bus
(`Department.certificate_keys`: a key id, an algorithm and the key each; several during a rotation).
From then on it must sign every certificate it registers, and a registration whose signature no key of
its issuer verifies is refused, so the registry never holds a signature nobody checked. The bus keeps
the key id that verified it.

Two algorithms: `SM2-with-SM3` (GB/T 32918, what Chinese issuers and electronic seals use; key: the
uncompressed point, 65 bytes; signature: DER or raw r ‖ s; signer id `1234567812345678`, see sm2.py)
and `Ed25519` (key: 32 bytes; signature: 64 bytes). Keys and signatures are base64.

What is signed is fixed byte for byte, so that any issuer's system can produce it:

    b"onetrip-certificate-v1\\n" + JSON of {document_sha256, holder, issued_on, issuer, number,
    type, valid_until}

as UTF-8, keys sorted, no whitespace (`separators=(",", ":")`), non-ASCII characters kept as they
are (not \\u-escaped); `holder` is the holder's ID number (upper case) or credit code, dates are
ISO `YYYY-MM-DD` or null. The number and the holder are signed in clear, and only checked here: the
bus keeps neither (a ciphertext and a blind index), so it cannot check the signature again later.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date
from types import ModuleType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import Problem

Algorithm = Literal["SM2-with-SM3", "Ed25519"]
SM2_WITH_SM3: Algorithm = "SM2-with-SM3"
ED25519: Algorithm = "Ed25519"
ALGORITHMS = (SM2_WITH_SM3, ED25519)
SIGNED_PREFIX = b"onetrip-certificate-v1\n"
MAX_KEYS = 5  # current ones plus those retiring

KeyId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _b64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""


class CertificateKey(BaseModel, defer_build=True):
    """One public key a department signs its certificates with."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: KeyId
    algorithm: Algorithm = ED25519
    public_key: str = Field(max_length=100, description="base64: SM2 the uncompressed point (65 bytes), "
                                                        "Ed25519 the 32 raw bytes")

    @model_validator(mode="after")
    def _is_a_key_of_its_algorithm(self) -> CertificateKey:
        raw = _b64(self.public_key)
        if self.algorithm == SM2_WITH_SM3 and _sm2().public_point(raw) is None:
            raise ValueError("an SM2 public key is the uncompressed point on sm2p256v1 (0x04, x, y: 65 bytes), "
                             "base64-encoded")
        if self.algorithm == ED25519 and len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes, base64-encoded")
        return self


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


def normalised_holder(holder_id_number: str | None, holder_credit_code: str | None) -> tuple[str, str]:
    """(ID number, credit code) as the registry keeps, indexes and signs them: stripped, an ID number in
    upper case; "" for the one not given."""
    return (holder_id_number or "").strip().upper(), (holder_credit_code or "").strip()


def registration_message(*, issuer: str, type_: str, number: str, holder_id_number: str | None,
                         holder_credit_code: str | None, issued_on: date | None, valid_until: date | None,
                         document_sha256: str) -> bytes:
    """The signed bytes of a registration as its fields arrive (API body, CLI options), normalised the
    way the registry keeps them."""
    holder_id, holder_code = normalised_holder(holder_id_number, holder_credit_code)
    holder = holder_id or holder_code
    return signed_message(issuer=issuer, type_=type_.strip(), number=number.strip(), holder=holder,
                          issued_on=issued_on, valid_until=valid_until, document_sha256=document_sha256)


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
                                   {"key_ids": [key.id for key in keys]})]
        return None, []
    problems = []
    if signature is None or algorithm is None:
        problems.append(_problem("signature_incomplete", "签名与签名算法须同时填写",
                                 "Give both signature and signature_algorithm"))
    elif algorithm not in ALGORITHMS:
        problems.append(_problem("signature_algorithm_unsupported", "仅支持 SM2-with-SM3 与 Ed25519 签名",
                                 "Only SM2-with-SM3 and Ed25519 signatures are supported",
                                 {"given": algorithm, "supported": list(ALGORITHMS)}))
    elif keys and not any(key.algorithm == algorithm for key in keys):
        problems.append(_problem("signature_algorithm_without_key", f"签发部门未登记 {algorithm} 公钥",
                                 f"The issuer has no {algorithm} key registered",
                                 {"given": algorithm, "registered": sorted({key.algorithm for key in keys})}))
    if not keys:
        problems.append(_problem("signature_unverifiable", "签发部门未登记证照签名公钥，签名无法验证",
                                 "The issuer has no registered signing key: the signature cannot be checked"))
    if problems:
        return None, problems
    assert signature is not None and algorithm is not None
    key_id = _verifying_key([key for key in keys if key.algorithm == algorithm], signature, message)
    if key_id is None:
        return None, [_problem("signature_invalid", "签名验证失败：与证照内容或签发部门公钥不符",
                               "The signature does not verify against the certificate and the issuer's keys",
                               {"key_ids": [key.id for key in keys]})]
    return key_id, []


def _verifying_key(keys: Sequence[CertificateKey], signature: str, message: bytes) -> str | None:
    """The first of `keys` (all of one algorithm) that verifies the signature."""
    raw = _b64(signature)
    for key in keys:
        if (_sm2_verifies if key.algorithm == SM2_WITH_SM3 else _ed25519_verifies)(key, raw, message):
            return key.id
    return None


def _sm2() -> ModuleType:
    # Imported on first use: departments (and so their keys' model) load on delivery paths too.
    from . import sm2

    return sm2


def _sm2_verifies(key: CertificateKey, signature: bytes, message: bytes) -> bool:
    return bool(_sm2().verify(_b64(key.public_key), message, signature))


def _ed25519_verifies(key: CertificateKey, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature  # lazy: registration only, not the cold start
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(_b64(key.public_key)).verify(signature, message)
    except InvalidSignature:
        return False
    return True
