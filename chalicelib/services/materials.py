"""Verification on arrival: every uploaded object is re-checked server-side against its spec.

Triggered by the bucket's ObjectCreated notification. Redelivered or stale events change nothing:
the verdict is recorded once per upload, and only for the upload the slot currently expects.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import applications as rules
from ..domain.materials import SNIFF_BYTES, ObjectFacts, judge
from .deps import Deps, retry_on_conflict


@dataclass(frozen=True)
class VerificationResult:
    outcome: str  # verified | rejected | ignored
    reason: str = ""
    problem_codes: tuple[str, ...] = ()


def verify_material(deps: Deps, key: str) -> VerificationResult:
    parsed = rules.parse_material_key(key)
    if parsed is None:
        return VerificationResult("ignored", "key_outside_materials_prefix")
    app_id, material_code, upload_id = parsed

    def attempt() -> VerificationResult:
        app = deps.store.get_application(app_id)
        if app is None:
            return VerificationResult("ignored", "unknown_application")
        slot = app.materials.get(material_code)
        if slot is None or slot.upload_id != upload_id:
            return VerificationResult("ignored", "superseded_or_unknown_upload")
        if slot.status in (rules.MaterialStatus.VERIFIED, rules.MaterialStatus.REJECTED):
            return VerificationResult("ignored", "already_verified")
        item = deps.store.get_item_version(app.item_code, app.item_version)
        spec = item.material(material_code) if item else None
        stored = deps.files.inspect(key, SNIFF_BYTES)
        if spec is None or stored is None:
            return VerificationResult("ignored", "object_or_spec_missing")
        facts = ObjectFacts(size=stored.size, head=stored.head, declared_content_type=slot.content_type or "",
                            sha256=stored.sha256, stored_content_type=stored.content_type)
        problems = judge(spec, facts)
        updated = rules.record_verdict(app, material_code, upload_id, facts, problems, deps.now())
        if updated is None:
            return VerificationResult("ignored", "not_applicable")
        deps.store.save_application(updated, app.version)
        return VerificationResult("rejected" if problems else "verified", "",
                                  tuple(p.code for p in problems))

    return retry_on_conflict(attempt)
