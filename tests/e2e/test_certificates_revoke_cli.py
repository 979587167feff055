"""`onetrip certificates revoke` on the local stack: an admin or the issuing department revokes a
certificate once (注销/吊销) and the API keeps it; a second revocation, an unknown id and another
department's attempt are refused with the API's code and both messages, exit 1; a reason the API would
refuse (blank, or longer than 500 characters once stripped) is refused before any request, exit 2."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.domain.ids import new_id
from infra.onetrip import cli
from infra.onetrip.seed import REFERENCE_REGISTRY

pytestmark = pytest.mark.e2e

HOLDER = "citizen-verified"  # infra/onetrip/seed.py: a verified identity, so a certificate can be held
REASON = "营业执照被依法吊销"


def register(e2e) -> dict:
    """A fresh certificate of the holder, issued by yq-amr (its own number: registration is idempotent)."""
    body = {"type": "营业执照", "number": f"92330382RC{new_id()[-8:]}", "issuer": "yq-amr",
            "holder_id_number": REFERENCE_REGISTRY[HOLDER]["id_number"],
            "document_sha256": hashlib.sha256(new_id().encode()).hexdigest(), "valid_until": "2046-01-04"}
    return e2e.ok("POST", "/v1/certificates", 201, "admin", json=body)


def revoke(capsys, certificate_id: str, reason: str, *api: str) -> tuple[int, dict, str]:
    """Runs the command as a user types it: its exit code, the JSON it printed and its stderr."""
    capsys.readouterr()
    code = cli.main(["certificates", "revoke", certificate_id, "--reason", reason, *api])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def as_user(e2e, username: str) -> list[str]:
    return ["--api", e2e.api, "--token", e2e.stack.token(username)]


def test_an_admin_revokes_a_certificate_once_and_a_second_revocation_is_409(e2e, capsys):
    cert = register(e2e)

    code, revoked, _ = revoke(capsys, cert["id"], f"  {REASON}  ", *as_user(e2e, "admin"))

    assert code == 0
    assert revoked["id"] == cert["id"]
    assert revoked["revocation"]["reason"] == REASON and revoked["revocation"]["at"]
    # Kept by the API, not only printed: the issuer's read and the holder's list show the same revocation.
    assert e2e.ok("GET", f"/v1/certificates/{cert['id']}", username="admin")["revocation"] == revoked["revocation"]
    [mine] = [c for c in e2e.ok("GET", "/v1/me/certificates")["items"] if c["id"] == cert["id"]]
    assert mine["revocation"] == revoked["revocation"]

    code, refused, err = revoke(capsys, cert["id"], "another reason", *as_user(e2e, "admin"))

    assert code == 1 and "HTTP 409" in err
    assert refused["code"] == "certificate_already_revoked"
    assert refused["message_zh"] and refused["message_en"]
    assert e2e.ok("GET", f"/v1/certificates/{cert['id']}", username="admin")["revocation"]["reason"] == REASON


def test_revoking_an_unknown_certificate_is_404_certificate_not_found(e2e, capsys):
    code, refused, err = revoke(capsys, new_id("crt_"), REASON, *as_user(e2e, "admin"))

    assert code == 1 and "HTTP 404" in err
    assert refused["code"] == "certificate_not_found"
    assert refused["message_zh"] and refused["message_en"]


def test_the_issuing_department_revokes_and_another_department_is_told_it_does_not_exist(e2e, capsys):
    cert = register(e2e)

    code, refused, err = revoke(capsys, cert["id"], REASON, *as_user(e2e, "dept-yq-tax"))

    assert code == 1 and "HTTP 404" in err and refused["code"] == "certificate_not_found"
    assert e2e.ok("GET", f"/v1/certificates/{cert['id']}", username="admin")["revocation"] is None

    # The longest reason the command lets through is one the API accepts: both draw the line at 500.
    longest = "吊" * 500
    code, revoked, _ = revoke(capsys, cert["id"], longest, *as_user(e2e, "dept-yq-amr"))

    assert code == 0 and revoked["revocation"]["reason"] == longest


def test_a_reason_the_api_would_refuse_is_refused_on_the_real_stack_and_nothing_changes(e2e, capsys):
    cert = register(e2e)

    code, refused, err = revoke(capsys, cert["id"], "   ", *as_user(e2e, "admin"))

    assert code == 2 and "no request was sent" in err
    assert [p["code"] for p in refused["problems"]] == ["revocation_reason_invalid"]
    assert e2e.ok("GET", f"/v1/certificates/{cert['id']}", username="admin")["revocation"] is None


# -- before any request: an API that counts what reaches it ----------------------------------------

class CountingApi:
    """A loopback HTTP server that records every request and answers each with a 404 problem."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                seen.append(("POST", self.path, self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                body = json.dumps({"code": "certificate_not_found", "message_zh": "未找到", "message_en": "Not found"})
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:  # keep pytest's output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def counting_api() -> Iterator[CountingApi]:
    api = CountingApi()
    yield api
    api.close()


@pytest.mark.parametrize(("reason", "says"), [
    ("", "A reason is required"),
    (" \t\n ", "A reason is required"),
    ("x" * 501, "501 characters long; at most 500"),
    ("  " + "理" * 501 + "  ", "501 characters long; at most 500"),
], ids=["empty", "blank", "501-characters", "501-characters-between-spaces"])
def test_a_blank_or_too_long_reason_is_refused_before_any_request(counting_api, capsys, reason, says):
    code, refused, err = revoke(capsys, new_id("crt_"), reason, "--api", counting_api.url, "--token", "unused")

    assert code == 2 and "no request was sent" in err
    assert refused["code"] == "validation_failed" and refused["message_zh"] and refused["message_en"]
    [problem] = refused["problems"]
    assert (problem["code"], problem["target"]) == ("revocation_reason_invalid", "reason")
    assert says in problem["message_en"] and problem["message_zh"]
    assert counting_api.requests == []


def test_the_counting_api_sees_a_valid_revocation_with_its_reason_stripped(counting_api, capsys):
    # The control for the test above: the same command with a reason of exactly 500 characters is sent.
    certificate_id = new_id("crt_")

    code, refused, err = revoke(capsys, certificate_id, "  " + "x" * 500 + " ", "--api", counting_api.url,
                                "--token", "unused")

    assert code == 1 and "HTTP 404" in err and refused["code"] == "certificate_not_found"
    [(method, path, body)] = counting_api.requests
    assert (method, path) == ("POST", f"/v1/certificates/{certificate_id}/revocation")
    assert json.loads(body) == {"reason": "x" * 500}
