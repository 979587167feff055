"""Once-only use cases (一次提交、多次复用): keep verified materials, offer them, reuse them with consent.

`keep_verified` is the verdict write of `verify_material`: a reusable material enters its owner's
vault in the verdict's own transaction. `offers` lists, for a draft, the vault entries and the
e-certificates (电子证照) that can fill its materials, each with a short-lived preview link.
`reuse_material` fills one slot from either source — only with explicit consent, and with a consent
receipt in the owner's access log written in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import applications as rules
from ..domain import vault as rules_vault
from ..domain.access_log import AccessedMaterial, AccessRecord, consent_record
from ..domain.applications import Application
from ..domain.catalogue import MaterialSpec, ServiceItem
from ..domain.certificates import Certificate, use_certificate, use_problems
from ..domain.checklist import applies
from ..domain.conditions import validate_answers
from ..domain.errors import NotFound, Problem, ValidationFailed
from ..domain.events import DomainEvent
from ..domain.ids import is_id
from ..domain.principals import Principal
from .applications import get_own_application, pinned_item
from .deps import Deps, retry_on_conflict

VAULT = "vault"
E_CERTIFICATE = "e_certificate"


def keep_verified(deps: Deps, app: Application, expected_version: int, events: list[DomainEvent],
                  spec: MaterialSpec) -> Application:
    """Save a verdict; a verified reusable material goes into its owner's vault in the same transaction
    (kept once per content: a redelivered or repeated verification changes nothing there)."""
    entry = rules_vault.entry_for(app, spec, deps.now())
    if entry is None:
        return deps.store.save_application_with_events(app, expected_version, events)
    return deps.store.save_application_with_evidence(app, expected_version, events, [entry], [])


def relevant_materials(item: ServiceItem, app: Application) -> list[MaterialSpec]:
    """Every material this applicant may provide: all but the conditional ones whose condition does
    not hold over the answers given so far."""
    typed, _ = validate_answers(item.form, app.answers)
    return [spec for spec in item.materials if applies(spec.condition, typed)]


def holder_index_of(deps: Deps, app: Application) -> str | None:
    """The blind index certificates of this application's owner are registered under: the enterprise's
    credit code for an agent's application, else the applicant's verified ID number."""
    if app.enterprise and app.enterprise.get("id"):
        enterprise = deps.store.get_enterprise(app.enterprise["id"])
        return enterprise.credit_code_index if enterprise and enterprise.credit_code_index else None
    identity = deps.store.get_identity(app.owner_sub)
    return identity.id_number_index if identity and identity.id_number_index else None


def _preview(deps: Deps, key: str | None) -> dict[str, Any]:
    ttl = deps.settings.download_url_ttl_seconds
    return {"preview_url": deps.files.presigned_get(key, ttl) if key else None,
            "preview_expires_in": ttl if key else None}


def offers(deps: Deps, principal: Principal, app_id: str) -> list[dict[str, Any]]:
    """What can fill this application's materials without an upload, each with a preview link."""
    app = get_own_application(deps, principal, app_id)
    item = pinned_item(deps, app)
    today = deps.now().date()
    specs = relevant_materials(item, app)
    found: list[dict[str, Any]] = []
    reusable = [s for s in specs if s.valid_for_days is not None]
    if reusable:
        entries = deps.store.list_vault(rules_vault.owner_of(app))
        for spec in reusable:
            slot = app.materials[spec.code]
            for entry in entries:
                if entry.material != spec.code or entry.problems_for(spec, today):
                    continue
                found.append({
                    "material": spec.code, "source": VAULT, "sha256": entry.sha256,
                    "content_type": entry.content_type, "size": entry.size, "file_name": entry.file_name,
                    "verified_at": entry.verified_at, "usable_until": entry.usable_until(spec).isoformat(),
                    "from_application": entry.application_id, "from_item": entry.item_code,
                    "in_use": slot.sha256 == entry.sha256 and slot.reused_from is not None,
                    **_preview(deps, entry.sealed_key)})
    wanted = {s.code: s.obtainable_from.e_certificate for s in specs
              if s.obtainable_from and s.obtainable_from.e_certificate}
    holder = holder_index_of(deps, app) if wanted else None
    if holder:
        certificates = [c for c in deps.store.list_certificates(holder) if c.usable_on(today)]
        for code, type_ in wanted.items():
            for cert in certificates:
                if cert.type != type_:
                    continue
                found.append({
                    "material": code, "source": E_CERTIFICATE, "certificate_id": cert.id, "type": cert.type,
                    "issuer": cert.issuer, "number_masked": cert.number_masked, "issued_on": _iso(cert.issued_on),
                    "valid_until": _iso(cert.valid_until), "document_sha256": cert.document_sha256,
                    "in_use": app.materials[code].certificate_id == cert.id,
                    **_preview(deps, cert.document_key)})
    return found


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Reuse:
    source: str  # vault | e_certificate
    consent: bool
    sha256: str | None = None
    certificate_id: str | None = None


def reuse_material(deps: Deps, principal: Principal, app_id: str, material_code: str,
                   reuse: Reuse) -> tuple[Application, AccessRecord]:
    """Fill one material from the vault or an e-certificate. Only with explicit consent; without it
    nothing changes. The slot, its `onetrip.material.reused` event and the consent receipt are one write."""

    def attempt() -> tuple[Application, AccessRecord]:
        app = get_own_application(deps, principal, app_id)
        rules.require_editable(app, material=material_code)
        item = pinned_item(deps, app)
        spec = item.material(material_code)
        if spec is None:
            raise ValidationFailed(problems=[Problem("material_unknown", f"该事项没有材料“{material_code}”",
                                                     f"The item has no material {material_code!r}", "material")])
        if not reuse.consent:
            raise ValidationFailed("未获得本人同意，未复用任何材料", "Nothing was reused: consent was not given",
                                   code="consent_required", problems=[Problem(
                                       "consent_required", "复用材料或使用电子证照须经本人明确同意",
                                       "Reusing a material or an e-certificate needs your explicit consent",
                                       "consent")])
        now = deps.now()
        owner = rules_vault.owner_of(app)
        if reuse.source == VAULT:
            entry = deps.store.get_vault_entry(owner, material_code, reuse.sha256 or "")
            if entry is None:
                raise NotFound("材料库中没有该材料", "No such material in your vault", code="vault_entry_not_found",
                               detail={"material": material_code})
            updated = rules_vault.reuse_entry(app, spec, entry, now)
            accessed = AccessedMaterial(code=material_code, source=VAULT, sha256=entry.sha256,
                                        reused_from=entry.application_id)
            extra: dict[str, Any] = {"reused_from": entry.application_id}
        else:
            cert = _own_certificate(deps, app, reuse.certificate_id or "")
            updated = use_certificate(app, spec, cert, now)
            accessed = AccessedMaterial(code=material_code, source=E_CERTIFICATE, sha256=cert.document_sha256,
                                        certificate_id=cert.id)
            extra = {"certificate_id": cert.id, "certificate_type": cert.type, "issuer": cert.issuer}
        actor = principal.actor()
        record = consent_record(owner, actor, now, application_id=app.id, item_code=app.item_code,
                                item_name_zh=item.name_zh, material=accessed, material_name_zh=spec.name_zh,
                                case_number=app.case.case_number if app.case else None)
        event = rules_vault.reused_event(updated, material_code, reuse.source, now, actor, **extra)
        saved = deps.store.save_application_with_evidence(updated, app.version, [event], [], [record])
        return saved, record

    return retry_on_conflict(attempt)


def certificate_problems(deps: Deps, app: Application, item: ServiceItem) -> list[Problem]:
    """What is wrong today with the e-certificates that filled this application's materials: one revoked
    or expired since it was used is refused at acceptance, listed with every other problem (一次性告知).
    One GetItem per such material; none for an application that used no e-certificate."""
    today = deps.now().date()
    problems: list[Problem] = []
    for spec in item.materials:
        slot = app.materials.get(spec.code)
        if slot is None or not slot.certificate_id or slot.status is not rules.MaterialStatus.VERIFIED:
            continue
        cert = deps.store.get_certificate(slot.certificate_id)
        if cert is None:
            problems.append(Problem("certificate_unavailable", f"材料“{spec.name_zh}”所用的电子证照已不存在",
                                    f"The e-certificate used for material {spec.code!r} no longer exists",
                                    spec.code, {"certificate_id": slot.certificate_id}))
        else:
            problems += use_problems(cert, spec, today)
    return problems


def _own_certificate(deps: Deps, app: Application, certificate_id: str) -> Certificate:
    """The certificate, if it is held by this application's owner; to anyone else it does not exist."""
    cert = deps.store.get_certificate(certificate_id) if is_id(certificate_id, "crt_") else None
    holder = holder_index_of(deps, app) if cert is not None else None
    if cert is None or not holder or cert.holder_index != holder:
        raise NotFound("未找到该电子证照", "No such e-certificate", code="certificate_not_found",
                       detail={"resource": "certificate", "id": certificate_id})
    return cert
