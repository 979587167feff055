"""Standard Webhooks v1: signing, verification and the CloudEvents envelope.

Pure module (standard library only) shared by the sender and by the demo
department receiver.

How a department verifies a OneTrip webhook
-------------------------------------------
Every delivery is an HTTP ``POST`` with a CloudEvents 1.0 JSON body and three
headers:

``webhook-id``
    Stable across retries of the same message: use it as the idempotency key
    (remember the ids you have processed and answer 2xx to repeats without
    acting again).
``webhook-timestamp``
    Unix seconds of *this attempt*.
``webhook-signature``
    Space-separated list of ``v1,<base64 signature>`` entries (more than one
    while a secret is being rotated).

To verify:

1. Take the body **as raw bytes, before any JSON parsing** (re-serialized
   JSON will not match).
2. Reject a timestamp that is not an integer or is more than 5 minutes away
   from your clock (replay protection).
3. Compute ``HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.".encode() + body)``
   where ``key`` is the base64-decoded part of your secret after ``whsec_``;
   base64-encode it and compare it, in constant time, with each ``v1``
   entry. One match is enough; ignore entries with other versions.
4. On failure answer ``401`` (a 4xx, never a 5xx: a 5xx makes us retry).

Departments that prefer public keys get Standard Webhooks **v1a** as well: an ed25519 signature
``v1a,<base64>`` over the same ``{id}.{timestamp}.{body}`` bytes, checked with the endpoint's public
key ``whpk_…`` (pass it to ``verify`` instead of the secret; ``v1`` entries are then ignored).
During a secret rotation the header carries one ``v1`` entry per secret still in its grace period.

In Python::

    from chalicelib.domain.webhooks import verify, WebhookVerificationError
    try:
        verify(secret, request.headers, raw_body)
    except WebhookVerificationError as exc:
        return 401, {"error": exc.code}

Answer 2xx quickly (within 15 s) and do the work asynchronously; 408, 409, 429
and 5xx are retried (``Retry-After`` is honoured), ``410 Gone`` disables the
endpoint and other 4xx are treated as permanent failures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "PUBLIC_KEY_PREFIX",
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "cloud_event",
    "generate_ed25519_key",
    "generate_secret",
    "sign",
    "signature_header",
    "verify",
    "webhook_headers",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SIGNING_KEY_PREFIX = "whsk_"  # ed25519 private key (v1a)
PUBLIC_KEY_PREFIX = "whpk_"  # ed25519 public key (v1a)
SIGNATURE_VERSION = "v1"
ASYMMETRIC_VERSION = "v1a"
DEFAULT_TOLERANCE_SECONDS = 300
_MIN_KEY_BYTES = 24
_MAX_KEY_BYTES = 64
# Anything longer than this is not a plausible Unix timestamp (and keeps int()
# away from pathological inputs).
_MAX_TIMESTAMP_DIGITS = 12
# Bound the work done on a hostile signature header.
_MAX_SIGNATURE_ENTRIES = 32

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class WebhookVerificationError(ValueError):
    """A webhook failed verification. ``code`` is a stable machine-readable reason.

    Codes: ``missing_header``, ``bad_timestamp``, ``timestamp_out_of_tolerance``,
    ``no_matching_signature``, ``malformed_signature``.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid base64") from exc
    if not _MIN_KEY_BYTES <= len(key) <= _MAX_KEY_BYTES:
        raise ValueError(f"webhook secret must decode to {_MIN_KEY_BYTES}-{_MAX_KEY_BYTES} bytes")
    return key


def _signature_bytes(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}." + body>``."""
    digest = _signature_bytes(_secret_key(secret), msg_id, int(timestamp), bytes(body))
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def generate_ed25519_key() -> tuple[str, str]:
    """A new v1a key pair: (``whsk_`` + base64 private key, ``whpk_`` + base64 public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return (SIGNING_KEY_PREFIX + base64.b64encode(raw_private).decode("ascii"),
            PUBLIC_KEY_PREFIX + base64.b64encode(raw_public).decode("ascii"))


def _raw_key(value: str, prefix: str) -> bytes:
    try:
        raw = base64.b64decode(value.removeprefix(prefix), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("ed25519 key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError("ed25519 key must be 32 bytes")
    return raw


def sign_v1a(signing_key: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1a,<base64 ed25519 signature of "{msg_id}.{timestamp}." + body>``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(_raw_key(signing_key, SIGNING_KEY_PREFIX))
    signature = private.sign(f"{msg_id}.{int(timestamp)}.".encode() + bytes(body))
    return f"{ASYMMETRIC_VERSION},{base64.b64encode(signature).decode('ascii')}"


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes,
                     signing_keys: Iterable[str] = ()) -> str:
    """Space-separated signatures, one per active secret (rotation without downtime), then v1a ones."""
    entries = [sign(s, msg_id, timestamp, body) for s in secrets]
    entries += [sign_v1a(k, msg_id, timestamp, body) for k in signing_keys]
    if not entries:
        raise ValueError("at least one webhook secret is required")
    return " ".join(entries)


def webhook_headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes,
                    signing_keys: Iterable[str] = ()) -> dict[str, str]:
    """The headers of one delivery attempt."""
    ts = int(timestamp)
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: signature_header(secrets, msg_id, ts, body, signing_keys),
        "content-type": "application/json",
    }


def _header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    """Case-insensitive header lookup over a Mapping or an email.message.Message."""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return str(value)
    return None


def _required_header(headers: Mapping[str, str] | Any, name: str) -> str:
    value = _header(headers, name)
    if value is None or not str(value).strip():
        raise WebhookVerificationError("missing_header", f"missing {name} header")
    return str(value)


def _parse_timestamp(value: str) -> int:
    value = value.strip()
    if not value or len(value) > _MAX_TIMESTAMP_DIGITS or not (value.isascii() and value.isdigit()):
        raise WebhookVerificationError("bad_timestamp", "webhook-timestamp is not a Unix time")
    return int(value)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Verify one delivery over the raw ``body`` bytes; raise ``WebhookVerificationError``.

    Returns ``None`` when at least one ``v1`` entry of the signature header
    matches. An invalid *secret* (configuration error) raises a plain ValueError.
    With a public key ``whpk_…`` instead of a secret, ``v1a`` (ed25519) entries are checked.
    """
    if secret.startswith(PUBLIC_KEY_PREFIX):
        return _verify_v1a(secret, headers, body, now=now, tolerance=tolerance)
    key = _secret_key(secret)
    msg_id = _required_header(headers, HEADER_ID)
    ts_raw = _required_header(headers, HEADER_TIMESTAMP)
    sig_raw = _required_header(headers, HEADER_SIGNATURE)

    timestamp = _parse_timestamp(ts_raw)
    current = int(time.time()) if now is None else int(now)
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            "timestamp_out_of_tolerance", "webhook-timestamp is too old or too new"
        )

    expected = base64.b64encode(_signature_bytes(key, msg_id, timestamp, bytes(body)))
    well_formed = 0
    matched = False
    for entry in sig_raw.split()[:_MAX_SIGNATURE_ENTRIES]:
        parts = entry.split(",")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            continue  # malformed entry: skip, never crash
        well_formed += 1
        version, candidate = parts
        if version != SIGNATURE_VERSION:
            continue  # unknown version: ignore
        candidate_bytes = candidate.encode("utf-8", "replace")
        # No early exit: every v1 entry is compared in constant time.
        if hmac.compare_digest(expected, candidate_bytes):
            matched = True
    if matched:
        return
    if well_formed == 0:
        raise WebhookVerificationError("malformed_signature", "no well-formed signature entry")
    raise WebhookVerificationError("no_matching_signature", "no signature matches")


def _verify_v1a(public_key: str, headers: Mapping[str, str], body: bytes, *, now: int | None,
                tolerance: int) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    verifier = Ed25519PublicKey.from_public_bytes(_raw_key(public_key, PUBLIC_KEY_PREFIX))
    msg_id = _required_header(headers, HEADER_ID)
    timestamp = _parse_timestamp(_required_header(headers, HEADER_TIMESTAMP))
    sig_raw = _required_header(headers, HEADER_SIGNATURE)
    current = int(time.time()) if now is None else int(now)
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("timestamp_out_of_tolerance", "webhook-timestamp is too old or too new")
    signed = f"{msg_id}.{timestamp}.".encode() + bytes(body)
    well_formed = 0
    for entry in sig_raw.split()[:_MAX_SIGNATURE_ENTRIES]:
        parts = entry.split(",")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            continue
        well_formed += 1
        if parts[0] != ASYMMETRIC_VERSION:
            continue
        try:
            signature = base64.b64decode(parts[1], validate=True)
            verifier.verify(signature, signed)
        except (binascii.Error, ValueError, InvalidSignature):
            continue
        return
    if well_formed == 0:
        raise WebhookVerificationError("malformed_signature", "no well-formed signature entry")
    raise WebhookVerificationError("no_matching_signature", "no signature matches")


def cloud_event(
    *,
    event_id: str,
    event_type: str,
    source: str,
    subject: str | None,
    time_iso: str,
    data: dict[str, Any],
) -> bytes:
    """A CloudEvents 1.0 structured-mode JSON body: compact, UTF-8, keys sorted."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": time_iso,
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject is not None:
        event["subject"] = subject
    return json.dumps(
        event, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
