"""Verification on arrival: every uploaded object is re-checked server-side against its spec.

Triggered by the bucket's ObjectCreated notification. Size and magic bytes first, then the deep
content checks under their budget; the same content already judged for the slot gets that verdict
again without a second verification. The verdict and its `onetrip.material.verified`/`rejected`
event are written in one transaction; a rejected object is then moved to `quarantine/`. Redelivered
or stale events change nothing: one verdict per upload, only for the upload the slot expects.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import applications as rules
from ..domain.errors import Problem
from ..domain.file_checks import Finding
from ..domain.materials import (
    SNIFF_BYTES,
    ObjectFacts,
    content_limits,
    content_problems,
    deep_check_kind,
    judge,
)
from .deps import Deps, retry_on_conflict
from .vault import keep_verified


@dataclass(frozen=True)
class VerificationResult:
    outcome: str  # verified | rejected | ignored
    reason: str = ""
    problem_codes: tuple[str, ...] = ()
    notice_codes: tuple[str, ...] = ()
    reused_from: str | None = None


def verify_material(deps: Deps, key: str) -> VerificationResult:
    parsed = rules.parse_material_key(key)
    if parsed is None:
        return VerificationResult("ignored", "key_outside_materials_prefix")
    app_id, material_code, upload_id = parsed
    # The deep checks' findings by content: a lost write race re-decides without re-parsing the file.
    findings_by_content: dict[str, list[Finding]] = {}

    def attempt() -> VerificationResult:
        app = deps.store.get_application(app_id)
        if app is None:
            return VerificationResult("ignored", "unknown_application")
        slot = app.materials.get(material_code)
        if slot is None or slot.upload_id != upload_id or slot.key != key:
            return VerificationResult("ignored", "superseded_or_unknown_upload")
        if slot.status is rules.MaterialStatus.REJECTED:
            # The verdict may have been saved by an attempt that failed before quarantining.
            deps.files.quarantine(key)
            return VerificationResult("ignored", "already_verified")
        if slot.status is rules.MaterialStatus.VERIFIED:
            return VerificationResult("ignored", "already_verified")
        item = deps.store.get_item_version(app.item_code, app.item_version)
        spec = item.material(material_code) if item else None
        if spec is None:
            return VerificationResult("ignored", "object_or_spec_missing")
        stored = deps.files.inspect(key, SNIFF_BYTES, keep_bytes=spec.max_size_bytes)
        if stored is None:
            return VerificationResult("ignored", "object_or_spec_missing")
        facts = ObjectFacts(size=stored.size, head=stored.head, declared_content_type=slot.content_type or "",
                            sha256=stored.sha256, stored_content_type=stored.content_type)
        earlier = slot.earlier_verdict(stored.sha256, slot.content_type or "")
        problems: list[Problem] = []
        notices: list[Problem] = []
        if earlier is None:
            problems = judge(spec, facts)
            kind = deep_check_kind(spec, facts, problems)
            if kind is not None and stored.data is not None:
                findings = findings_by_content.get(stored.sha256)
                if findings is None:
                    findings = deps.require("inspector").inspect(kind, stored.data, content_limits(spec))
                    findings_by_content[stored.sha256] = findings
                problems, notices = content_problems(spec, findings)
        will_verify = (earlier.status is rules.MaterialStatus.VERIFIED) if earlier is not None else not problems
        sealed_key = None
        if will_verify:
            # Departments get the sealed copy of exactly the bytes judged here; if the object was
            # overwritten meanwhile, that newer write's own event brings it back for judgement.
            sealed_key = deps.files.seal(key, stored.etag)
            if sealed_key is None:
                return VerificationResult("ignored", "changed_during_verification")
        updated = rules.record_verdict(app, material_code, upload_id, facts, problems, deps.now(),
                                       notices=notices, reused_from=earlier, sealed_key=sealed_key)
        if updated is None:
            return VerificationResult("ignored", "not_applicable")
        event = rules.verdict_event(updated, material_code, deps.now())
        keep_verified(deps, updated, app.version, [event], spec)  # a reusable one enters the vault too
        judged = updated.materials[material_code]
        rejected = judged.status is rules.MaterialStatus.REJECTED
        if rejected:
            deps.files.quarantine(key)
        return VerificationResult("rejected" if rejected else "verified", "",
                                  tuple(p["code"] for p in judged.problems),
                                  tuple(n["code"] for n in judged.notices), judged.verdict_reused_from)

    return retry_on_conflict(attempt)
