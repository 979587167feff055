"""The issuer's signature on an e-certificate: the exact bytes signed, the check against the issuer's
registered Ed25519 keys, and registration refusing an unsigned, unverifiable or forged certificate
with every other problem at once."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from chalicelib.domain.certificate_signatures import CertificateKey, signed_message, verify
from chalicelib.domain.departments import Department
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services.certificates import register_certificate
from tests.fake_vault import FakeBlindIndex
from tests.unit.catalogue_samples import VALID_ID, officer, seeded_deps

NUMBER = "92330382MA0000001X"
SHA = "ab" * 32


def public(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(private: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(private.sign(message)).decode()


OLD, NEW, STRANGER = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
KEYS = (CertificateKey(id="2025", public_key=public(OLD)), CertificateKey(id="2026", public_key=public(NEW)))


def message(**changes) -> bytes:
    fields = {"issuer": "dept-a", "type_": "营业执照", "number": NUMBER, "holder": VALID_ID,
              "issued_on": date(2026, 1, 5), "valid_until": None, "document_sha256": SHA, **changes}
    return signed_message(**fields)


# -- the signed bytes -----------------------------------------------------------------------------------
def test_the_signed_bytes_are_fixed_byte_for_byte_so_any_issuer_can_produce_them():
    expected = ('onetrip-certificate-v1\n{"document_sha256":"' + SHA + '","holder":"' + VALID_ID + '",'
                '"issued_on":"2026-01-05","issuer":"dept-a","number":"' + NUMBER + '","type":"营业执照",'
                '"valid_until":null}').encode()
    assert message() == expected


@pytest.mark.parametrize("change", [{"number": "92330382MA0000002X"}, {"holder": "110105194912310037"},
                                    {"valid_until": date(2030, 1, 1)}, {"issuer": "dept-b"}, {"type_": "食品经营许可证"},
                                    {"document_sha256": "cd" * 32}, {"issued_on": None}])
def test_every_field_is_signed(change):
    assert message(**change) != message()


# -- the check ------------------------------------------------------------------------------------------
def test_a_signature_by_any_registered_key_verifies_and_names_that_key():
    assert verify(KEYS, sign(OLD, message()), "Ed25519", message()) == ("2025", [])
    assert verify(KEYS, sign(NEW, message()), "Ed25519", message()) == ("2026", [])


@pytest.mark.parametrize("signature", [
    sign(STRANGER, message()),  # another key
    sign(NEW, message(number="92330382MA0000002X")),  # another certificate
    "not base64!",
    base64.b64encode(b"\0" * 63).decode(),  # too short to be an Ed25519 signature
])
def test_a_signature_no_registered_key_verifies_is_invalid(signature):
    key_id, problems = verify(KEYS, signature, "Ed25519", message())
    assert key_id is None
    assert [(p.code, p.target) for p in problems] == [("signature_invalid", "signature")]
    assert problems[0].detail == {"key_ids": ["2025", "2026"]}


def test_an_issuer_with_keys_must_sign_and_one_without_cannot():
    assert [p.code for p in verify(KEYS, None, None, message())[1]] == ["signature_required"]
    assert verify((), None, None, message()) == (None, [])  # an issuer that does not sign
    assert [p.code for p in verify((), sign(NEW, message()), "Ed25519", message())[1]] == ["signature_unverifiable"]


def test_a_wrong_algorithm_or_half_a_signature_is_refused_with_every_problem():
    assert [p.code for p in verify(KEYS, sign(NEW, message()), "RSA-SHA256", message())[1]] == [
        "signature_algorithm_unsupported"]
    without = verify(KEYS, sign(NEW, message()), "SM2-with-SM3", message())[1]  # the issuer has Ed25519 keys only
    assert [(p.code, p.detail["registered"]) for p in without] == [("signature_algorithm_without_key", ["Ed25519"])]
    assert [p.code for p in verify((), "c2ln", None, message())[1]] == ["signature_incomplete",
                                                                       "signature_unverifiable"]
    assert [p.code for p in verify(KEYS, None, "Ed25519", message())[1]] == ["signature_incomplete"]


@pytest.mark.parametrize("public_key", ["", "not base64!", base64.b64encode(b"\1" * 31).decode(),
                                        base64.b64encode(b"\1" * 33).decode()])
def test_a_key_that_is_not_32_base64_bytes_is_refused(public_key):
    with pytest.raises(ValidationError):
        CertificateKey(id="k1", public_key=public_key)


def test_a_department_names_each_key_once():
    with pytest.raises(ValidationError, match="differ"):
        Department(code="dept-a", name_zh="甲", name_en="A", certificate_keys=(KEYS[0], KEYS[0]))


# -- registration on fakes --------------------------------------------------------------------------------
@pytest.fixture
def deps():
    deps = seeded_deps()
    deps.blind_index = FakeBlindIndex()
    department = deps.store.get_department("dept-a") or Department(code="dept-a", name_zh="甲", name_en="A")
    deps.store.put_department(department.model_copy(update={"certificate_keys": KEYS}))
    return deps


def register(deps, **fields):
    return register_certificate(deps, officer("dept-a"), **{
        "type_": "营业执照", "number": NUMBER, "document_sha256": SHA, "holder_id_number": VALID_ID,
        "issued_on": date(2026, 1, 5), **fields})


def test_a_signed_registration_keeps_the_key_that_verified_it(deps):
    cert = register(deps, signature=sign(NEW, message()), signature_algorithm="Ed25519")
    assert cert.signature_key_id == "2026"
    assert deps.store.get_certificate(cert.id).signature_key_id == "2026"
    assert cert.public_view()["signature_key_id"] == "2026"


def test_the_holder_is_signed_as_given_in_upper_case(deps):
    lower = VALID_ID.lower()  # the registration normalises it before signing and indexing
    cert = register(deps, holder_id_number=lower, signature=sign(NEW, message()), signature_algorithm="Ed25519")
    assert cert.signature_key_id == "2026"


def test_an_unsigned_or_forged_registration_is_refused_with_its_other_problems(deps):
    with pytest.raises(ValidationFailed) as unsigned:
        register(deps, holder_id_number="123", valid_until=date(2025, 1, 1))
    assert {p.code for p in unsigned.value.problems} == {"id_number_invalid", "valid_until_before_issue",
                                                         "signature_required"}
    forged = sign(NEW, message(number="92330382MA9999999X"))
    with pytest.raises(ValidationFailed) as refused:
        register(deps, signature=forged, signature_algorithm="Ed25519")
    assert [p.code for p in refused.value.problems] == ["signature_invalid"]
    # Nothing was registered by the refusals; the signed registration is the holder's only certificate.
    held = deps.blind_index.index("id_number", VALID_ID)
    assert deps.store.list_certificates(held) == []
    cert = register(deps, signature=sign(NEW, message()), signature_algorithm="Ed25519")
    assert [c.id for c in deps.store.list_certificates(held)] == [cert.id]


def test_a_department_without_keys_registers_unsigned_as_before(deps):
    deps.store.put_department(Department(code="dept-b", name_zh="乙", name_en="B"))
    cert = register_certificate(deps, officer("dept-b"), type_="营业执照", number=NUMBER, document_sha256=SHA,
                                holder_id_number=VALID_ID)
    assert cert.signature is None and cert.signature_key_id is None
