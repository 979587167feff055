"""WebhookSender: SSRF guard, status classification, real loopback HTTP(S)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.adapters.webhook_sender import (
    SendResult,
    WebhookSender,
    classify_address,
    parse_retry_after,
)


def fixed_resolver(*ips: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(ips)

    return resolve


def failing_resolver(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


# -- SSRF guard -----------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fc00::1]/hook",
        "https://[fd12:3456::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://0.0.0.0/hook",
        "https://[::]/hook",
        "https://224.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://240.0.0.1/hook",
        "https://2130706433/hook",  # 127.0.0.1 in decimal, resolved by getaddrinfo
    ],
)
def test_internal_addresses_refused_without_allow_loopback(url):
    assert WebhookSender().check_url(url) is not None


@pytest.mark.parametrize(
    "url,reason",
    [
        ("https://[::1]/", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://169.254.169.254/", "link_local"),
        ("https://[fc00::]/", "unique_local"),
        ("https://[ff02::1]/", "multicast"),
    ],
)
def test_refusal_reason_names_the_range(url, reason):
    assert reason in WebhookSender().check_url(url)


def test_private_addresses_refused_even_with_allow_loopback():
    sender = WebhookSender(allow_loopback=True)
    for url in ("http://10.0.0.1/", "https://10.0.0.1/", "https://169.254.169.254/", "https://[fc00::1]/"):
        assert sender.check_url(url) is not None, url


def test_https_public_name_allowed():
    sender = WebhookSender(resolver=fixed_resolver("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"))
    assert sender.check_url("https://dept.example.gov.cn/webhooks/onetrip?x=1") is None


def test_https_public_ip_literal_allowed_with_system_resolver():
    assert WebhookSender().check_url("https://93.184.216.34:8443/hook") is None


def test_name_resolving_to_any_internal_address_is_refused():
    sender = WebhookSender(resolver=fixed_resolver("93.184.216.34", "10.1.2.3"))
    assert "private" in sender.check_url("https://rebind.example/hook")


def test_public_name_resolving_to_metadata_address_is_refused():
    sender = WebhookSender(resolver=fixed_resolver("169.254.169.254"))
    assert sender.check_url("https://innocent.example/hook") is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://dept.example/hook",  # plain http to a public host
        "ftp://dept.example/hook",
        "file:///etc/passwd",
        "gopher://dept.example/",
        "https:///nohost",
        "https://user:pw@dept.example/hook",
        "https://dept.example:99999/hook",
        "https://dept.example/ho ok",
        "dept.example/hook",
    ],
)
def test_bad_urls_refused(url):
    sender = WebhookSender(resolver=fixed_resolver("93.184.216.34"))
    assert sender.check_url(url) is not None


def test_http_to_public_host_refused_even_with_allow_loopback():
    sender = WebhookSender(allow_loopback=True, resolver=fixed_resolver("93.184.216.34"))
    assert sender.check_url("http://dept.example/hook") is not None
    assert sender.check_url("https://dept.example/hook") is None


def test_loopback_allowed_only_with_allow_loopback():
    assert WebhookSender(allow_loopback=True).check_url("http://127.0.0.1:8080/hook") is None
    assert WebhookSender(allow_loopback=True).check_url("http://[::1]:8080/hook") is None
    assert WebhookSender(allow_loopback=False).check_url("http://127.0.0.1:8080/hook") is not None


def test_unresolvable_name_refused_at_registration():
    sender = WebhookSender(resolver=failing_resolver)
    assert "resolve" in sender.check_url("https://nope.invalid/hook")


def test_send_to_blocked_address_never_connects():
    result = WebhookSender().send("https://169.254.169.254/latest", {}, b"{}")
    assert result.status is None and result.error == "blocked_address"
    assert result.permanent and not result.ok and not result.retryable
    assert "link_local" in result.detail


def test_send_dns_failure_is_retryable():
    result = WebhookSender(resolver=failing_resolver).send("https://nope.invalid/", {}, b"{}")
    assert result.error == "dns_error" and result.retryable


def test_classify_address_public():
    assert classify_address(ipaddress.ip_address("8.8.8.8")) is None
    assert classify_address(ipaddress.ip_address("2001:4860:4860::8888")) is None
    assert classify_address(ipaddress.ip_address("64:ff9b::a00:1")) == "private"  # NAT64 of 10.0.0.1
    assert classify_address(ipaddress.ip_address("2002:a00:1::1")) == "private"  # 6to4 of 10.0.0.1


# -- SendResult -------------------------------------------------------------------
@pytest.mark.parametrize(
    "status,error,ok,permanent,gone",
    [
        (200, None, True, False, False),
        (204, None, True, False, False),
        (301, "redirect_not_followed", False, True, False),
        (302, "redirect_not_followed", False, True, False),
        (400, None, False, True, False),
        (401, None, False, True, False),
        (404, None, False, True, False),
        (408, None, False, False, False),
        (409, None, False, False, False),
        (410, None, False, True, True),
        (429, None, False, False, False),
        (500, None, False, False, False),
        (503, None, False, False, False),
        (None, "timeout", False, False, False),
        (None, "connection_error", False, False, False),
        (None, "blocked_address", False, True, False),
    ],
)
def test_send_result_classification(status, error, ok, permanent, gone):
    result = SendResult(status=status, error=error, retry_after=None, elapsed_ms=1)
    assert (result.ok, result.permanent, result.gone) == (ok, permanent, gone)


def test_parse_retry_after():
    now = dt.datetime(2024, 6, 1, 8, 0, 0, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after("Sat, 01 Jun 2024 08:02:00 GMT", now=now) == 120
    assert parse_retry_after("Sat, 01 Jun 2024 07:00:00 GMT", now=now) == 0  # in the past
    for bad in (None, "", "-5", "1.5", "soon", "Sat, 99 Foo 2024"):
        assert parse_retry_after(bad, now=now) is None


# -- real loopback server ------------------------------------------------------------
class _Server:
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                path = self.path.split("?")[0]
                extra: dict[str, str] = {}
                payload = b'{"ok":true}'
                if path == "/ok":
                    status = 200
                elif path == "/nocontent":
                    status, payload = 204, b""
                elif path == "/busy":
                    status, extra = 503, {"Retry-After": "7"}
                elif path == "/busy-date":
                    status, extra = 503, {"Retry-After": formatdate(outer.now() + 120, usegmt=True)}
                elif path == "/throttled":
                    status, extra = 429, {"Retry-After": "3"}
                elif path == "/redirect":
                    status, extra = 302, {"Location": "/ok"}
                elif path == "/gone":
                    status = 410
                elif path == "/bad":
                    status = 400
                elif path == "/big":
                    status, payload = 200, b"x" * (1024 * 1024)
                elif path == "/slow":
                    outer.release.wait(3)
                    status = 200
                else:
                    status = 404
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    @staticmethod
    def now() -> float:
        import time

        return time.time()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture
def sender():
    return WebhookSender(allow_loopback=True, timeout=0.5)


HEADERS = {"webhook-id": "msg_1", "content-type": "application/json"}


def test_loopback_refused_by_default_sender(server):
    result = WebhookSender().send(server.url("/ok"), HEADERS, b"{}")
    assert result.error == "blocked_address" and result.permanent
    assert server.requests == []


def test_2xx_ok_and_request_is_faithful(server, sender):
    body = '{"name":"张三"}'.encode()
    result = sender.send(server.url("/ok?a=1"), HEADERS, body)
    assert result.ok and result.status == 200 and result.error is None
    assert result.elapsed_ms >= 0 and result.retry_after is None
    (req,) = server.requests
    assert req["path"] == "/ok?a=1" and req["body"] == body
    assert req["headers"]["webhook-id"] == "msg_1"
    assert req["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert req["headers"]["User-Agent"].startswith("OneTrip")


def test_204_ok(server, sender):
    assert sender.send(server.url("/nocontent"), HEADERS, b"{}").ok


def test_localhost_name_with_allow_loopback(server, sender):
    result = sender.send(f"http://localhost:{server.port}/ok", HEADERS, b"{}")
    assert result.ok
    assert server.requests[0]["headers"]["Host"] == f"localhost:{server.port}"


def test_503_with_retry_after_seconds(server, sender):
    result = sender.send(server.url("/busy"), HEADERS, b"{}")
    assert result.status == 503 and result.retry_after == 7
    assert not result.ok and not result.permanent and result.retryable


def test_503_with_retry_after_http_date(server, sender):
    result = sender.send(server.url("/busy-date"), HEADERS, b"{}")
    assert result.status == 503 and 115 <= result.retry_after <= 121


def test_429_is_retryable(server, sender):
    result = sender.send(server.url("/throttled"), HEADERS, b"{}")
    assert result.status == 429 and result.retry_after == 3 and result.retryable


def test_302_not_followed_and_permanent(server, sender):
    result = sender.send(server.url("/redirect"), HEADERS, b"{}")
    assert result.status == 302 and result.error == "redirect_not_followed"
    assert result.permanent and not result.ok
    assert [r["path"] for r in server.requests] == ["/redirect"]


def test_410_gone(server, sender):
    result = sender.send(server.url("/gone"), HEADERS, b"{}")
    assert result.status == 410 and result.gone and result.permanent


def test_400_permanent(server, sender):
    result = sender.send(server.url("/bad"), HEADERS, b"{}")
    assert result.status == 400 and result.permanent and not result.gone


def test_large_response_body_is_bounded(server, sender):
    result = sender.send(server.url("/big"), HEADERS, b"{}")
    assert result.ok


def test_timeout_on_slow_server(server, sender):
    result = sender.send(server.url("/slow"), HEADERS, b"{}")
    assert result.status is None and result.error == "timeout"
    assert result.retryable and 400 <= result.elapsed_ms < 2500


def test_connection_refused_is_retryable(sender):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = sender.send(f"http://127.0.0.1:{port}/ok", HEADERS, b"{}")
    assert result.error == "connection_error" and result.retryable


# -- https: connect to the vetted IP, SNI and certificate against the host name ----------
def _make_pki(tmp_path, hostname: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OneTrip test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    return server_ctx, client_ctx


@pytest.fixture
def tls_server(tmp_path):
    server_ctx, client_ctx = _make_pki(tmp_path, "dept.example")
    srv = _Server(tls_context=server_ctx)
    yield srv, client_ctx
    srv.close()


def test_https_pins_vetted_ip_and_verifies_certificate_against_host_name(tls_server):
    srv, client_ctx = tls_server
    sender = WebhookSender(
        allow_loopback=True, timeout=2, resolver=fixed_resolver("127.0.0.1"), ssl_context=client_ctx
    )
    result = sender.send(f"https://dept.example:{srv.port}/ok", HEADERS, b'{"a":1}')
    assert result.ok, result
    assert srv.requests[0]["headers"]["Host"] == f"dept.example:{srv.port}"


def test_https_certificate_for_another_name_is_a_tls_error(tls_server):
    srv, client_ctx = tls_server
    sender = WebhookSender(
        allow_loopback=True, timeout=2, resolver=fixed_resolver("127.0.0.1"), ssl_context=client_ctx
    )
    result = sender.send(f"https://other.example:{srv.port}/ok", HEADERS, b"{}")
    assert result.error == "tls_error" and result.status is None
    assert srv.requests == []
    json.dumps(result.detail)  # detail is a plain string
