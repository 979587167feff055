"""SM2 signature verification with SM3 (GB/T 32918.2, GB/T 32905; GM/T 0009 for the encodings), the
algorithm Chinese issuers sign e-certificates and electronic seals with.

Only verification, only of public data: no secret is ever handled here, so the big-integer arithmetic
needs no constant-time care. The `cryptography` package has no SM2; the curve arithmetic is written
out below (affine coordinates, Python integers: a verification takes a few milliseconds, and it runs
once per certificate registration). SM3 comes from OpenSSL through hashlib when the build offers it,
else from the implementation below (checked against OpenSSL's in the tests).

Encodings, as OpenSSL and GM/T 0009 use them: the public key is the uncompressed point (0x04 ‖ x ‖ y,
65 bytes); the signature is DER `SEQUENCE { r INTEGER, s INTEGER }` (raw r ‖ s, 64 bytes, is taken
too); the signer's distinguishing identifier is GM/T 0009's default `1234567812345678`.
"""

from __future__ import annotations

import hashlib

# The recommended curve sm2p256v1 (GB/T 32918.5).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
     0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
DEFAULT_ID = b"1234567812345678"

Point = tuple[int, int] | None  # None: the point at infinity


# -- SM3 -------------------------------------------------------------------------------------------
def sm3(data: bytes) -> bytes:
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:  # an OpenSSL built without SM3
        return sm3_python(data)


_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _MASK


def _p0(x: int) -> int:
    return x ^ _rotl(x, 9) ^ _rotl(x, 17)


def _p1(x: int) -> int:
    return x ^ _rotl(x, 15) ^ _rotl(x, 23)


def _compress(v: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    w = [int.from_bytes(block[i:i + 4], "big") for i in range(0, 64, 4)]
    for j in range(16, 68):
        w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    a, b, c, d, e, f, g, h = v
    for j in range(64):
        t = 0x79CC4519 if j < 16 else 0x7A879D8A
        a12 = _rotl(a, 12)
        ss1 = _rotl((a12 + e + _rotl(t, j)) & _MASK, 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff, gg = a ^ b ^ c, e ^ f ^ g
        else:
            ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
        tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & _MASK
        tt2 = (gg + h + ss1 + w[j]) & _MASK
        a, b, c, d, e, f, g, h = tt1, a, _rotl(b, 9), c, _p0(tt2), e, _rotl(f, 19), g
    return tuple(x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h), strict=True))


def sm3_python(data: bytes) -> bytes:
    """SM3 (GB/T 32905) in Python, for a hashlib without it."""
    padded = data + b"\x80" + b"\0" * ((55 - len(data)) % 64) + (8 * len(data)).to_bytes(8, "big")
    v: tuple[int, ...] = _IV
    for offset in range(0, len(padded), 64):
        v = _compress(v, padded[offset:offset + 64])
    return b"".join(x.to_bytes(4, "big") for x in v)


# -- the curve --------------------------------------------------------------------------------------
def _on_curve(point: tuple[int, int]) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def _multiply(k: int, point: Point) -> Point:
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def public_point(encoded: bytes) -> tuple[int, int] | None:
    """The point of an uncompressed public key (0x04 ‖ x ‖ y), or None when it is not one on the curve."""
    if len(encoded) != 65 or encoded[0] != 4:
        return None
    point = int.from_bytes(encoded[1:33], "big"), int.from_bytes(encoded[33:], "big")
    return point if _on_curve(point) else None


def _der_integer(data: bytes, at: int) -> tuple[int, int]:
    if at + 2 > len(data) or data[at] != 0x02 or not 0 < data[at + 1] <= 33:
        raise ValueError("not a DER INTEGER")
    length = data[at + 1]
    body = data[at + 2:at + 2 + length]
    if len(body) != length or body[0] & 0x80 or (length > 1 and body[0] == 0 and not body[1] & 0x80):
        raise ValueError("not a minimal, positive DER INTEGER")
    return int.from_bytes(body, "big"), at + 2 + length


def signature_values(signature: bytes) -> tuple[int, int] | None:
    """(r, s) from DER `SEQUENCE { INTEGER, INTEGER }` or raw r ‖ s; None when it is neither."""
    if len(signature) == 64:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
            raise ValueError("not a DER SEQUENCE")
        r, at = _der_integer(signature, 2)
        s, at = _der_integer(signature, at)
    except ValueError:
        return None
    return (r, s) if at == len(signature) else None


def verify(public_key: bytes, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_ID) -> bool:
    """Whether `signature` is the key's SM2 signature of `message` (GB/T 32918.2, 7.1)."""
    key = public_point(public_key)
    values = signature_values(signature)
    if key is None or values is None:
        return False
    r, s = values
    if not (1 <= r < N and 1 <= s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, *G, *key))
    z = sm3((8 * len(signer_id)).to_bytes(2, "big") + signer_id + curve)
    e = int.from_bytes(sm3(z + message), "big")
    point = _add(_multiply(s, G), _multiply(t, key))
    return point is not None and (e + point[0]) % N == r
