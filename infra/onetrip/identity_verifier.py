"""The identity verifier (实名认证) of a deployed stage: three parameters of the application stack,
their place in the API handler's environment, and the values `onetrip deploy` supplies.

Deployed stages select `ONETRIP_IDENTITY_VERIFIER=https` (.chalice/config.json); the function that
answers `POST /v1/me/identity` then needs the authority's URL, its bearer token and, optionally, a CA
bundle shipped in the code. Only the API handler serves that route, so only its environment gets
them: the authorizer and the stream, queue and sweep functions never see the token. The token itself
is not in any function's configuration (where `lambda:GetFunctionConfiguration` would show it): the
stack keeps it in a Secrets Manager secret, the API handler's environment names the secret's ARN, and
only the API handler's role may read that one secret (.chalice/policy-api-handler.json). The variable
names are the ones chalicelib/config.py `Settings.from_environ` reads.

The admin supplies the values from the shell that deploys: the URL and the bundle as options or
variables, the token only as a variable (a command line ends up in shell history and `ps`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

URL_PARAMETER = "IdentityVerifierUrl"
TOKEN_PARAMETER = "IdentityVerifierToken"
CA_BUNDLE_PARAMETER = "IdentityVerifierCaBundle"
PARAMETER_NAMES = (URL_PARAMETER, TOKEN_PARAMETER, CA_BUNDLE_PARAMETER)

# The secret holding the token (its Ref is its ARN); the API handler's policy file names it.
TOKEN_SECRET = "IdentityVerifierTokenSecret"

URL_VARIABLE = "ONETRIP_IDENTITY_VERIFIER_URL"
TOKEN_VARIABLE = "ONETRIP_IDENTITY_VERIFIER_TOKEN"  # the deploying shell's; local runs' function environment
TOKEN_SECRET_VARIABLE = "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET"
CA_BUNDLE_VARIABLE = "ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE"

# CloudFormation matches AllowedPattern against the whole value (Java regex); these constructs mean the
# same in Python, so the deploy checks a value with the very pattern the stack will apply.
URL_PATTERN = r"^https://[^\s/?#@]+(/\S*)?$"  # a host, no credentials in it, no whitespace
TOKEN_PATTERN = r"^[A-Za-z0-9._~+/-]+=*$"  # RFC 6750 b64token: nothing that could break the header
CA_BUNDLE_PATTERN = r"^(chalicelib/[A-Za-z0-9_./-]+\.pem)?$"  # `chalice package` ships chalicelib/

# Lambda unpacks a zip function's code here (LAMBDA_TASK_ROOT): the bundle's path does not depend on
# the working directory the runtime happens to start in.
TASK_ROOT = "/var/task"
HAS_CA_BUNDLE = "HasIdentityVerifierCaBundle"
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


def parameters() -> dict[str, Any]:
    """The application stack's parameters. No defaults for the URL and the token: a deploy that
    forgets them is refused by CloudFormation too, not left with a verifier that fails every check."""
    return {
        URL_PARAMETER: {
            "Type": "String", "AllowedPattern": URL_PATTERN,
            "ConstraintDescription": "must be an https:// URL (the authority's identity verification service)",
            "Description": "The identity verification service (实名认证) the API handler calls, https only"},
        TOKEN_PARAMETER: {
            "Type": "String", "NoEcho": True, "MinLength": 1, "AllowedPattern": TOKEN_PATTERN,
            "ConstraintDescription": "must be a bearer token (letters, digits, -._~+/ and = padding)",
            "Description": "Bearer token for the identity verification service (secret)"},
        CA_BUNDLE_PARAMETER: {
            "Type": "String", "Default": "", "AllowedPattern": CA_BUNDLE_PATTERN,
            "ConstraintDescription": "must be empty or a .pem file under chalicelib/ in the package",
            "Description": "PEM CA bundle in the package (e.g. chalicelib/data/authority-ca.pem) the service's "
                           "certificate is verified against; empty: the system trust store"},
    }


def conditions() -> dict[str, Any]:
    return {HAS_CA_BUNDLE: {"Fn::Not": [{"Fn::Equals": [{"Ref": CA_BUNDLE_PARAMETER}, ""]}]}}


def resources() -> dict[str, Any]:
    """The secret holding the token, encrypted with the account's aws/secretsmanager key (a role allowed
    GetSecretValue on it needs no KMS grant). Unnamed: a deleted stack's secret waits out its recovery
    window under its generated name, not one a new stack would want again. Deleted with its stack: every
    deploy supplies the token again, and a kept copy would be a credential no stack accounts for. A deploy
    with another token stores a new version; the functions pick it up within their cache time, or at the
    authority's first 401."""
    return {TOKEN_SECRET: {"Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Delete",
                           "UpdateReplacePolicy": "Delete", "Properties": {
        "Description": {"Fn::Sub": "Bearer token of the identity verification service (${AWS::StackName})"},
        "SecretString": {"Ref": TOKEN_PARAMETER}}}}


def environment() -> dict[str, Any]:
    """The variables merged into the API handler's Environment.Variables (and nowhere else)."""
    return {
        URL_VARIABLE: {"Ref": URL_PARAMETER},
        TOKEN_SECRET_VARIABLE: {"Ref": TOKEN_SECRET},
        CA_BUNDLE_VARIABLE: {"Fn::If": [HAS_CA_BUNDLE, {"Fn::Sub": f"{TASK_ROOT}/${{{CA_BUNDLE_PARAMETER}}}"}, ""]},
    }


@dataclass(frozen=True)
class IdentityVerifierValues:
    """What one deploy passes to the three parameters."""

    url: str
    token: str = field(repr=False)
    ca_bundle: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, url: str | None = None,
                     ca_bundle: str | None = None) -> IdentityVerifierValues:
        """Options win over the shell's variables; the token comes from the shell only."""
        return cls(url=(url if url is not None else environ.get(URL_VARIABLE, "")).strip(),
                   token=environ.get(TOKEN_VARIABLE, "").strip(),
                   ca_bundle=(ca_bundle if ca_bundle is not None else environ.get(CA_BUNDLE_VARIABLE, "")).strip())

    def problems(self, code: Path) -> list[str]:
        """Every reason the stack would refuse these values or the function could not use them; the
        token is never quoted."""
        out = []
        if not self.url:
            out.append(f"no identity verifier URL: pass --identity-verifier-url or set {URL_VARIABLE}")
        elif not re.fullmatch(URL_PATTERN, self.url):
            out.append("the identity verifier URL must be https://<host>[/<path>] (no credentials, no spaces)")
        if not self.token:
            out.append(f"no identity verifier token: set {TOKEN_VARIABLE} in the shell that deploys "
                       "(it is a secret: there is no option for it)")
        elif not re.fullmatch(TOKEN_PATTERN, self.token):
            out.append(f"{TOKEN_VARIABLE} is not a bearer token (letters, digits, -._~+/ and = padding)")
        if self.ca_bundle:
            if not re.fullmatch(CA_BUNDLE_PATTERN, self.ca_bundle):
                out.append("the identity verifier CA bundle must be a .pem file under chalicelib/, as a path "
                           "inside the package (e.g. chalicelib/data/authority-ca.pem)")
            else:
                out.extend(_bundle_problems(code, self.ca_bundle))
        return out

    def parameters(self) -> dict[str, str]:
        return {URL_PARAMETER: self.url, TOKEN_PARAMETER: self.token, CA_BUNDLE_PARAMETER: self.ca_bundle}


def _bundle_problems(code: Path, path: str) -> list[str]:
    with zipfile.ZipFile(code) as archive:
        try:
            content = archive.read(path)
        except KeyError:
            return [f"{path} is not in {code.name}: add the file, run `onetrip package` again"]
    if PEM_CERTIFICATE not in content:
        return [f"{path} in {code.name} holds no PEM certificate"]
    return []


def add_arguments(parser: Any) -> None:
    parser.add_argument("--identity-verifier-url", default=None, metavar="URL",
                        help=f"the authority's identity verification service, https only (default: ${URL_VARIABLE}; "
                             f"the bearer token is read from ${TOKEN_VARIABLE} only)")
    parser.add_argument("--identity-verifier-ca-bundle", default=None, metavar="PATH",
                        help="PEM CA bundle inside the package, e.g. chalicelib/data/authority-ca.pem "
                             f"(default: ${CA_BUNDLE_VARIABLE}, else the system trust store)")
