"""SM2 with SM3 (chalicelib/domain/sm2.py) against OpenSSL's: the curve's constants as OpenSSL prints
them, SM3 byte for byte, and signatures OpenSSL's command line made, which must verify, and must not
once anything in them, the message or the key changes."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from chalicelib.domain import sm2
from chalicelib.domain.certificate_signatures import CertificateKey, signed_message, verify

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True, timeout=30).stdout


class Signer:
    """An SM2 key pair made by OpenSSL, and OpenSSL signing with it (SM3, the default signer id)."""

    def __init__(self, folder: Path) -> None:
        self.key = folder / "sm2.pem"
        openssl("genpkey", "-algorithm", "SM2", "-out", str(self.key))
        self.public = openssl("pkey", "-in", str(self.key), "-pubout", "-outform", "DER")[-65:]  # SPKI ends with the point
        self.folder = folder

    def sign(self, message: bytes, signer_id: bytes = sm2.DEFAULT_ID) -> bytes:
        path = self.folder / "message.bin"
        path.write_bytes(message)
        return openssl("pkeyutl", "-sign", "-inkey", str(self.key), "-rawin", "-digest", "sm3", "-in", str(path),
                       "-pkeyopt", f"distid:{signer_id.decode()}")


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("sm2"))


def test_the_curve_is_the_one_openssl_calls_sm2():
    text = openssl("ecparam", "-name", "SM2", "-param_enc", "explicit", "-text", "-noout").decode()

    def number(label: str) -> int:
        block = re.search(rf"{label}:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        assert block, label
        return int(re.sub(r"[^0-9a-f]", "", block.group(1)), 16)

    assert (number("Prime"), number("A"), number("B"), number("Order")) == (sm2.P, sm2.A, sm2.B, sm2.N)
    generator = number(r"Generator \(uncompressed\)")
    assert generator == int.from_bytes(b"\x04" + sm2.G[0].to_bytes(32, "big") + sm2.G[1].to_bytes(32, "big"), "big")


@pytest.mark.parametrize("size", [0, 3, 55, 56, 63, 64, 65, 119, 1000])
def test_sm3_in_python_is_openssls_sm3(size):
    data = b"abc" if size == 3 else os.urandom(size)
    assert sm2.sm3_python(data) == hashlib.new("sm3", data).digest()


def test_sm3_of_abc_is_the_standards_example():
    assert sm2.sm3_python(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_a_signature_openssl_made_verifies_in_der_and_as_raw_r_s(signer):
    message = "证照 onetrip".encode()
    der = signer.sign(message)
    assert sm2.verify(signer.public, message, der)
    r, s = sm2.signature_values(der)
    assert sm2.verify(signer.public, message, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_a_changed_message_key_signer_id_or_signature_does_not_verify(signer, tmp_path):
    message = b"onetrip-certificate-v1\n{}"
    der = signer.sign(message)
    assert not sm2.verify(signer.public, message + b" ", der)
    assert not sm2.verify(Signer(tmp_path).public, message, der)
    assert not sm2.verify(signer.public, message, signer.sign(message, b"another-signer-id"))
    r, s = sm2.signature_values(der)
    for r2, s2 in ((r ^ 1, s), (r, s ^ 1), (0, s), (r, sm2.N), (sm2.N - s, s)):
        raw = r2.to_bytes(32, "big") + s2.to_bytes(32, "big")
        assert not sm2.verify(signer.public, message, raw), (r2, s2)


@pytest.mark.parametrize("signature", [b"", b"\x30\x00", b"\x30\x06\x02\x01\x01\x02\x01\x01\x00",
                                       b"\x30\x07\x02\x01\x01\x02\x02\x00\x01", b"\x31\x06\x02\x01\x01\x02\x01\x01"])
def test_a_signature_that_is_not_strict_der_or_64_bytes_is_rejected(signer, signature):
    assert sm2.signature_values(signature) is None
    assert not sm2.verify(signer.public, b"m", signature)
    assert sm2.signature_values(b"\x30\x06\x02\x01\x01\x02\x01\x01") == (1, 1)  # well-formed, for contrast


def test_a_public_key_off_the_curve_is_no_key(signer):
    off = bytearray(signer.public)
    off[-1] ^= 1
    assert sm2.public_point(bytes(off)) is None
    assert sm2.public_point(b"\x02" + signer.public[1:33]) is None  # compressed: not taken
    with pytest.raises(ValueError, match="SM2 public key"):
        CertificateKey(id="k", algorithm="SM2-with-SM3", public_key=base64.b64encode(bytes(off)).decode())


def test_a_certificate_openssl_signed_with_sm2_verifies_against_the_departments_key(signer):
    message = signed_message(issuer="yq-amr", type_="营业执照", number="92330382MA0000001X",
                             holder="11010519491231002X", issued_on=date(2026, 1, 5), valid_until=None,
                             document_sha256="ab" * 32)
    keys = (CertificateKey(id="sm2-2026", algorithm="SM2-with-SM3",
                           public_key=base64.b64encode(signer.public).decode()),)
    signature = base64.b64encode(signer.sign(message)).decode()
    assert verify(keys, signature, "SM2-with-SM3", message) == ("sm2-2026", [])
    assert [p.code for p in verify(keys, signature, "SM2-with-SM3", message + b"x")[1]] == ["signature_invalid"]
    assert [p.code for p in verify(keys, signature, "Ed25519", message)[1]] == ["signature_algorithm_without_key"]
