"""Who used my data: the access record of every department read of a case's materials, and the owner's
view of the log (`GET /v1/me/access-log`).

`task_material_links` is what a department's task detail shows: a link to every material of the
case, uploaded or obtained (a vault copy or an e-certificate), and the access record of that read,
written before any link is handed out.
"""

from __future__ import annotations

from typing import Any

from ..domain import vault as rules_vault
from ..domain.access_log import AccessedMaterial, department_read
from ..domain.applications import Application, DepartmentTask, MaterialStatus
from ..domain.errors import Forbidden, NotFound
from ..domain.principals import Principal, PrincipalKind
from ..ports import Page
from .deps import Deps


def reader_owner(deps: Deps, principal: Principal, enterprise_id: str | None) -> str:
    """Whose log (or certificates) the caller reads: their own; an agent also an enterprise's it holds
    a current authorization for (to others that enterprise does not exist)."""
    if enterprise_id is None:
        return f"sub:{principal.sub}"
    if principal.kind is not PrincipalKind.ENTERPRISE_AGENT:
        raise Forbidden("只有企业经办人可以查看企业的记录", "Only an enterprise agent reads an enterprise's records",
                        code="enterprise_not_allowed")
    authorization = deps.store.get_authorization(principal.sub, enterprise_id)
    if authorization is None or deps.now().date() > authorization.valid_until:
        raise NotFound.of("enterprise", enterprise_id)
    return f"ent:{enterprise_id}"


def my_access_log(deps: Deps, principal: Principal, limit: int, cursor: str | None,
                  enterprise_id: str | None = None) -> Page:
    return deps.store.list_access_records(reader_owner(deps, principal, enterprise_id), limit, cursor)


def task_material_links(deps: Deps, principal: Principal, task: DepartmentTask,
                        app: Application) -> list[dict[str, Any]]:
    """A short-lived presigned GET (or, for an e-certificate the bus does not hold a copy of, its
    registry facts) for every verified material, uploaded or obtained; the read is recorded in the
    owner's access log first."""
    ttl = deps.settings.download_url_ttl_seconds
    links: list[dict[str, Any]] = []
    accessed: list[AccessedMaterial] = []
    for slot in app.materials.values():
        if slot.status is not MaterialStatus.VERIFIED:
            continue
        link: dict[str, Any] = {
            "code": slot.code, "content_type": slot.content_type, "size": slot.size, "sha256": slot.sha256,
            "file_name": slot.file_name, "notices": [n["code"] for n in slot.notices]}
        if slot.certificate_id:
            cert = deps.store.get_certificate(slot.certificate_id)
            link.update(source="e_certificate", certificate_id=slot.certificate_id, certificate=(
                {k: v for k, v in cert.public_view().items() if k not in ("holder_kind", "holder_masked")}
                if cert else None))
            accessed.append(AccessedMaterial(code=slot.code, source="e_certificate", sha256=slot.sha256,
                                             certificate_id=slot.certificate_id))
        elif slot.sealed_key:
            source = "vault" if slot.reused_from else "upload"
            link.update(source=source, reused_from=slot.reused_from)
            accessed.append(AccessedMaterial(code=slot.code, source=source, sha256=slot.sha256,
                                             reused_from=slot.reused_from))
        else:
            continue
        link.update(download_url=deps.files.presigned_get(slot.sealed_key, ttl) if slot.sealed_key else None,
                    download_expires_in=ttl if slot.sealed_key else None)
        links.append(link)
    if accessed:
        deps.store.add_access_record(department_read(
            rules_vault.owner_of(app), principal.actor(), deps.now(), application_id=app.id,
            item_code=app.item_code, case_number=app.case.case_number if app.case else None, task_id=task.id,
            materials=accessed))
    return links
