"""Where the HTTPS identity verifier's bearer token comes from: the token itself
(ONETRIP_IDENTITY_VERIFIER_TOKEN, local runs and tests) or the ARN of the Secrets Manager secret that
holds it (ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET, deployed stages). One of them, never both, and the
wiring reads nothing before the first verification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.identity_verifier import (
    FixedToken,
    HttpsIdentityVerifier,
    IdentityServiceUnavailable,
    SecretToken,
)
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings

ROOT = Path(__file__).resolve().parents[2]
URL = "https://idv.example.gov.cn/v1/verify"
TOKEN = "unit-bearer-token"
ARN = "arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:IdentityVerifierTokenSecret-AbCdEf"
HTTPS = {"ONETRIP_STAGE": "dev", "ONETRIP_IDENTITY_VERIFIER": "https", "ONETRIP_IDENTITY_VERIFIER_URL": URL}


def test_both_the_token_and_its_secret_are_refused_naming_both_variables():
    with pytest.raises(ValueError, match="not both") as refused:
        Settings.from_environ({**HTTPS, "ONETRIP_IDENTITY_VERIFIER_TOKEN": TOKEN,
                               "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET": ARN})
    text = str(refused.value)
    assert "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET" in text and "ONETRIP_IDENTITY_VERIFIER_TOKEN " in text
    assert TOKEN not in text


def test_a_configured_url_with_neither_the_token_nor_its_secret_is_refused():
    with pytest.raises(ValueError, match="ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET") as refused:
        Settings.from_environ(HTTPS)
    assert "ONETRIP_IDENTITY_VERIFIER_TOKEN" in str(refused.value)


def test_either_one_alone_is_accepted():
    from_secret = Settings.from_environ({**HTTPS, "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET": ARN})
    assert (from_secret.identity_verifier_token_secret, from_secret.identity_verifier_token) == (ARN, "")
    as_is = Settings.from_environ({**HTTPS, "ONETRIP_IDENTITY_VERIFIER_TOKEN": TOKEN})
    assert (as_is.identity_verifier_token_secret, as_is.identity_verifier_token) == ("", TOKEN)


def test_functions_without_the_verifier_need_neither():
    # Every deployed function selects the https verifier (.chalice/config.json); only the API handler
    # gets its URL and secret. The others must still read their settings.
    settings = Settings.from_environ({"ONETRIP_STAGE": "dev", "ONETRIP_IDENTITY_VERIFIER": "https"})
    assert (settings.identity_verifier_url, settings.identity_verifier_token_secret) == ("", "")


def test_no_repr_shows_the_token():
    settings = Settings.from_environ({**HTTPS, "ONETRIP_IDENTITY_VERIFIER_TOKEN": TOKEN})
    verifier = build_deps(settings, make_client=lambda _service: None).identity_verifier
    assert isinstance(verifier, HttpsIdentityVerifier)
    assert isinstance(verifier._token_source, FixedToken) and verifier._token_source.token() == TOKEN
    for text in (repr(settings), str(settings), repr(verifier), repr(verifier._token_source)):
        assert TOKEN not in text


def _secrets_client() -> Any:
    return boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                 region_name="cn-north-1").client("secretsmanager")


def test_wiring_the_secret_builds_no_client_until_the_token_is_needed():
    built: list[str] = []
    secrets = _secrets_client()

    def make_client(service: str) -> Any:
        built.append(service)
        return secrets

    settings = Settings.from_environ({**HTTPS, "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET": ARN})
    verifier = build_deps(settings, make_client=make_client).identity_verifier
    assert built == []
    with Stubber(secrets) as stub:
        stub.add_response("get_secret_value", {"ARN": ARN, "SecretString": f"{TOKEN}\n"}, {"SecretId": ARN})
        assert verifier._token_source.token() == TOKEN  # a trailing newline from the console is not the token
        assert verifier._token_source.token() == TOKEN  # cached
    assert built == ["secretsmanager"]


def test_wiring_the_secret_imports_no_sdk_at_cold_start():
    code = ("import sys\nimport app\nfrom chalicelib.bootstrap import build_deps\nfrom chalicelib.config import Settings\n"
            f"s = Settings.from_environ({HTTPS!r} | {{'ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET': {ARN!r}}})\n"
            "build_deps(s)\n"
            "print(','.join(m for m in ('boto3', 'botocore.session', 'botocore.client', 'urllib.request') "
            "if m in sys.modules) or '-')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "-"


@pytest.mark.parametrize("answer", [{"ARN": ARN, "SecretBinary": b"x"}, {"ARN": ARN, "SecretString": "  "}])
def test_a_secret_without_a_token_is_unavailable(answer):
    secrets = _secrets_client()
    with Stubber(secrets) as stub:
        stub.add_response("get_secret_value", answer, {"SecretId": ARN})
        with pytest.raises(IdentityServiceUnavailable):
            SecretToken(secrets, ARN).token()


def test_a_fresh_read_is_made_even_within_the_cache_time():
    secrets = _secrets_client()
    with Stubber(secrets) as stub:
        for value in ("first", "second"):
            stub.add_response("get_secret_value", {"ARN": ARN, "SecretString": value}, {"SecretId": ARN})
        source = SecretToken(secrets, ARN, ttl=600, clock=lambda: 0.0)
        assert source.token() == "first" and source.token() == "first"
        assert source.token(fresh=True) == "second"
        stub.assert_no_pending_responses()
    assert "first" not in repr(source) and "second" not in repr(source)
