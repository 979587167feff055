"""A principal has exactly one kind, and a department principal exactly one department."""

from __future__ import annotations

import pytest

from chalicelib.domain.principals import Principal, PrincipalKind, principal_from_groups


@pytest.mark.parametrize("groups,kind", [
    (["citizens"], PrincipalKind.CITIZEN),
    (["enterprise-agents"], PrincipalKind.ENTERPRISE_AGENT),
    (["admins"], PrincipalKind.ADMIN),
    (["citizens", "some-unrelated-group"], PrincipalKind.CITIZEN),
])
def test_each_group_grants_its_kind(groups, kind):
    principal = principal_from_groups("sub-1", groups, "client-1")
    assert principal is not None
    assert principal.kind is kind
    assert principal.department is None
    assert principal.client_id == "client-1"


def test_a_department_group_binds_the_principal_to_that_department():
    principal = principal_from_groups("sub-1", ["dept:yq-amr"], "console")
    assert principal == Principal(sub="sub-1", kind=PrincipalKind.DEPARTMENT, department="yq-amr",
                                  client_id="console")


@pytest.mark.parametrize("groups", [
    ["citizens", "admins"],
    ["citizens", "dept:yq-amr"],
    ["admins", "dept:yq-amr"],
    ["dept:yq-amr", "dept:yq-tax"],
    [],
    ["unknown"],
    ["Citizens"],
])
def test_ambiguous_or_unknown_group_sets_give_no_principal(groups):
    assert principal_from_groups("sub-1", groups, "client-1") is None


def test_the_authorizer_context_round_trips():
    for principal in (
        Principal(sub="s", kind=PrincipalKind.DEPARTMENT, department="yq-amr", client_id="c"),
        Principal(sub="s", kind=PrincipalKind.CITIZEN, client_id="c"),
    ):
        context = principal.to_context()
        assert all(isinstance(v, str) for v in context.values())
        assert Principal.from_context(context) == principal
