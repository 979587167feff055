"""Signed e-certificates through the API on moto: an admin registers a department's Ed25519 keys, the
department then registers only certificates its key signed, and the registration names the key; an
unsigned or forged one is refused with every problem at once; a bad key is refused when registered."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chalicelib.domain.certificate_signatures import signed_message
from chalicelib.domain.ids import new_id
from tests.unit.test_sm2 import Signer

from .conftest import call

DEPARTMENT, OFFICER = "yq-tax", "dept-yq-tax"
HOLDER_ID_NUMBER = "11010519491231002X"  # infra/onetrip/seed.py: the seeded citizen's verified identity
KEY = Ed25519PrivateKey.generate()
PUBLIC_KEY = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
DEPARTMENT_FIELDS = ("code", "name_zh", "name_en", "contact_email", "contact_phone", "offices", "certificate_keys")


def put_department(api, stack, department: dict) -> tuple[int, dict]:
    body = {field: department[field] for field in DEPARTMENT_FIELDS if department.get(field) is not None}
    return call(api, "POST", "/v1/departments", stack.headers("admin"), body)


@pytest.fixture
def signing_department(api, stack) -> Iterator[dict]:
    """yq-tax with a certificate key for the test; as it was afterwards (the stack is the session's)."""
    status, before = call(api, "GET", f"/v1/departments/{DEPARTMENT}", stack.headers("admin"))
    assert status == 200, before
    status, signing = put_department(api, stack, {**before, "certificate_keys": [
        {"id": "tax-2026", "public_key": PUBLIC_KEY}]})
    assert status == 201, signing
    try:
        yield signing
    finally:
        status, restored = put_department(api, stack, {**before, "certificate_keys": []})
        assert status == 201 and restored["certificate_keys"] == [], restored


def a_certificate(**changes) -> dict:
    return {"type": "完税证明", "number": f"TAX{new_id()[-10:].upper()}", "holder_id_number": HOLDER_ID_NUMBER,
            "document_sha256": hashlib.sha256(new_id().encode()).hexdigest(), "issued_on": "2026-11-02",
            "valid_until": "2027-11-01", **changes}


def signature_of(body: dict) -> str:
    message = signed_message(issuer=DEPARTMENT, type_=body["type"], number=body["number"],
                             holder=body["holder_id_number"], issued_on=date.fromisoformat(body["issued_on"]),
                             valid_until=date.fromisoformat(body["valid_until"]),
                             document_sha256=body["document_sha256"])
    return base64.b64encode(KEY.sign(message)).decode()


def test_a_department_with_a_key_registers_what_it_signed_and_the_registration_names_the_key(
        api, stack, signing_department):
    assert signing_department["certificate_keys"] == [{"id": "tax-2026", "algorithm": "Ed25519",
                                                       "public_key": PUBLIC_KEY}]
    body = a_certificate()
    status, cert = call(api, "POST", "/v1/certificates", stack.headers(OFFICER),
                        {**body, "signature": signature_of(body), "signature_algorithm": "Ed25519"})
    assert status == 201, cert
    assert (cert["signature_key_id"], cert["signature_algorithm"]) == ("tax-2026", "Ed25519")
    status, read = call(api, "GET", f"/v1/certificates/{cert['id']}", stack.headers(OFFICER))
    assert status == 200 and read["signature_key_id"] == "tax-2026"


def test_a_department_signing_with_sm2_registers_what_openssl_signed(api, stack, tmp_path):
    signer = Signer(tmp_path)
    status, before = call(api, "GET", f"/v1/departments/{DEPARTMENT}", stack.headers("admin"))
    status, signing = put_department(api, stack, {**before, "certificate_keys": [
        {"id": "tax-sm2", "algorithm": "SM2-with-SM3", "public_key": base64.b64encode(signer.public).decode()}]})
    assert status == 201, signing
    try:
        body = a_certificate()
        signature = signer.sign(signed_message(
            issuer=DEPARTMENT, type_=body["type"], number=body["number"], holder=body["holder_id_number"],
            issued_on=date.fromisoformat(body["issued_on"]), valid_until=date.fromisoformat(body["valid_until"]),
            document_sha256=body["document_sha256"]))
        signed = {**body, "signature": base64.b64encode(signature).decode(), "signature_algorithm": "SM2-with-SM3"}
        status, refused = call(api, "POST", "/v1/certificates", stack.headers(OFFICER),
                               {**signed, "valid_until": "2027-11-02"})  # not what was signed
        assert status == 422 and [p["code"] for p in refused["problems"]] == ["signature_invalid"], refused
        status, cert = call(api, "POST", "/v1/certificates", stack.headers(OFFICER), signed)
        assert status == 201, cert
        assert (cert["signature_key_id"], cert["signature_algorithm"]) == ("tax-sm2", "SM2-with-SM3")
    finally:
        status, restored = put_department(api, stack, {**before, "certificate_keys": []})
        assert status == 201, restored


def test_an_unsigned_or_forged_certificate_is_refused_with_every_problem(api, stack, signing_department):
    status, unsigned = call(api, "POST", "/v1/certificates", stack.headers(OFFICER),
                            a_certificate(valid_until="2026-01-01"))
    assert status == 422, unsigned
    assert {p["code"] for p in unsigned["problems"]} == {"signature_required", "valid_until_before_issue"}
    assert all(p["message_zh"] and p["message_en"] for p in unsigned["problems"])

    body = a_certificate()
    forged = {**body, "signature": signature_of({**body, "holder_id_number": "110105194912310037"}),
              "signature_algorithm": "Ed25519"}
    status, refused = call(api, "POST", "/v1/certificates", stack.headers(OFFICER), forged)
    assert status == 422, refused
    assert [(p["code"], p["target"]) for p in refused["problems"]] == [("signature_invalid", "signature")]


def test_a_signature_from_a_department_without_keys_cannot_be_checked_and_is_refused(api, stack):
    body = a_certificate()
    status, refused = call(api, "POST", "/v1/certificates", stack.headers(OFFICER),
                           {**body, "signature": signature_of(body), "signature_algorithm": "Ed25519"})
    assert status == 422, refused
    assert [p["code"] for p in refused["problems"]] == ["signature_unverifiable"]


def test_a_key_that_is_not_an_ed25519_public_key_is_refused_at_registration(api, stack):
    status, before = call(api, "GET", f"/v1/departments/{DEPARTMENT}", stack.headers("admin"))
    bad = base64.b64encode(b"\1" * 31).decode()
    status, refused = put_department(api, stack, {**before, "certificate_keys": [
        {"id": "k1", "public_key": bad}, {"id": "k1", "public_key": PUBLIC_KEY}]})
    assert status == 422, refused
    assert refused["problems"] and all(p["message_zh"] and p["message_en"] for p in refused["problems"])
    status, after = call(api, "GET", f"/v1/departments/{DEPARTMENT}", stack.headers("admin"))
    assert after["certificate_keys"] == []
