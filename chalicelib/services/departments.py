"""The department registry (admin): departments, their town offices, and their webhook endpoints.

An endpoint's URL passes the SSRF guard at registration (and again at every send); it starts
`pending`, and becomes `active` only when it answers a signed `onetrip.endpoint.verification` event
with 2xx — proof that the department controls it and holds the secret. Secrets and private keys are
generated here, returned once, and stored only as KMS ciphertexts bound to the endpoint.
"""

from __future__ import annotations

import secrets as _secrets
from typing import Any

from ..domain.departments import (
    MAX_ROTATION_GRACE_SECONDS,
    SUBSCRIBABLE_EVENT_TYPES,
    VERIFICATION_EVENT_TYPE,
    Department,
    Endpoint,
    EndpointState,
)
from ..domain.errors import Conflict, NotFound, Problem, ValidationFailed
from ..domain.ids import is_id, new_id
from ..domain.webhooks import cloud_event, generate_ed25519_key, generate_secret
from ..observability import logger
from ..ports import Page
from .alert_contacts import sync_alert_contacts
from .delivery import signed_headers
from .deps import Deps


def register_department(deps: Deps, department: Department) -> Department:
    """Store (or replace) the department, then subscribe its contacts to the delivery alerts (and
    unsubscribe those it no longer names). Registering it again repairs a half-done subscription."""
    before = deps.store.get_department(department.code)
    deps.store.put_department(department)
    sync_alert_contacts(deps, before, department)
    return department


def get_department(deps: Deps, code: str) -> tuple[Department, list[Endpoint]]:
    department = deps.store.get_department(code)
    if department is None:
        raise NotFound.of("department", code)
    return department, deps.store.list_endpoints(code)


def list_departments(deps: Deps, limit: int, cursor: str | None) -> Page:
    return deps.store.list_departments(limit, cursor)


def add_endpoint(
    deps: Deps, department: str, url: str, event_types: tuple[str, ...], state: EndpointState = EndpointState.ACTIVE,
    *, item_codes: tuple[str, ...] = (), ed25519: bool = False,
) -> tuple[Endpoint, str]:
    """Store an endpoint with a fresh secret (returned, shown once). The seed of the local stack uses it
    directly; admins go through `register_endpoint`, which checks the URL and verifies the endpoint."""
    endpoint, secret, _ = _new_endpoint(deps, department, url, event_types, state, item_codes, ed25519)
    deps.store.put_endpoint(endpoint)
    return endpoint, secret


def _new_endpoint(deps: Deps, department: str, url: str, event_types: tuple[str, ...], state: EndpointState,
                  item_codes: tuple[str, ...], ed25519: bool) -> tuple[Endpoint, str, str | None]:
    endpoint_id = new_id("ep_")
    context = {"endpoint": endpoint_id}
    secret = generate_secret()
    signing_key = public_key = None
    if ed25519:
        signing_key, public_key = generate_ed25519_key()
    endpoint = Endpoint(
        id=endpoint_id, department=department, url=url, event_types=event_types, item_codes=item_codes,
        state=state, secret_ciphertexts=(deps.cipher.encrypt(secret, context),),
        ed25519_ciphertext=deps.cipher.encrypt(signing_key, context) if signing_key else None,
        ed25519_public_key=public_key, created_at=deps.now().isoformat(timespec="milliseconds"),
    )
    return endpoint, secret, public_key


def _url_problems(deps: Deps, url: str) -> list[Problem]:
    checker = getattr(deps.webhooks, "check_url", None)
    reason = checker(url) if checker is not None else None
    if reason is None:
        return []
    return [Problem("endpoint_url_refused", "回调地址不被允许（须为 https 且不得指向内网、回环或链路本地地址）",
                    "The endpoint URL is refused (https only; no loopback, private or link-local addresses)",
                    "url", {"reason": reason})]


def register_endpoint(deps: Deps, department: str, url: str, event_types: tuple[str, ...],
                      item_codes: tuple[str, ...] = (), ed25519: bool = False) -> dict[str, Any]:
    """Admin registration: every problem at once, then a pending endpoint and its verification."""
    problems = _url_problems(deps, url)
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE_EVENT_TYPES))
    if unknown or not event_types:
        problems.append(Problem("event_types_invalid", "订阅的事件类型无效", "Unknown or no event types",
                                "event_types", {"unknown": unknown, "allowed": list(SUBSCRIBABLE_EVENT_TYPES)}))
    missing_items = [c for c in item_codes if deps.store.get_item(c) is None]
    if missing_items:
        problems.append(Problem("item_unknown", "事项不存在", "No such catalogue item", "item_codes",
                                {"unknown": missing_items}))
    if deps.store.get_department(department) is None:
        raise NotFound.of("department", department)
    if problems:
        raise ValidationFailed(problems=problems)
    endpoint, secret, public_key = _new_endpoint(deps, department, url, tuple(dict.fromkeys(event_types)),
                                                 EndpointState.PENDING, tuple(item_codes), ed25519)
    deps.store.put_endpoint(endpoint)
    verification = _verify(deps, endpoint)
    stored = deps.store.get_endpoint(department, endpoint.id) or endpoint
    out: dict[str, Any] = {"endpoint": stored.public_view(), "secret": secret, "verification": verification}
    if public_key:
        out["public_key"] = public_key
    return out


def _endpoint(deps: Deps, department: str, endpoint_id: str) -> Endpoint:
    endpoint = deps.store.get_endpoint(department, endpoint_id) if is_id(endpoint_id, "ep_") else None
    if endpoint is None:
        raise NotFound.of("endpoint", endpoint_id)
    return endpoint


def verify_endpoint(deps: Deps, department: str, endpoint_id: str) -> dict[str, Any]:
    endpoint = _endpoint(deps, department, endpoint_id)
    if endpoint.state is EndpointState.DISABLED:
        raise Conflict("回调地址已停用", "The endpoint is disabled", code="endpoint_disabled")
    result = _verify(deps, endpoint)
    return {"endpoint": (deps.store.get_endpoint(department, endpoint_id) or endpoint).public_view(),
            "verification": result}


def _verify(deps: Deps, endpoint: Endpoint) -> dict[str, Any]:
    """Send the signed test event; 2xx activates the endpoint. The URL is vetted again by the sender."""
    now = deps.now()
    event_id = new_id("evt_")
    body = cloud_event(event_id=event_id, event_type=VERIFICATION_EVENT_TYPE, source=f"/onetrip/{deps.settings.stage}",
                       subject=f"endpoints/{endpoint.id}", time_iso=now.isoformat(timespec="milliseconds"),
                       data={"endpoint_id": endpoint.id, "department": endpoint.department,
                             "challenge": _secrets.token_urlsafe(16)})
    wid = f"msg_{event_id.removeprefix('evt_')}_verify"
    result = deps.webhooks.send(endpoint.url, signed_headers(deps, endpoint, wid, body, now), body)
    ok = result.status is not None and 200 <= result.status < 300
    if ok and endpoint.state is EndpointState.PENDING:
        deps.store.put_endpoint(endpoint.model_copy(update={
            "state": EndpointState.ACTIVE, "verified_at": deps.now().isoformat(timespec="milliseconds")}))
    logger.info("endpoint_verification", extra={"endpoint_id": endpoint.id, "department": endpoint.department,
                                                "http_status": result.status, "error": result.error, "ok": ok})
    return {"webhook_id": wid, "ok": ok, "http_status": result.status, "error": result.error}


def rotate_secret(deps: Deps, department: str, endpoint_id: str, grace_seconds: int) -> dict[str, Any]:
    """A new secret (returned once) signs from now on; the previous ones keep signing for the grace
    period, so the department can switch its verifier without missing a webhook."""
    if not 0 <= grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise ValidationFailed(problems=[Problem("grace_invalid", "宽限期无效", "The grace period is invalid",
                                                 "grace_seconds", {"max": MAX_ROTATION_GRACE_SECONDS})])
    endpoint = _endpoint(deps, department, endpoint_id)
    secret = generate_secret()
    rotated = endpoint.rotated(deps.cipher.encrypt(secret, {"endpoint": endpoint.id}), deps.now(), grace_seconds)
    deps.store.put_endpoint(rotated)
    return {"endpoint": rotated.public_view(), "secret": secret}


def disable_endpoint(deps: Deps, department: str, endpoint_id: str) -> dict[str, Any]:
    endpoint = _endpoint(deps, department, endpoint_id)
    disabled = endpoint.model_copy(update={"state": EndpointState.DISABLED, "disabled_reason": "disabled by an admin"})
    deps.store.put_endpoint(disabled)
    return disabled.public_view()
