"""Seeding of the local stack: the sample catalogue, the departments, their webhook endpoints and the
verified identities of the demo applicants. It goes through the application's own use cases and
adapters (the same code an admin command will use), aimed at moto.

Local only: the identities come from a reference registry of demo people, and the endpoints point
at demo receivers on loopback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib.adapters.identity_verifier import registry_entry_index
from chalicelib.bootstrap import build_deps
from chalicelib.config import Settings
from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.departments import Department
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.services import catalogue, departments, identities
from infra.onetrip.moto_stack import client

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"

# The local stand-in for the authority's real-name service: demo people with valid test ID numbers
# (GB 11643 check characters, not real persons). The HTTPS adapter replaces it in deployed stages.
REFERENCE_REGISTRY = {
    "citizen-verified": {"name": "张三", "id_number": "11010519491231002X"},
    "agent": {"name": "王五", "id_number": "440524188001010014"},
    "citizen-unverified": {"name": "李四", "id_number": "330382199001011237"},
}
# Users whose identity is already verified when the stack starts; the others verify through
# POST /v1/me/identity against the registry.
PRE_VERIFIED = ("citizen-verified", "agent")

# What the demo endpoints subscribe to: the work itself. Deadline warnings are left out on purpose —
# with a 1-day item the local sweep (every 5 s) would warn at once and crowd the demo's timeline.
DELIVERED_EVENTS = ("onetrip.task.assigned", "onetrip.task.supplemented", "onetrip.case.withdrawn",
                    "onetrip.case.decided")


def load_catalogue() -> dict[str, Any]:
    """The sample catalogue (infra/seed/catalogue/*.yaml, which lints clean) and its departments:
    `departments` are those with a demo receiver (and a demo machine user), `other_departments` the rest."""
    from infra.onetrip.catalogue_files import CATALOGUE_DIR, load_departments, load_items

    listed = [{k: v for k, v in d.items() if k != "demo_receiver"} | {"_demo": bool(d.get("demo_receiver"))}
              for d in load_departments()]
    return {"departments": [{k: v for k, v in d.items() if k != "_demo"} for d in listed if d["_demo"]],
            "other_departments": [{k: v for k, v in d.items() if k != "_demo"} for d in listed if not d["_demo"]],
            "items": [i.model_dump(mode="json") for i in load_items(CATALOGUE_DIR)]}


def seed(outputs: Mapping[str, str], users: Mapping[str, Mapping[str, Any]],
         receiver_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Returns {"items": [...], "departments": {code: {"endpoint_id", "url", "secret"}}} — the secrets
    are handed to the local demo receivers only."""
    settings = Settings.from_environ()
    deps = build_deps(settings, lambda service: client(service, outputs["EndpointUrl"]))
    data = load_catalogue()
    items = [catalogue.publish_item(deps.store, ServiceItem.model_validate(i)).code for i in data["items"]]
    seeded: dict[str, Any] = {"items": items, "departments": {}}
    for raw in [*data["departments"], *data.get("other_departments", [])]:
        department = departments.register_department(deps, Department.model_validate(raw))
        url = (receiver_urls or {}).get(department.code)
        if url:
            endpoint, secret = departments.add_endpoint(deps, department.code, url, DELIVERED_EVENTS)
            seeded["departments"][department.code] = {"endpoint_id": endpoint.id, "url": url, "secret": secret}
    blind_index = deps.require("blind_index")
    for username, person in REFERENCE_REGISTRY.items():
        deps.store.put_registry_entry(registry_entry_index(blind_index, person["name"], person["id_number"]))
        if username in users and username in PRE_VERIFIED:
            identities.record_verified_identity(
                deps, users[username]["sub"], person["name"], person["id_number"], AssuranceLevel.L2,
                "reference_registry")
    return seeded
