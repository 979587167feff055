"""The HTTPS identity verifier against a real TLS server on 127.0.0.1, with a throwaway CA made here.

The adapter trusts only the CA bundle it is given: a certificate from another CA, or one for another
host name, is refused before a byte of the request (name, ID number, token) is sent. Timeouts,
5xx and malformed answers are `identity_service_unavailable`, never a silent "no match".
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chalicelib.adapters.identity_verifier import HttpsIdentityVerifier, IdentityServiceUnavailable

TOKEN = "tls-test-token"
PERSON = ("李四", "330382199001011237")


# -- a throwaway PKI -------------------------------------------------------------------------------------
def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(tmp: Path, label: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(_name(label))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp / f"{label}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def _server_cert(tmp: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path], label: str, *,
                 ip: str = "127.0.0.1", expired: bool = False) -> tuple[Path, Path]:
    ca_key, ca_cert, _ = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    cert = (x509.CertificateBuilder().subject_name(_name(label)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp / f"{label}.crt", tmp / f"{label}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# -- the authority's service, as a test double on loopback ---------------------------------------------
@dataclass
class Authority:
    """What the fake authority answers, and every request that reached it."""

    known: set[tuple[str, str]] = field(default_factory=lambda: {PERSON})
    status: int = 200
    body: bytes | None = None          # overrides the JSON answer
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class QuietJsonHandler(BaseHTTPRequestHandler):
    """Answers JSON and prints nothing: the requests carry personal data."""

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def _handler(authority: Authority) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            authority.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                       "body": data})
            if authority.delay:
                authority.release.wait(authority.delay)
            body = authority.body if authority.body is not None else json.dumps(
                {"matched": (data.get("name"), data.get("id_number")) in authority.known}).encode()
            self.answer(authority.status, body)

    return Handler


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pki")
    trusted = _ca(tmp, "trusted-ca")
    rogue = _ca(tmp, "rogue-ca")
    good, good_key = _server_cert(tmp, trusted, "good")
    foreign, foreign_key = _server_cert(tmp, rogue, "foreign")
    other_host, other_host_key = _server_cert(tmp, trusted, "other-host", ip="127.0.0.2")
    expired, expired_key = _server_cert(tmp, trusted, "expired", expired=True)
    return {"bundle": trusted[2], "good": good, "good_key": good_key, "foreign": foreign, "foreign_key": foreign_key,
            "other_host": other_host, "other_host_key": other_host_key, "expired": expired,
            "expired_key": expired_key}


@pytest.fixture
def serve(pki) -> Iterator[Any]:
    started: list[tuple[ThreadingHTTPServer, Authority]] = []

    def start(cert: str = "good") -> tuple[str, Authority]:
        authority = Authority()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(authority))
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki[cert], pki[f"{cert}_key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append((server, authority))
        return f"https://127.0.0.1:{server.server_address[1]}/verify", authority

    yield start
    for server, authority in started:
        authority.release.set()
        server.shutdown()
        server.server_close()


def _verifier(url: str, pki: dict[str, Path], timeout: float = 5.0) -> HttpsIdentityVerifier:
    return HttpsIdentityVerifier(url, TOKEN, timeout=timeout, ca_bundle=str(pki["bundle"]))


def test_a_known_person_matches_over_tls_with_the_bearer_token(serve, pki):
    url, authority = serve()
    verifier = _verifier(url, pki)
    assert _handshake_error(verifier, url) is None
    check = verifier.verify(*PERSON)
    assert (check.matched, check.method) == (True, "authority_service")
    assert authority.requests == [{"path": "/verify", "authorization": f"Bearer {TOKEN}",
                                   "body": {"name": PERSON[0], "id_number": PERSON[1]}}]


def test_an_unknown_pair_is_no_match(serve, pki):
    url, authority = serve()
    check = _verifier(url, pki).verify(PERSON[0], "11010519491231002X")
    assert check.matched is False and len(authority.requests) == 1


def _handshake_error(verifier: HttpsIdentityVerifier, url: str) -> ssl.SSLCertVerificationError | None:
    """Why the verifier's own TLS context refuses the server (None: it accepts it)."""
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with verifier._context().wrap_socket(raw, server_hostname="127.0.0.1"):
                return None
        except ssl.SSLCertVerificationError as exc:
            return exc


@pytest.mark.parametrize(("cert", "reason"), [("foreign", "unable to get local issuer certificate"),
                                              ("other_host", "IP address mismatch"),
                                              ("expired", "certificate has expired")])
def test_a_certificate_the_bundle_does_not_vouch_for_is_refused_before_anything_is_sent(serve, pki, cert, reason):
    url, authority = serve(cert)
    verifier = _verifier(url, pki)
    with pytest.raises(IdentityServiceUnavailable) as refused:
        verifier.verify(*PERSON)
    assert authority.requests == []
    error = _handshake_error(verifier, url)  # the server is up; the certificate is what is refused
    assert error is not None and reason in error.verify_message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # nothing chained to a log
    assert PERSON[1] not in str(refused.value)


def test_without_the_bundle_the_system_store_does_not_trust_a_private_ca(serve, pki):
    url, authority = serve()
    with pytest.raises(IdentityServiceUnavailable):
        HttpsIdentityVerifier(url, TOKEN, timeout=5.0).verify(*PERSON)
    assert authority.requests == []


def test_a_slow_authority_times_out_as_unavailable_not_as_no_match(serve, pki):
    url, authority = serve()
    authority.delay = 5.0
    started = time.monotonic()
    with pytest.raises(IdentityServiceUnavailable):
        _verifier(url, pki, timeout=0.3).verify(*PERSON)
    assert time.monotonic() - started < 2.0
    assert len(authority.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_unavailable(serve, pki, status):
    url, authority = serve()
    authority.status = status
    authority.body = b'{"matched": true}'  # whatever a failing gateway says, a 5xx is not an answer
    with pytest.raises(IdentityServiceUnavailable):
        _verifier(url, pki).verify(*PERSON)


def test_a_refused_fixed_token_is_unavailable_without_a_second_request(serve, pki):
    # A token given as is has nothing newer to offer: the 401 is not retried (a secret's would be,
    # once, after reading it again: tests/integration/test_identity_verifier_secret.py).
    url, authority = serve()
    authority.status = 401
    authority.body = b'{"matched": false}'  # a refusal is not an answer either way
    with pytest.raises(IdentityServiceUnavailable) as refused:
        _verifier(url, pki).verify(*PERSON)
    assert len(authority.requests) == 1
    assert TOKEN not in str(refused.value) and refused.value.__cause__ is None


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"matched": "yes"}', b"[]", b'{"ok": true}'])
def test_a_malformed_answer_is_unavailable(serve, pki, body):
    url, authority = serve()
    authority.body = body
    with pytest.raises(IdentityServiceUnavailable):
        _verifier(url, pki).verify(*PERSON)


def test_plain_http_is_refused_at_configuration():
    with pytest.raises(ValueError, match="https"):
        HttpsIdentityVerifier("http://127.0.0.1:1/verify", TOKEN)


def test_an_unconfigured_service_fails_verification_only_not_every_function():
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings

    # The packaged stages select the https verifier; without its URL the deps must still build
    # (delivery, uploads, the rest of the API), and verification answers "unavailable".
    settings = Settings.from_environ({"ONETRIP_STAGE": "dev", "ONETRIP_IDENTITY_VERIFIER": "https"})
    verifier = build_deps(settings, make_client=lambda _service: None).identity_verifier
    assert verifier is not None
    with pytest.raises(IdentityServiceUnavailable):
        verifier.verify(*PERSON)


def test_the_deployed_wiring_passes_the_configured_bundle(serve, pki):
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings

    url, authority = serve()
    settings = Settings.from_environ({"ONETRIP_STAGE": "dev", "ONETRIP_IDENTITY_VERIFIER": "https",
                                      "ONETRIP_IDENTITY_VERIFIER_URL": url,
                                      "ONETRIP_IDENTITY_VERIFIER_TOKEN": TOKEN,
                                      "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE": str(pki["bundle"])})
    verifier = build_deps(settings, make_client=lambda _service: None).identity_verifier
    assert verifier is not None and verifier.verify(*PERSON).matched is True
    assert len(authority.requests) == 1
