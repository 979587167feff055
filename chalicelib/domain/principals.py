"""Who is calling: the principal the authorizer derived from a verified token.

The kind comes from the identity provider's groups; a department principal is bound to exactly one
department. Nothing here trusts a claim that the authorizer did not verify.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class PrincipalKind(StrEnum):
    CITIZEN = "citizen"
    ENTERPRISE_AGENT = "enterprise_agent"
    DEPARTMENT = "department"
    ADMIN = "admin"


# Group names in the user pool (infra/template.yaml) and the kind each one grants.
KIND_GROUPS: dict[str, PrincipalKind] = {
    "citizens": PrincipalKind.CITIZEN,
    "enterprise-agents": PrincipalKind.ENTERPRISE_AGENT,
    "admins": PrincipalKind.ADMIN,
}
DEPARTMENT_GROUP_PREFIX = "dept:"

APPLICANT_KINDS = frozenset({PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE_AGENT})


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    sub: str
    kind: PrincipalKind
    department: str | None = None
    client_id: str = ""

    def to_context(self) -> dict[str, str]:
        """Flat string map for the API Gateway authorizer context (it accepts only scalars)."""
        return {"sub": self.sub, "kind": self.kind.value, "department": self.department or "",
                "client_id": self.client_id}

    @classmethod
    def from_context(cls, context: dict[str, str]) -> Principal:
        return cls(sub=context["sub"], kind=PrincipalKind(context["kind"]),
                   department=context.get("department") or None, client_id=context.get("client_id", ""))


def principal_from_groups(sub: str, groups: list[str], client_id: str) -> Principal | None:
    """One kind per principal; ambiguous or unknown group sets give no principal at all."""
    kinds = {KIND_GROUPS[g] for g in groups if g in KIND_GROUPS}
    departments = [g[len(DEPARTMENT_GROUP_PREFIX):] for g in groups if g.startswith(DEPARTMENT_GROUP_PREFIX)]
    if departments:
        kinds.add(PrincipalKind.DEPARTMENT)
    if len(kinds) != 1 or len(departments) > 1:
        return None
    kind = kinds.pop()
    return Principal(sub=sub, kind=kind, department=departments[0] if departments else None, client_id=client_id)
