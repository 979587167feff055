"""Random, time-ordered identifiers (ULID layout). Never sequential, never derived from personal data."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str = "") -> str:
    """48 bits of milliseconds then 80 random bits, Crockford base32: sorts by creation, unguessable."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))


def is_id(value: str, prefix: str = "") -> bool:
    body = value[len(prefix):] if value.startswith(prefix) else None
    return body is not None and len(body) == 26 and all(c in _CROCKFORD for c in body)
