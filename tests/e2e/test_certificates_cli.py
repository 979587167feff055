"""`onetrip certificates` on the local stack: an admin registers a certificate issued outside the bus
from the document file (only its SHA-256 travels), the holder sees it as theirs, registering it again
gives the same registration, and a wrong issuer is refused with the API's problems."""

from __future__ import annotations

import hashlib
import json

import pytest

from infra.onetrip import cli
from infra.onetrip.seed import REFERENCE_REGISTRY

pytestmark = pytest.mark.e2e


def test_an_admin_registers_a_certificate_from_the_command_line(e2e, tmp_path, capsys):
    admin = ["--api", e2e.api, "--token", e2e.stack.token("admin")]
    document = tmp_path / "licence.pdf"
    document.write_bytes(b"%PDF-1.4 a business licence issued at the window\n")
    holder = REFERENCE_REGISTRY["citizen-verified"]["id_number"]
    register = ["certificates", "register", "--type", "营业执照", "--number", "92330382MA2CLI0001",
                "--issuer", "yq-amr", "--holder-id-number", holder, "--document", str(document),
                "--valid-until", "2046-01-04", *admin]

    capsys.readouterr()
    assert cli.main(register) == 0
    cert = json.loads(capsys.readouterr().out)
    assert cert["document_sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()
    assert cert["source"] == "admin" and holder not in json.dumps(cert, ensure_ascii=False)
    assert cli.main(register) == 0 and json.loads(capsys.readouterr().out)["id"] == cert["id"]
    assert cli.main(["certificates", "show", cert["id"], *admin]) == 0
    assert json.loads(capsys.readouterr().out)["number_masked"] == cert["number_masked"]
    mine = e2e.ok("GET", "/v1/me/certificates")
    assert cert["id"] in {c["id"] for c in mine["items"]}

    wrong = [a if a != "yq-amr" else "no-such-department" for a in register]
    assert cli.main(wrong) == 1
    assert "issuer_unknown" in capsys.readouterr().out
