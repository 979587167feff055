"""The identity verifier of a deployed stage: the application stack's parameters, the secret holding
its token (readable by the API handler's role alone), the API handler's environment (and no other
function's), the names chalicelib/config.py reads, and `onetrip deploy` refusing to start without a
URL and a token."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.identity_verifier import HttpsIdentityVerifier, SecretToken
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from infra.onetrip import cli
from infra.onetrip.deploy import Deployer, DeployError, Io
from infra.onetrip.identity_verifier import IdentityVerifierValues
from infra.onetrip.package import PARAMETERS

URL = "https://idv.example.gov.cn/v1/verify"
TOKEN = "s3cr3t-bearer-t0ken"
BUNDLE = "chalicelib/data/authority-ca.pem"
VERIFIER_PARAMETERS = ("IdentityVerifierUrl", "IdentityVerifierToken", "IdentityVerifierCaBundle")
PSEUDO = {"AWS::Region": "cn-north-1", "AWS::URLSuffix": "amazonaws.com.cn", "AWS::StackName": "onetrip-dev-app"}
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SECRET = "IdentityVerifierTokenSecret"
SECRET_ARN = "arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:IdentityVerifierTokenSecret-AbCdEf"


def _functions(template: dict[str, Any]) -> dict[str, Any]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def _identity_route_function(template: dict[str, Any]) -> str:
    """The function API Gateway invokes for POST /v1/me/identity, read from the API's definition."""
    integration = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]["/v1/me/identity"][
        "post"]["x-amazon-apigateway-integration"]
    [logical] = re.findall(r"\$\{(\w+)\.Arn\}", integration["uri"]["Fn::Sub"])
    return logical


def _references(node: Any, parameter: str, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every place in the template that reads `parameter` (Ref or ${parameter} in a Sub)."""
    found: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        if node.get("Ref") == parameter:
            found.append(path)
        sub = node.get("Fn::Sub")
        if isinstance(sub, str) and f"${{{parameter}}}" in sub:
            found.append(path)
        for key, value in node.items():
            found += _references(value, parameter, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _references(value, parameter, (*path, str(i)))
    return found


def _resolve(value: Any, template: dict[str, Any], parameters: dict[str, str]) -> str:
    """What CloudFormation would put in an environment variable (the intrinsics these templates use)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return parameters[value["Ref"]]
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: parameters[m.group(1)], value["Fn::Sub"])
    if "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        return _resolve(then if _holds(template["Conditions"][condition], template, parameters) else otherwise,
                        template, parameters)
    raise AssertionError(f"an intrinsic this test does not resolve: {value}")


def _holds(condition: dict[str, Any], template: dict[str, Any], parameters: dict[str, str]) -> bool:
    if "Fn::Not" in condition:
        [inner] = condition["Fn::Not"]
        return not _holds(inner, template, parameters)
    if "Fn::Equals" in condition:
        left, right = condition["Fn::Equals"]
        return _resolve(left, template, parameters) == _resolve(right, template, parameters)
    raise AssertionError(f"a condition this test does not evaluate: {condition}")


def _deployed_environment(template: dict[str, Any], logical: str, values: dict[str, str]) -> dict[str, str]:
    """The function's environment as SAM and CloudFormation build it: Globals, then its own variables."""
    parameters = {**PSEUDO, **{p: f"value-of-{p}" for p in PARAMETERS}, "AlarmEmail": "", SECRET: SECRET_ARN,
                  **values}
    variables = {**template["Globals"]["Function"]["Environment"]["Variables"],
                 **template["Resources"][logical]["Properties"]["Environment"]["Variables"]}
    return {name: _resolve(value, template, parameters) for name, value in variables.items()}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_app_stack_asks_for_an_https_url_and_a_hidden_token_with_no_defaults(packages, stage):
    declared = packages[stage].load_app()["Parameters"]
    url, token, bundle = (declared[name] for name in VERIFIER_PARAMETERS)
    assert "Default" not in url and "Default" not in token  # a deploy cannot forget them
    assert token["NoEcho"] is True and token.get("MinLength", 0) >= 1
    assert "NoEcho" not in url  # the URL is not a secret; the plan may show it

    def allowed(parameter: dict[str, Any], value: str) -> bool:  # CloudFormation matches the whole value
        return re.fullmatch(parameter["AllowedPattern"], value) is not None

    assert allowed(url, URL) and allowed(url, "https://10.1.2.3:8443/verify")
    for refused in ("http://idv.example.gov.cn/v1/verify", "https://", "idv.example.gov.cn", "ftp://idv/x",
                    "https://user:pw@idv.example.gov.cn/", "https://idv.example.gov.cn/a b", "HTTP://idv/x"):
        assert not allowed(url, refused), refused
    assert allowed(token, TOKEN) and allowed(token, "eyJhbGciOi.eyJzdWIi.c2ln==")
    assert not allowed(token, "two words") and not allowed(token, "line\nbreak")
    assert bundle["Default"] == "" and allowed(bundle, "") and allowed(bundle, BUNDLE)
    for refused in ("/etc/ssl/certs/ca.pem", "data/ca.pem", "chalicelib/data/ca.crt"):
        assert not allowed(bundle, refused), refused


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_function_serving_the_identity_route_receives_the_verifier_settings(packages, stage):
    template = packages[stage].load_app()
    serving = _identity_route_function(template)
    assert serving == "APIHandler"
    environment = ("Resources", serving, "Properties", "Environment", "Variables")
    for parameter in ("IdentityVerifierUrl", "IdentityVerifierCaBundle"):
        readers = {path[:5] for path in _references(template, parameter) if path[0] != "Conditions"}
        assert readers == {environment}, parameter
    # The token goes into the secret and nowhere else; the API handler's environment names the secret.
    assert _references(template, "IdentityVerifierToken") == [("Resources", SECRET, "Properties", "SecretString")]
    role = template["Resources"][serving]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert {path[:5] for path in _references(template, SECRET)} == {
        environment, ("Resources", role, "Properties", "Policies", "0")}
    variables = template["Resources"][serving]["Properties"]["Environment"]["Variables"]
    assert variables["ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET"] == {"Ref": SECRET}
    assert "ONETRIP_IDENTITY_VERIFIER_TOKEN" not in variables
    names = ("ONETRIP_IDENTITY_VERIFIER_URL", "ONETRIP_IDENTITY_VERIFIER_TOKEN",
             "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET", "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE")
    assert not set(names) & set(template["Globals"]["Function"]["Environment"]["Variables"])
    others = {k: fn for k, fn in _functions(template).items() if k != serving}
    assert {"JwtAuthorizer", "VerifyMaterial", "Dispatch", "Deliver"} <= set(others)
    for logical, fn in others.items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert not set(names) & set(variables), logical
        assert "IdentityVerifierToken" not in json.dumps(fn), logical
    assert "IdentityVerifierToken" not in json.dumps(template.get("Outputs", {}))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_token_is_kept_in_a_secret_of_the_app_stack_not_in_a_function_configuration(packages, stage):
    template = packages[stage].load_app()
    secret = template["Resources"][SECRET]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["SecretString"] == {"Ref": "IdentityVerifierToken"}
    # The account's aws/secretsmanager key: a customer key would need kms:Decrypt in the reader's policy.
    assert "KmsKeyId" not in secret["Properties"]
    env = _deployed_environment(template, "APIHandler", {
        "IdentityVerifierUrl": URL, "IdentityVerifierToken": TOKEN, "IdentityVerifierCaBundle": ""})
    assert env["ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET"] == SECRET_ARN
    assert TOKEN not in json.dumps(env)
    for logical, fn in _functions(template).items():  # what GetFunctionConfiguration shows, for every function
        assert TOKEN not in json.dumps(_deployed_environment(template, logical, {
            "IdentityVerifierUrl": URL, "IdentityVerifierToken": TOKEN, "IdentityVerifierCaBundle": ""})), logical


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_api_handlers_role_may_read_the_secret_and_only_that_secret(packages, stage):
    template = packages[stage].load_app()
    roles = {logical: fn["Properties"]["Role"]["Fn::GetAtt"][0] for logical, fn in _functions(template).items()}
    readers = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in _statements(resource):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("secretsmanager:") or a == "*" for a in actions):
                readers[logical] = (actions, statement["Resource"])
    assert list(readers) == [roles["APIHandler"]]
    actions, resource = readers[roles["APIHandler"]]
    assert actions == ["secretsmanager:GetSecretValue"]
    # One secret, by its ARN: `Ref` of a secret (or `${Secret}` in a Sub) is its ARN, never a wildcard.
    assert resource in ({"Ref": SECRET}, {"Fn::Sub": f"${{{SECRET}}}"})


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize(("bundle", "expected_bundle"), [("", ""), (BUNDLE, f"/var/task/{BUNDLE}")])
def test_the_api_handlers_packaged_environment_configures_the_https_verifier(packages, stage, bundle,
                                                                            expected_bundle):
    template = packages[stage].load_app()
    env = _deployed_environment(template, _identity_route_function(template), {
        "IdentityVerifierUrl": URL, "IdentityVerifierToken": TOKEN, "IdentityVerifierCaBundle": bundle})
    settings = Settings.from_environ(env)  # the names config.py reads, from the names the template sets
    assert settings.stage == stage
    assert settings.identity_verifier == "https"
    assert settings.identity_verifier_url == URL
    assert settings.identity_verifier_token == ""  # not in the environment: in the secret
    assert settings.identity_verifier_token_secret == SECRET_ARN
    assert settings.identity_verifier_ca_bundle == expected_bundle
    # The wiring reads the token from that secret, through a client built on the first read.
    secrets = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                    region_name="cn-north-1").client("secretsmanager")
    built: list[str] = []

    def make_client(service: str) -> Any:
        built.append(service)
        return secrets if service == "secretsmanager" else None

    verifier = build_deps(settings, make_client=make_client).identity_verifier
    assert isinstance(verifier, HttpsIdentityVerifier)
    assert (verifier._url, verifier._ca_bundle) == (URL, expected_bundle)
    source = verifier._token_source
    assert isinstance(source, SecretToken)
    assert built == []
    with Stubber(secrets) as stub:
        stub.add_response("get_secret_value", {"ARN": SECRET_ARN, "SecretString": TOKEN}, {"SecretId": SECRET_ARN})
        assert source.token() == TOKEN
        stub.assert_no_pending_responses()
    assert built == ["secretsmanager"]


# --------------------------------------------------------------------------- onetrip deploy

def _code(tmp_path: Path, files: dict[str, bytes]) -> Path:
    code = tmp_path / "deployment.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", b"")
        for name, content in files.items():
            archive.writestr(name, content)
    return code


def test_deploy_without_url_and_token_refuses_before_any_stack_is_touched(packages):
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="cn-north-1")
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    lines: list[str] = []
    io = Io(out=lines.append, ask=lambda _p: "yes", sleep=lambda _s: None, interactive=True)
    for values, expected in ((IdentityVerifierValues("", ""), ("ONETRIP_IDENTITY_VERIFIER_URL",
                                                                "ONETRIP_IDENTITY_VERIFIER_TOKEN")),
                             (IdentityVerifierValues("http://idv.example.gov.cn/v1/verify", TOKEN), ("https://",)),
                             (IdentityVerifierValues(URL, ""), ("ONETRIP_IDENTITY_VERIFIER_TOKEN",))):
        # No stubbed response: any call to CloudFormation or S3 would fail the test with another error.
        with Stubber(cfn) as stub, Stubber(s3):
            with pytest.raises(DeployError, match="nothing deployed") as refused:
                Deployer(cfn, s3, io, poll_seconds=0).deploy(packages["dev"], "cn-north-1", yes=True,
                                                             identity_verifier=values)
            stub.assert_no_pending_responses()
        for text in expected:
            assert text in str(refused.value)
    assert lines == []


def test_deploy_command_reads_the_token_from_the_shell_only_and_refuses_without_it(packages, monkeypatch,
                                                                                   capsys):
    for name in ("ONETRIP_IDENTITY_VERIFIER_URL", "ONETRIP_IDENTITY_VERIFIER_TOKEN",
                 "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    # Should the check ever be skipped, a call goes nowhere instead of to an AWS account.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    dist = str(packages["dev"].directory.parent)
    argv = ["deploy", "--stage", "dev", "--region", "cn-north-1", "--dist", dist, "--yes",
            "--identity-verifier-url", URL]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "nothing deployed" in err and "ONETRIP_IDENTITY_VERIFIER_TOKEN" in err
    assert "ONETRIP_IDENTITY_VERIFIER_URL" not in err  # the option supplied it
    with pytest.raises(SystemExit):  # a secret on the command line would end up in shell history
        cli.main([*argv, "--identity-verifier-token", TOKEN])


def test_values_come_from_options_over_the_shell_and_never_show_the_token(tmp_path):
    environ = {"ONETRIP_IDENTITY_VERIFIER_URL": "https://from-the-shell.example/v",
               "ONETRIP_IDENTITY_VERIFIER_TOKEN": f" {TOKEN}\n",
               "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE": BUNDLE}
    values = IdentityVerifierValues.from_environ(environ, url=URL, ca_bundle=None)
    assert values.parameters() == {"IdentityVerifierUrl": URL, "IdentityVerifierToken": TOKEN,
                                   "IdentityVerifierCaBundle": BUNDLE}
    assert IdentityVerifierValues.from_environ(environ).url == "https://from-the-shell.example/v"
    assert TOKEN not in repr(values)
    bad = IdentityVerifierValues(URL, "not a token")
    [problem] = bad.problems(_code(tmp_path, {}))
    assert "not a token" not in problem and "ONETRIP_IDENTITY_VERIFIER_TOKEN" in problem


def test_a_ca_bundle_must_be_a_pem_certificate_inside_the_package(tmp_path):
    code = _code(tmp_path, {BUNDLE: PEM, "chalicelib/data/empty.pem": b"not a certificate"})
    assert IdentityVerifierValues(URL, TOKEN, BUNDLE).problems(code) == []
    assert IdentityVerifierValues(URL, TOKEN, "").problems(code) == []
    for bundle, reason in (("chalicelib/data/other-ca.pem", "is not in deployment.zip"),
                           ("chalicelib/data/empty.pem", "holds no PEM certificate"),
                           ("chalicelib/../authority-ca.pem", "is not in deployment.zip"),
                           ("/etc/ssl/certs/ca-certificates.pem", "under chalicelib/")):
        [problem] = IdentityVerifierValues(URL, TOKEN, bundle).problems(code)
        assert reason in problem, bundle
