"""API Gateway usage plans in the packaged application template: one plan per principal kind, its
own key per department machine client, keys read from the authorizer, and the authorizer naming
exactly the keys the template creates (a key it named but the template lacks would be a 403)."""

from __future__ import annotations

import re

import pytest

from chalicelib.config import Settings
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.domain.rate_limits import usage_plan_key
from chalicelib.entrypoints.auth import UsageAuthResponse
from infra.onetrip import usage_plans
from infra.onetrip.package import STAGE_SETTINGS, app_stack_name
from infra.onetrip.template import load_template

STATEFUL = load_template()


def _resources(packages, stage, kind):
    return {k: r for k, r in packages[stage].load_app()["Resources"].items() if r["Type"] == kind}


def _sub(value, stage):
    """Resolve the ${AWS::StackName} of a key's Fn::Sub for the application stack of `stage`."""
    return value["Fn::Sub"].replace("${AWS::StackName}", app_stack_name(stage))


def _deployed_settings(packages, stage) -> Settings:
    env = packages[stage].load_app()["Globals"]["Function"]["Environment"]["Variables"]
    return Settings(stage=stage, identity_verifier="https", usage_key_prefix=_sub(env["ONETRIP_USAGE_KEY_PREFIX"], stage),
                    usage_key_departments=tuple(env["ONETRIP_USAGE_KEY_DEPARTMENTS"].split(",")))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_principal_kind_has_a_plan_on_the_api_stage_within_the_stage_throttle(packages, stage):
    plans = _resources(packages, stage, "AWS::ApiGateway::UsagePlan")
    assert len(plans) == len(PrincipalKind)
    stage_settings = STAGE_SETTINGS[stage]
    for plan in plans.values():
        props = plan["Properties"]
        assert props["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
        assert 0 < props["Throttle"]["RateLimit"] <= stage_settings.throttle_rate
        assert props["Throttle"]["RateLimit"] <= props["Throttle"]["BurstLimit"] <= stage_settings.throttle_burst
    department = plans["UsagePlanDepartment"]["Properties"]
    assert department["Quota"]["Period"] == "DAY" and department["Quota"]["Limit"] > 0


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_department_machine_client_has_its_own_key_in_the_department_plan(packages, stage):
    codes = usage_plans.department_codes(STATEFUL)
    assert codes == ["yq-amr", "yq-realestate", "yq-tax"]  # the dept:<code> groups of the user pool
    links = _resources(packages, stage, "AWS::ApiGateway::UsagePlanKey")
    keys = _resources(packages, stage, "AWS::ApiGateway::ApiKey")
    plan_of = {link["Properties"]["KeyId"]["Ref"]: link["Properties"]["UsagePlanId"]["Ref"] for link in links.values()}
    assert set(plan_of) == set(keys)  # every key is in exactly one plan
    for code in codes:
        [key] = [k for k, r in keys.items() if _sub(r["Properties"]["Value"], stage).endswith(f"-department-{code}")]
        assert plan_of[key] == "UsagePlanDepartment"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_reads_keys_from_the_authorizer_and_every_protected_method_requires_one(packages, stage):
    api = packages[stage].load_app()["Resources"]["RestAPI"]["Properties"]
    swagger = api["DefinitionBody"]
    assert swagger["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    protected = public = 0
    for path, methods in swagger["paths"].items():
        for method, operation in methods.items():
            schemes = {name for entry in operation.get("security", []) for name in entry}
            if "jwt_authorizer" in schemes:
                protected += 1
                assert "api_key" in schemes, (method, path)
            else:
                public += 1
                assert "api_key" not in schemes, (method, path)  # no authorizer, no key: would be a 403
    assert protected > 0 and public > 0


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_authorizer_names_only_keys_the_template_creates(packages, stage):
    settings = _deployed_settings(packages, stage)
    values = {_sub(r["Properties"]["Value"], stage) for r in
              _resources(packages, stage, "AWS::ApiGateway::ApiKey").values()}
    assert all(len(v) >= 20 and re.fullmatch(r"[A-Za-z0-9-]+", v) for v in values)  # API Gateway's rules
    principals = [Principal(sub="s", kind=kind) for kind in PrincipalKind if kind is not PrincipalKind.DEPARTMENT]
    principals += [Principal(sub="s", kind=PrincipalKind.DEPARTMENT, department=code)
                   for code in ("yq-amr", "yq-tax", "yq-realestate", "registered-after-the-deploy")]
    named = {usage_plan_key(settings.usage_key_prefix, p, frozenset(settings.usage_key_departments))
             for p in principals}
    assert named <= values
    assert f"{app_stack_name(stage)}-usage-department" in named  # the department without its own key


def test_the_authorizer_response_carries_the_key_and_only_when_configured():
    from chalice.app import AuthRequest

    request = AuthRequest("TOKEN", "Bearer x", "arn:aws:execute-api:cn-north-1:1:api/api/GET/v1/me")
    with_key = UsageAuthResponse(routes=["*"], principal_id="s", usage_identifier_key="onetrip-dev-app-usage-citizen")
    assert with_key.to_dict(request)["usageIdentifierKey"] == "onetrip-dev-app-usage-citizen"
    assert "usageIdentifierKey" not in UsageAuthResponse(routes=["*"], principal_id="s").to_dict(request)
    local = Settings()
    assert usage_plan_key(local.usage_key_prefix, Principal(sub="s", kind=PrincipalKind.CITIZEN), frozenset()) is None
