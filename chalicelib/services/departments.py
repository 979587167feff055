"""Registering departments and their webhook endpoints (admin and seeding)."""

from __future__ import annotations

from ..domain.departments import Department, Endpoint, EndpointState
from ..domain.ids import new_id
from ..domain.webhooks import generate_secret
from .deps import Deps


def register_department(deps: Deps, department: Department) -> Department:
    deps.store.put_department(department)
    return department


def add_endpoint(
    deps: Deps, department: str, url: str, event_types: tuple[str, ...], state: EndpointState = EndpointState.ACTIVE,
) -> tuple[Endpoint, str]:
    """Returns the endpoint and its signing secret, which is shown once and stored only encrypted."""
    endpoint_id = new_id("ep_")
    secret = generate_secret()
    endpoint = Endpoint(
        id=endpoint_id, department=department, url=url, event_types=event_types, state=state,
        secret_ciphertexts=(deps.cipher.encrypt(secret, {"endpoint": endpoint_id}),),
    )
    deps.store.put_endpoint(endpoint)
    return endpoint, secret
