"""A signed registration from the command line, as a department's integrator does it: `onetrip
certificates signed-bytes` writes the bytes to sign, OpenSSL signs them with the department's SM2 key,
`onetrip certificates register --signature` sends the registration, and the registry verifies it
against the key the department registered. A registration saying anything else than what was signed
is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from chalicelib.domain.ids import new_id
from infra.onetrip import cli
from infra.onetrip.seed import REFERENCE_REGISTRY
from tests.unit.test_sm2 import Signer

pytestmark = pytest.mark.e2e

DEPARTMENT = "yq-realestate"
DEPARTMENT_FIELDS = ("code", "name_zh", "name_en", "contact_email", "contact_phone", "offices", "certificate_keys")


@pytest.fixture
def signer(e2e, tmp_path) -> Iterator[Signer]:
    """An SM2 key of the department's, registered for the test and taken away afterwards (the stack is shared)."""
    key = Signer(tmp_path)
    before = e2e.ok("GET", f"/v1/departments/{DEPARTMENT}", username="admin")
    body = {f: before[f] for f in DEPARTMENT_FIELDS if before.get(f) is not None}
    e2e.ok("POST", "/v1/departments", 201, "admin", json={**body, "certificate_keys": [
        {"id": "re-sm2-2026", "algorithm": "SM2-with-SM3", "public_key": base64.b64encode(key.public).decode()}]})
    try:
        yield key
    finally:
        e2e.ok("POST", "/v1/departments", 201, "admin", json={**body, "certificate_keys": []})


def test_bytes_from_the_cli_signed_by_openssl_register_and_anything_else_is_refused(e2e, signer, tmp_path,
                                                                                      capsys):
    document = tmp_path / "property-certificate.pdf"
    document.write_bytes(b"%PDF-1.4 a property certificate issued at the window\n")
    certificate = ["--type", "不动产权证书", "--number", f" 浙(2026)永嘉县不动产权第{new_id()[-7:]}号 ",
                   "--issuer", DEPARTMENT, "--holder-id-number",
                   REFERENCE_REGISTRY["citizen-verified"]["id_number"].lower(),  # normalised like the registry
                   "--document", str(document), "--issued-on", "2026-11-02"]
    signed_bin = tmp_path / "signed.bin"
    assert cli.main(["certificates", "signed-bytes", *certificate, "--out", str(signed_bin)]) == 0
    signature = base64.b64encode(signer.sign(signed_bin.read_bytes())).decode()
    admin = ["--api", e2e.api, "--token", e2e.stack.token("admin"), "--signature", signature,
             "--signature-algorithm", "SM2-with-SM3"]

    capsys.readouterr()
    assert cli.main(["certificates", "register", *certificate, "--valid-until", "2076-11-01", *admin]) == 1
    refused = json.loads(capsys.readouterr().out)  # a validity the issuer never signed
    assert [p["code"] for p in refused["problems"]] == ["signature_invalid"]

    assert cli.main(["certificates", "register", *certificate, *admin]) == 0
    cert = json.loads(capsys.readouterr().out)
    assert (cert["issuer"], cert["signature_key_id"], cert["signature_algorithm"]) == (
        DEPARTMENT, "re-sm2-2026", "SM2-with-SM3")
    assert cert["id"] in {c["id"] for c in e2e.ok("GET", "/v1/me/certificates")["items"]}


def test_signed_bytes_refuses_every_malformed_input_at_once_without_writing_anything(tmp_path, capsys):
    out = tmp_path / "signed.bin"
    code = cli.main(["certificates", "signed-bytes", "--type", "营业执照", "--number", "1", "--issuer", "yq-amr",
                     "--holder-credit-code", "91350100M000100Y43", "--document", str(tmp_path / "missing.pdf"),
                     "--issued-on", "2026-13-01", "--valid-until", "someday", "--out", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "--issued-on 2026-13-01" in err and "--valid-until someday" in err and "missing.pdf" in err
