"""API Gateway usage plans: throttling per principal kind and, for machine clients, per department.

The API takes its usage-plan key from the authorizer (`x-amazon-apigateway-api-key-source:
AUTHORIZER`); every protected method requires one. The authorizer names the key from the verified
principal (chalicelib.domain.rate_limits.usage_plan_key), so no client ever holds or sends a key and
a key value is a name, not a secret. People share their kind's key: the plan caps that kind's share
of the API (a bulkhead: a flood of citizens cannot starve the departments). Each department in the
user pool (a `dept:<code>` group in infra/template.yaml) has its own key in the department plan, with
its own throttle and daily quota; a department added later without a key shares the plan's fallback
key until the next deploy. Fairness between individual people is the per-principal limiter's job
(chalicelib/services/rate_limits.py), which API Gateway cannot do for millions of users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.domain.rate_limits import usage_key_name


@dataclass(frozen=True)
class PlanLimits:
    rate: int               # requests per second, steady (per key)
    burst: int
    quota_per_day: int | None = None


# Production figures (the stage throttle is 500/s, burst 1000); dev gets a tenth.
PROD_PLANS: dict[PrincipalKind, PlanLimits] = {
    PrincipalKind.CITIZEN: PlanLimits(300, 600),
    PrincipalKind.ENTERPRISE_AGENT: PlanLimits(100, 200),
    PrincipalKind.DEPARTMENT: PlanLimits(50, 100, quota_per_day=200_000),  # per department
    PrincipalKind.WINDOW_STAFF: PlanLimits(50, 100),
    PrincipalKind.TERMINAL: PlanLimits(50, 100),
    PrincipalKind.ADMIN: PlanLimits(20, 40),
}
DEV_FACTOR = 10


def plans(stage: str) -> dict[PrincipalKind, PlanLimits]:
    if stage == "prod":
        return dict(PROD_PLANS)
    return {kind: PlanLimits(max(1, p.rate // DEV_FACTOR), max(2, p.burst // DEV_FACTOR),
                             p.quota_per_day // DEV_FACTOR if p.quota_per_day else None)
            for kind, p in PROD_PLANS.items()}


def department_codes(stateful: dict[str, Any]) -> list[str]:
    """Departments with machine users: the `dept:<code>` groups of the user pool."""
    codes = []
    for resource in stateful["Resources"].values():
        name = resource.get("Properties", {}).get("GroupName", "") if resource["Type"] == \
            "AWS::Cognito::UserPoolGroup" else ""
        if isinstance(name, str) and name.startswith("dept:"):
            codes.append(name.removeprefix("dept:"))
    return sorted(codes)


def _logical(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for part in parts for p in re.split(r"[^A-Za-z0-9]+", part) if p)


KEY_PREFIX = "${AWS::StackName}-usage-"  # resolved by CloudFormation; the authorizer gets it resolved


def key_names(departments: list[str]) -> dict[str, tuple[PrincipalKind, str]]:
    """Key name (the part after the prefix) -> (its plan's kind, logical id stem)."""
    names = {usage_key_name(Principal(sub="-", kind=kind), frozenset()): (kind, _logical(kind.value))
             for kind in PrincipalKind}
    for code in departments:
        department = Principal(sub="-", kind=PrincipalKind.DEPARTMENT, department=code)
        names[usage_key_name(department, frozenset({code}))] = (PrincipalKind.DEPARTMENT, _logical("dept", code))
    return names


def apply(stage: str, template: dict[str, Any], stateful: dict[str, Any]) -> None:
    """Add the plans, keys and their wiring to the merge template of `infra.onetrip.package`."""
    departments = department_codes(stateful)
    resources = template["Resources"]
    for kind, limits in plans(stage).items():
        plan: dict[str, Any] = {
            "UsagePlanName": {"Fn::Sub": f"${{AWS::StackName}}-{kind.value.replace('_', '-')}"},
            "Description": f"OneTrip {kind.value} requests" + (" (per department)" if kind is
                                                                PrincipalKind.DEPARTMENT else " (all together)"),
            "ApiStages": [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}],
            "Throttle": {"RateLimit": limits.rate, "BurstLimit": limits.burst},
        }
        if limits.quota_per_day:
            plan["Quota"] = {"Limit": limits.quota_per_day, "Period": "DAY"}
        resources[f"UsagePlan{_logical(kind.value)}"] = {"Type": "AWS::ApiGateway::UsagePlan", "Properties": plan}
    for name, (kind, stem) in key_names(departments).items():
        resources[f"UsageKey{stem}"] = {"Type": "AWS::ApiGateway::ApiKey", "Properties": {
            "Enabled": True, "Name": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "Value": {"Fn::Sub": KEY_PREFIX + name},
            "Description": "Usage-plan key named by the authorizer (never given to a client)"}}
        resources[f"UsagePlanKey{stem}"] = {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {
            "KeyId": {"Ref": f"UsageKey{stem}"}, "KeyType": "API_KEY",
            "UsagePlanId": {"Ref": f"UsagePlan{_logical(kind.value)}"}}}
    api = resources.setdefault("RestAPI", {}).setdefault("Properties", {})
    api.setdefault("DefinitionBody", {})["x-amazon-apigateway-api-key-source"] = "AUTHORIZER"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    env["ONETRIP_USAGE_KEY_PREFIX"] = {"Fn::Sub": KEY_PREFIX}
    env["ONETRIP_USAGE_KEY_DEPARTMENTS"] = ",".join(departments)
