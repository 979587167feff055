"""The caller's own account: who the bus thinks they are, real-name verification, and a copy of
everything it holds about them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import APPLICANT_KINDS, Principal, PrincipalKind, Scope
from ..domain.rate_limits import IDENTITY_CLASS
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import identities
    from . import identity_schemas
    from .identity_schemas import VerifyIdentity
else:
    identity_schemas = deferred("chalicelib.entrypoints.identity_schemas")
    identities = deferred("chalicelib.services.identities")

me = Blueprint(__name__)
EVERY_KIND = frozenset(PrincipalKind)


@api_route(me, "GET", "/v1/me", summary="Who I am to the bus: kind, binding, scopes, verified identity (masked)",
           kinds=EVERY_KIND, authorizer=jwt_authorizer, response=lambda: identity_schemas.MeView)
def get_me(principal: Principal, _body: None) -> dict[str, Any]:
    identity = deps().store.get_identity(principal.sub)
    return {"subject": principal.sub, "kind": principal.kind.value, "department": principal.department,
            "office": principal.office, "location": principal.location, "scopes": sorted(principal.scopes),
            "identity": identity.public_view() if identity else None}


@api_route(me, "POST", "/v1/me/identity", summary="Real-name verification (实名认证): raises assurance to L2",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer,
           body=lambda: identity_schemas.VerifyIdentity,
           response=lambda: identity_schemas.IdentityView,
           rate_class=IDENTITY_CLASS)  # identity probing: a few tries an hour
def verify_identity(principal: Principal, body: VerifyIdentity) -> dict[str, Any]:
    return identities.verify_identity(deps(), principal, body.name, body.id_number).public_view()


@api_route(me, "GET", "/v1/me/data", summary="Everything the bus holds about me (PIPL Art. 45), masked",
           kinds=APPLICANT_KINDS, scope=Scope.IDENTITY_OWN, authorizer=jwt_authorizer,
           response=lambda: identity_schemas.MyData)
def export_my_data(principal: Principal, _body: None) -> dict[str, Any]:
    return identities.my_data(deps(), principal)
