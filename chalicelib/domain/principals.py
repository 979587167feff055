"""Who is calling: the principal the authorizer derived from a verified token.

The kind comes from the identity provider's groups; department, window staff and terminal
principals are bound to exactly one department, office or location. Scopes say what a principal may
do; each route declares the kinds and the scope it accepts. Nothing here trusts a claim that the
authorizer did not verify.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class PrincipalKind(StrEnum):
    CITIZEN = "citizen"
    ENTERPRISE_AGENT = "enterprise_agent"
    DEPARTMENT = "department"
    WINDOW_STAFF = "window_staff"
    TERMINAL = "terminal"
    ADMIN = "admin"


# Group names in the user pool (infra/template.yaml) and the kind each one grants.
KIND_GROUPS: dict[str, PrincipalKind] = {
    "citizens": PrincipalKind.CITIZEN,
    "enterprise-agents": PrincipalKind.ENTERPRISE_AGENT,
    "admins": PrincipalKind.ADMIN,
}
# Groups that grant a kind bound to one place: `dept:yq-tax`, `window:yq-centre`, `terminal:yq-kiosk-01`.
DEPARTMENT_GROUP_PREFIX = "dept:"
BOUND_GROUP_PREFIXES: dict[str, PrincipalKind] = {
    DEPARTMENT_GROUP_PREFIX: PrincipalKind.DEPARTMENT,
    "window:": PrincipalKind.WINDOW_STAFF,
    "terminal:": PrincipalKind.TERMINAL,
}

APPLICANT_KINDS = frozenset({PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE_AGENT})


class Scope(StrEnum):
    CATALOGUE_READ = "catalogue:read"
    APPLICATIONS_OWN = "applications:own"
    IDENTITY_OWN = "identity:own"
    TASKS_DEPARTMENT = "tasks:department"
    ENTERPRISES_ADMIN = "enterprises:admin"
    ENTERPRISES_OWN = "enterprises:own"
    # Window staff and terminals: acceptance review at the counter, recording visits.
    CASES_COUNTER = "cases:counter"
    # Admins supervising cases: audit trails, escalated breaches, statistics.
    CASES_SUPERVISE = "cases:supervise"


# What each kind may do. Machine clients of a resource server (Cognito client credentials in AWS)
# may carry narrower OAuth scopes in the token; the principal then gets only their intersection.
KIND_SCOPES: dict[PrincipalKind, frozenset[Scope]] = {
    PrincipalKind.CITIZEN: frozenset({Scope.CATALOGUE_READ, Scope.APPLICATIONS_OWN, Scope.IDENTITY_OWN,
                                      Scope.ENTERPRISES_OWN}),
    PrincipalKind.ENTERPRISE_AGENT: frozenset({Scope.CATALOGUE_READ, Scope.APPLICATIONS_OWN, Scope.IDENTITY_OWN}),
    PrincipalKind.DEPARTMENT: frozenset({Scope.CATALOGUE_READ, Scope.TASKS_DEPARTMENT}),
    PrincipalKind.WINDOW_STAFF: frozenset({Scope.CATALOGUE_READ, Scope.CASES_COUNTER}),
    PrincipalKind.TERMINAL: frozenset({Scope.CATALOGUE_READ, Scope.CASES_COUNTER}),
    PrincipalKind.ADMIN: frozenset({Scope.CATALOGUE_READ, Scope.ENTERPRISES_ADMIN, Scope.CASES_SUPERVISE}),
}
RESOURCE_SERVER = "onetrip/"


class Principal(BaseModel, defer_build=True):
    model_config = ConfigDict(frozen=True)

    sub: str
    kind: PrincipalKind
    department: str | None = None
    office: str | None = None
    location: str | None = None
    client_id: str = ""
    username: str = ""
    scopes: frozenset[Scope] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _default_scopes(cls, data: Any) -> Any:
        if isinstance(data, dict) and "scopes" not in data and "kind" in data:
            data = {**data, "scopes": KIND_SCOPES[PrincipalKind(str(data["kind"]))]}
        return data

    @property
    def binding(self) -> str | None:
        return self.department or self.office or self.location

    def actor(self) -> dict[str, str]:
        """Who acted, as the audit trail records it: opaque subject, kind and binding — no name."""
        return {"sub": self.sub, "kind": self.kind.value, **({"binding": self.binding} if self.binding else {})}

    def to_context(self) -> dict[str, str]:
        """Flat string map for the API Gateway authorizer context (it accepts only scalars)."""
        return {"sub": self.sub, "kind": self.kind.value, "department": self.department or "",
                "office": self.office or "", "location": self.location or "", "client_id": self.client_id,
                "username": self.username, "scopes": " ".join(sorted(self.scopes))}

    @classmethod
    def from_context(cls, context: dict[str, str]) -> Principal:
        kind = PrincipalKind(context["kind"])
        scopes = context.get("scopes")
        return cls(sub=context["sub"], kind=kind, department=context.get("department") or None,
                   office=context.get("office") or None, location=context.get("location") or None,
                   client_id=context.get("client_id", ""), username=context.get("username", ""),
                   scopes=frozenset(Scope(s) for s in scopes.split()) if scopes is not None else KIND_SCOPES[kind])


def principal_from_groups(sub: str, groups: list[str], client_id: str, *, username: str = "",
                          token_scopes: str = "") -> Principal | None:
    """One kind per principal, bound to at most one place; ambiguous or unknown group sets give no
    principal at all."""
    kinds = {KIND_GROUPS[g] for g in groups if g in KIND_GROUPS}
    bindings: dict[PrincipalKind, list[str]] = {}
    for group in groups:
        for prefix, kind in BOUND_GROUP_PREFIXES.items():
            if group.startswith(prefix) and len(group) > len(prefix):
                bindings.setdefault(kind, []).append(group[len(prefix):])
                kinds.add(kind)
    if len(kinds) != 1 or any(len(places) > 1 for places in bindings.values()):
        return None
    kind = kinds.pop()
    place = bindings.get(kind, [None])[0]
    scopes = KIND_SCOPES[kind]
    requested = {s.removeprefix(RESOURCE_SERVER) for s in token_scopes.split() if s.startswith(RESOURCE_SERVER)}
    if requested:
        scopes = frozenset(s for s in scopes if s.value in requested)
    return Principal(
        sub=sub, kind=kind, client_id=client_id, username=username, scopes=scopes,
        department=place if kind is PrincipalKind.DEPARTMENT else None,
        office=place if kind is PrincipalKind.WINDOW_STAFF else None,
        location=place if kind is PrincipalKind.TERMINAL else None,
    )
