"""The identity verifier's token read from Secrets Manager at run time: a real secret on a moto server,
read through the app's own lazy clients (chalicelib/adapters/aws.py), and the authority a TLS server
on 127.0.0.1 that accepts one token at a time, as a real one does across a rotation.

The secret is read on the first verification (not when the dependencies are wired), kept for the
cache time, and read again at once when the authority answers 401: the request is then sent once
more with the new token. The token shows in no log line, exception or repr.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.identity_verifier import HttpsIdentityVerifier, IdentityServiceUnavailable, SecretToken
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from infra.onetrip import moto_stack
from tests.integration.test_identity_verifier_tls import PERSON, QuietJsonHandler, _ca, _server_cert

OLD_TOKEN = "old-bearer-token-0001"
NEW_TOKEN = "new-bearer-token-0002"


@dataclass
class Authority:
    """Accepts `Bearer <accepted>` only (401 otherwise) and records the token of every request."""

    accepted: str = OLD_TOKEN
    tokens: list[str] = field(default_factory=list)


def _handler(authority: Authority) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            authority.tokens.append(token)
            if token == authority.accepted:
                status, body = 200, json.dumps({"matched": (data["name"], data["id_number"]) == PERSON}).encode()
            else:
                status, body = 401, b'{"error": "invalid_token"}'
            self.answer(status, body)

    return Handler


@pytest.fixture(scope="module")
def bundle_and_server_cert(tmp_path_factory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("pki")
    ca = _ca(tmp, "authority-ca")
    cert, key = _server_cert(tmp, ca, "authority")
    return ca[2], cert, key


@pytest.fixture
def authority(bundle_and_server_cert) -> Iterator[tuple[str, str, Authority]]:
    bundle, cert, key = bundle_and_server_cert
    state = Authority()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/verify", str(bundle), state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secrets(moto_url, monkeypatch) -> Iterator[Any]:
    """The app's own clients (chalicelib.adapters.aws) aimed at moto; the admin's client to manage the secret."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
    for name, value in moto_stack.FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    aws.client.cache_clear()
    yield moto_stack.client("secretsmanager", moto_url)
    aws.client.cache_clear()


@pytest.fixture
def reads(secrets, monkeypatch) -> list[str]:
    """Every GetSecretValue call the app's clients make (botocore's hook on each API call, before it goes out)."""
    seen: list[str] = []

    def count(params: dict[str, Any], **_kwargs: Any) -> None:
        seen.append(params["SecretId"])

    # The secretsmanager client the app builds (on its first verification) reports each read.
    original = aws._Clients.__call__

    def counted(self: aws._Clients, service: str) -> Any:
        fresh = service not in self._clients
        client = original(self, service)
        if fresh and service == "secretsmanager":
            client.meta.events.register("before-parameter-build.secrets-manager.GetSecretValue", count)
        return client

    monkeypatch.setattr(aws._Clients, "__call__", counted)
    return seen


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record the app logged, with its extra fields (what the JSON log line carries)."""
    return "\n".join(json.dumps(vars(r), default=str, ensure_ascii=False) for r in caplog.records)


def _create_secret(secrets: Any, name: str, value: str) -> str:
    return secrets.create_secret(Name=name, SecretString=value)["ARN"]


def _deployed_verifier(url: str, bundle: str, secret_arn: str) -> HttpsIdentityVerifier:
    """The API handler's verifier, from the variables the application stack sets (and nothing else)."""
    settings = Settings.from_environ({"ONETRIP_STAGE": "dev", "ONETRIP_IDENTITY_VERIFIER": "https",
                                      "ONETRIP_IDENTITY_VERIFIER_URL": url,
                                      "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET": secret_arn,
                                      "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE": bundle})
    verifier = build_deps(settings).identity_verifier  # the production client factory: aws.client
    assert isinstance(verifier, HttpsIdentityVerifier)
    return verifier


def test_the_secret_is_read_on_the_first_verification_then_served_from_memory(authority, secrets, reads):
    url, bundle, state = authority
    arn = _create_secret(secrets, "idv-token-cached", OLD_TOKEN)
    verifier = _deployed_verifier(url, bundle, arn)
    assert "secretsmanager" not in aws.client._clients  # wiring built no client and read nothing
    assert reads == []
    assert verifier.verify(*PERSON).matched is True
    assert reads == [arn]
    assert verifier.verify(PERSON[0], "11010519491231002X").matched is False
    assert verifier.verify(*PERSON).matched is True
    assert reads == [arn]  # within the cache time: no further read
    assert state.tokens == [OLD_TOKEN] * 3


def test_after_a_rotation_the_authoritys_401_reads_the_secret_again_once_and_retries_once(authority, secrets,
                                                                                          reads):
    url, bundle, state = authority
    arn = _create_secret(secrets, "idv-token-rotated", OLD_TOKEN)
    verifier = _deployed_verifier(url, bundle, arn)
    assert verifier.verify(*PERSON).matched is True
    secrets.put_secret_value(SecretId=arn, SecretString=NEW_TOKEN)  # the admin rotates the token ...
    state.accepted = NEW_TOKEN                                       # ... and the authority honours the new one
    assert verifier.verify(*PERSON).matched is True
    assert reads == [arn, arn]  # the first read, then exactly one after the 401
    assert state.tokens == [OLD_TOKEN, OLD_TOKEN, NEW_TOKEN]  # the refused request, then one retry
    assert verifier.verify(*PERSON).matched is True
    assert reads == [arn, arn] and state.tokens[-1] == NEW_TOKEN  # the new token is kept


def test_a_401_with_no_new_token_in_the_secret_is_unavailable_after_one_read_and_no_retry(authority, secrets,
                                                                                         reads, caplog):
    url, bundle, state = authority
    arn = _create_secret(secrets, "idv-token-stale", OLD_TOKEN)
    verifier = _deployed_verifier(url, bundle, arn)
    state.accepted = NEW_TOKEN  # the authority moved on; nobody updated the secret
    with pytest.raises(IdentityServiceUnavailable) as refused:
        verifier.verify(*PERSON)
    assert reads == [arn, arn]
    assert state.tokens == [OLD_TOKEN]  # the same token again would only be refused again
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    logged = _logged(caplog)
    assert "identity_verifier_token_refused" in logged
    for text in (logged, str(refused.value), repr(refused.value), repr(verifier), repr(verifier._token_source)):
        assert OLD_TOKEN not in text and NEW_TOKEN not in text and PERSON[1] not in text


def test_the_cached_token_expires_and_a_rotated_secret_is_read_without_waiting_for_a_401(authority, secrets,
                                                                                         reads):
    url, bundle, state = authority
    arn = _create_secret(secrets, "idv-token-expiring", OLD_TOKEN)
    now = [1000.0]
    verifier = HttpsIdentityVerifier(url, SecretToken(aws.client("secretsmanager"), arn, ttl=600,
                                                      clock=lambda: now[0]), ca_bundle=bundle)
    assert verifier.verify(*PERSON).matched is True
    secrets.put_secret_value(SecretId=arn, SecretString=NEW_TOKEN)
    now[0] += 599  # still within the cache time: the old token, which the authority still takes
    assert verifier.verify(*PERSON).matched is True
    now[0] += 1
    state.accepted = NEW_TOKEN
    assert verifier.verify(*PERSON).matched is True
    assert reads == [arn, arn]
    assert state.tokens == [OLD_TOKEN, OLD_TOKEN, NEW_TOKEN]  # no 401 on the way


def test_a_secret_that_cannot_be_read_is_unavailable_and_nothing_is_sent(authority, secrets, reads, caplog):
    url, bundle, state = authority
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:idv-token-missing-AbCdEf"
    with pytest.raises(IdentityServiceUnavailable) as refused:
        _deployed_verifier(url, bundle, missing).verify(*PERSON)
    assert reads == [missing]
    assert state.tokens == []
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    [record] = [r for r in caplog.records if r.getMessage() == "identity_verifier_token_unreadable"]
    assert record.error == "ResourceNotFoundException"  # type: ignore[attr-defined]
