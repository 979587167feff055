"""Applications (申请) and the cases (办件) they become on acceptance (受理).

Pure rules: what an applicant may do to a draft, the one-time notification (一次性告知) of every
problem at submission, acceptance into a case with one task per department (联办), and the fan-in
of the departments' decisions. Each change returns new values plus the events it raises; the
service layer persists them with conditional writes.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .audit import AuditEntry, TrailHead, extend_trail
from .calendar import deadline_after, working_days_between
from .catalogue import ServiceItem
from .checklist import answer_problems, answers_invalid, needed_materials
from .conditions import validate_answers
from .errors import Conflict, Forbidden, Problem, ValidationFailed
from .events import CaseContext, DomainEvent
from .identity import AssuranceLevel, VerifiedIdentity
from .ids import new_id
from .lifecycle import Action, ApplicationStatus, move, require
from .materials import ObjectFacts
from .principals import Principal

_LEVEL_ORDER = {AssuranceLevel.L1: 1, AssuranceLevel.L2: 2, AssuranceLevel.L3: 3}


class MaterialStatus(StrEnum):
    MISSING = "missing"
    UPLOAD_REQUESTED = "upload_requested"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"
    SUPPLEMENT_REQUESTED = "supplement_requested"  # this department asked; waiting for the applicant
    DECIDED = "decided"  # a review decided, or a rectification done
    CANCELLED = "cancelled"  # the case was withdrawn


OPEN_TASK_STATUSES = frozenset({TaskStatus.ASSIGNED, TaskStatus.SUPPLEMENT_REQUESTED})


class TaskKind(StrEnum):
    REVIEW = "review"  # the department's share of a case
    RECTIFICATION = "rectification"  # 整改: opened by a dissatisfied rating


class MaterialSlot(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    code: str
    # Needed from this applicant as an upload, given the item and the form answers (conditional
    # materials included when their condition holds; materials the bus obtains itself excluded).
    required: bool
    source: str = "upload"  # "upload", or "bus": obtained by the bus (e-certificate, department record)
    status: MaterialStatus = MaterialStatus.MISSING
    upload_id: str | None = None
    key: str | None = None
    # Where the verified bytes are kept: a copy no upload policy can reach, so an upload URL reused
    # after the verdict cannot change what departments download (see `FileStore.seal`).
    sealed_key: str | None = None
    content_type: str | None = None
    file_name: str | None = None
    size: int | None = None
    sha256: str | None = None
    problems: list[dict[str, Any]] = Field(default_factory=list)
    updated_at: str | None = None
    # Non-blocking findings (e.g. a photo's GPS location), told to the applicant and the department.
    notices: list[dict[str, Any]] = Field(default_factory=list)
    # When the same content was already judged for this slot, the upload whose verdict was reused.
    verdict_reused_from: str | None = None
    # Obtained without an upload, with the applicant's consent (chalicelib.domain.vault): the application
    # whose verified copy was reused from the vault, or the e-certificate (电子证照) used.
    reused_from: str | None = None
    certificate_id: str | None = None
    # Verdicts by content (SHA-256) of earlier uploads to this slot, newest last, bounded.
    judged: list[JudgedContent] = Field(default_factory=list)

    def earlier_verdict(self, sha256: str, content_type: str) -> JudgedContent | None:
        return next((j for j in reversed(self.judged) if j.sha256 == sha256 and j.content_type == content_type),
                    None)


class JudgedContent(BaseModel, defer_build=True):
    """One verdict on one content in one slot: the same bytes uploaded again get it without a second
    verification (content identity by SHA-256; the spec is the slot's, pinned for the application)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    content_type: str
    upload_id: str
    status: MaterialStatus
    problems: list[dict[str, Any]] = Field(default_factory=list)
    notices: list[dict[str, Any]] = Field(default_factory=list)


class Reason(BaseModel, defer_build=True):
    """A department's reason for a decision, in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    message_zh: str = Field(min_length=1, max_length=500)
    message_en: str = Field(min_length=1, max_length=500)


class ResultFile(BaseModel, defer_build=True):
    """A result document (证照, 决定书) a department attached to its decision, sealed in S3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_zh: str
    name_en: str
    key: str
    content_type: str
    size: int
    sha256: str
    e_certificate: bool = False


class TaskRef(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    department: str
    status: TaskStatus = TaskStatus.ASSIGNED
    outcome: Outcome | None = None
    reasons: list[Reason] = Field(default_factory=list)
    decided_at: str | None = None
    kind: TaskKind = TaskKind.REVIEW
    # The town office that holds the task when the item is delegated (seed P3); None: the department.
    office: str | None = None
    deadline: str | None = None
    warned_at: str | None = None
    breached_at: str | None = None
    result: ResultFile | None = None


class SupplementItem(BaseModel, defer_build=True):
    """One thing a department needs supplemented: a material or a form field, why, in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    material: str | None = None
    field: str | None = None
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    message_zh: str = Field(min_length=1, max_length=500)
    message_en: str = Field(min_length=1, max_length=500)
    legal_basis: list[str] = Field(default_factory=list)

    @property
    def target(self) -> str:
        return f"material:{self.material}" if self.material else f"field:{self.field}"


class SupplementRequest(BaseModel, defer_build=True):
    """One department's request in one round (补正告知): everything it needs, at once."""

    model_config = ConfigDict(extra="forbid")

    round: int
    task_id: str
    department: str
    requested_at: str
    items: list[SupplementItem]
    resubmitted_at: str | None = None


class Visit(BaseModel, defer_build=True):
    """One trip the applicant made in person, recorded by window staff or a terminal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str
    by_kind: str
    place: str
    reason: str


class Issuance(BaseModel, defer_build=True):
    """How the result reached the applicant (送达): download, mail or pick-up, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    at: str
    # Mail: the address, encrypted (personal data); pick-up: the office.
    address_ciphertext: str | None = None
    office: str | None = None


class Rating(BaseModel, defer_build=True):
    """好差评: five levels, 5 = 非常满意, 1 = 非常不满意; ≤ 2 opens a rectification."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1, le=5)
    comment: str | None = None
    at: str
    rectification_task_id: str | None = None


class CaseRecord(BaseModel, defer_build=True):
    """What acceptance fixes for life: number, clock, catalogue version and the verified applicant."""

    model_config = ConfigDict(extra="forbid")

    case_number: str
    accepted_at: str
    committed_days: int
    deadline: str
    # True while the deadline reaches a year whose holiday schedule is not imported yet (weekends only).
    deadline_provisional: bool = False
    item_version: int
    item_hash: str
    # The provincial base code (基本编码), for reporting city sub-items under the province's item.
    base_code: str = ""
    applicant: dict[str, str]
    # Materials the bus obtains itself (e-certificates, department records) instead of an upload.
    to_obtain: list[str] = Field(default_factory=list)
    # The item's maximum visits (最多跑一次: 0 or 1), to compare the recorded visits against.
    max_visits: int = 0
    # The provincial platform's subscriber code, which hears every case event (seed P2), if any.
    provincial: str | None = None
    # The clock (承诺时限): paused while the applicant supplements (补正时间不计入), never moved back.
    original_deadline: str = ""
    paused_since: str | None = None
    paused_working_days: int = 0
    supplements: list[SupplementRequest] = Field(default_factory=list)
    issuance: Issuance | None = None
    rating: Rating | None = None
    closed_at: str | None = None

    @property
    def supplement_rounds(self) -> int:
        return max((s.round for s in self.supplements), default=0)

    def open_round(self) -> list[SupplementRequest]:
        """The requests of the round the applicant has not answered yet (empty when none is open)."""
        return [s for s in self.supplements if s.resubmitted_at is None]


class Application(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid")

    id: str
    owner_sub: str
    owner_kind: str
    item_code: str
    item_version: int
    status: ApplicationStatus = ApplicationStatus.DRAFT
    materials: dict[str, MaterialSlot]
    created_at: str
    updated_at: str
    version: int = 0
    case: CaseRecord | None = None
    tasks: list[TaskRef] = Field(default_factory=list)
    outcome: Outcome | None = None
    decided_at: str | None = None
    # The applicant's answers to the item's form (validated against the pinned version's form).
    answers: dict[str, Any] = Field(default_factory=dict)
    # Set when an enterprise agent applies on an enterprise's behalf: id, name and masked credit code.
    enterprise: dict[str, str] | None = None
    # Where the applicant's matter is handled: a GB/T 2260 county code or a 9-digit town code; it
    # routes delegated items to the town office of that jurisdiction.
    region_code: str | None = None
    submitted_at: str | None = None
    visits: list[Visit] = Field(default_factory=list)
    refusal: list[Reason] = Field(default_factory=list)
    withdrawn_at: str | None = None
    # The counter pass (窗口核验码): a short-lived code the applicant shows at a window or terminal;
    # the counter reaches this application only with it. Kept as a hash, bound to the application.
    counter_pass_hash: str | None = None
    counter_pass_expires_at: str | None = None
    # The head of the case's audit chain, moved by the store with every change that records events.
    trail: TrailHead | None = None

    def is_owned_by(self, principal: Principal) -> bool:
        return secrets.compare_digest(self.owner_sub, principal.sub)


def with_events(app: Application, version: int,
                events: list[DomainEvent]) -> tuple[Application, list[DomainEvent], list[AuditEntry]]:
    """What a change that raises `events` writes, in one transaction: the application as saved (version
    `version`, its audit chain extended), the events stamped with their case's context for the stream's
    projections, and their audit entries. Every event must be this case's."""
    strays = [e.id for e in events if e.application_id != app.id]
    if strays:
        raise ValueError(f"events of another application in one change: {strays}")
    head, entries = extend_trail(app.trail, events)
    saved = app.model_copy(update={"version": version, "trail": head})
    context = CaseContext(owner_sub=app.owner_sub, item_code=app.item_code, item_version=app.item_version,
                          case_number=saved.case.case_number if saved.case is not None else None)
    return saved, [e.model_copy(update={"context": context}) for e in events], entries


class DepartmentTask(BaseModel, defer_build=True):
    """One department's share of a case (部门任务); a joint item has one per department."""

    model_config = ConfigDict(extra="forbid")

    id: str
    application_id: str
    case_number: str
    item_code: str
    item_version: int
    department: str
    status: TaskStatus = TaskStatus.ASSIGNED
    outcome: Outcome | None = None
    reasons: list[Reason] = Field(default_factory=list)
    created_at: str
    deadline: str
    decided_at: str | None = None
    # Who in the department took it (POST /v1/tasks/{id}/claim): an officer's or system's subject.
    claimed_by: str | None = None
    claimed_at: str | None = None
    version: int = 0
    kind: TaskKind = TaskKind.REVIEW
    office: str | None = None
    warned_at: str | None = None
    breached_at: str | None = None
    result: ResultFile | None = None
    # A rectification's closing note (what was put right).
    note: str | None = None
    # Deadline before the first pause, for the record (the deadline itself moves on with every pause).
    original_deadline: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES


def _iso(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds")


def new_application(app_id: str, owner: Principal, item: ServiceItem, now: datetime,
                    answers: dict[str, Any] | None = None, typed_answers: dict[str, Any] | None = None,
                    ) -> Application:
    slots = {m.code: MaterialSlot(code=m.code, required=m.required) for m in item.materials}
    app = Application(
        id=app_id, owner_sub=owner.sub, owner_kind=owner.kind.value, item_code=item.code,
        item_version=item.version, materials=slots, created_at=_iso(now), updated_at=_iso(now),
    )
    return apply_answers(app, item, answers or {}, typed_answers or {}, now)


def apply_answers(app: Application, item: ServiceItem, answers: dict[str, Any], typed_answers: dict[str, Any],
                  now: datetime) -> Application:
    """Record the form answers (already validated against the item's form) and derive from them which
    materials this applicant must upload and which the bus obtains itself. During a supplement
    round only the fields the departments asked for may change."""
    changed = {k for k in set(answers) | set(app.answers) if answers.get(k) != app.answers.get(k)}
    require_editable(app, fields=changed)
    needed = {m.code for m in needed_materials(item, typed_answers)}
    slots = {}
    for spec in item.materials:
        slots[spec.code] = app.materials[spec.code].model_copy(update={
            "required": spec.code in needed and not spec.obtained_by_bus,
            "source": "bus" if spec.obtained_by_bus else "upload"})
    return app.model_copy(update={"answers": dict(answers), "materials": slots, "updated_at": _iso(now)})


def draft_answers(item: ServiceItem, answers: dict[str, Any]) -> dict[str, Any]:
    """Typed answers for a draft. A draft may leave fields unanswered (they are told at submission);
    any other problem — unknown field, wrong type, value outside the choices — is refused now, all at once."""
    typed, problems = validate_answers(item.form, answers)
    blocking = [p for p in problems if p.code != "answer_required"]
    if blocking:
        raise answers_invalid(blocking)
    return typed


def obtained_by_bus(app: Application) -> list[str]:
    return [code for code, slot in app.materials.items() if slot.source == "bus"]


def material_key(app_id: str, material_code: str, upload_id: str) -> str:
    """S3 key of an upload. Generated, never from the file name; carries no personal data."""
    return f"materials/{app_id}/{material_code}/{upload_id}"


def application_prefix(app_id: str) -> str:
    """Every upload of an application lies under this prefix (a second bound in the POST policy)."""
    return f"materials/{app_id}/"


def parse_material_key(key: str) -> tuple[str, str, str] | None:
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "materials" or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3]


_DISPLAY_NAME_MAX_BYTES = 255


def sanitize_file_name(name: str | None) -> str | None:
    """Display text only: last path segment, no control or bidi-override characters, ≤ 255 bytes."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    name = name.strip().strip(".") or "file"
    encoded = name.encode()[:_DISPLAY_NAME_MAX_BYTES]
    return encoded.decode(errors="ignore")


def issue_upload(
    app: Application, item: ServiceItem, material_code: str, content_type: str, file_name: str | None,
    upload_id: str, now: datetime,
) -> tuple[Application, str]:
    """Reserve an upload slot; returns the new state and the object key the presigned POST is bound to."""
    require_editable(app, material=material_code)
    spec = item.material(material_code)
    if spec is None:
        raise ValidationFailed(problems=[_unknown_material(material_code)])
    if content_type not in spec.accepted_mime_types:
        raise ValidationFailed(problems=[Problem(
            "content_type_not_accepted",
            f"材料“{spec.name_zh}”只接受 {', '.join(spec.accepted_types)} 文件",
            f"Material {spec.code!r} accepts only {', '.join(spec.accepted_types)} files",
            "content_type", {"accepted": list(spec.accepted_mime_types)},
        )])
    key = material_key(app.id, material_code, upload_id)
    slot = app.materials[material_code].model_copy(update={
        "status": MaterialStatus.UPLOAD_REQUESTED, "upload_id": upload_id, "key": key,
        "content_type": content_type, "file_name": sanitize_file_name(file_name), "size": None,
        "sha256": None, "problems": [], "updated_at": _iso(now), "notices": [], "verdict_reused_from": None,
        "reused_from": None, "certificate_id": None,
    })
    return _with_slot(app, slot, now), key


# Enough to recognise re-uploads of the last few attempts, small enough to keep the record bounded.
JUDGED_HISTORY = 10
# A verdict that depends on the verifier's load, not on the content, is not reused for the same bytes.
_NOT_REUSABLE = frozenset({"verification_budget_exceeded", "verification_failed"})


def record_verdict(
    app: Application, material_code: str, upload_id: str, facts: ObjectFacts, problems: list[Problem],
    now: datetime, *, notices: list[Problem] | None = None, reused_from: JudgedContent | None = None,
    sealed_key: str | None = None,
) -> Application | None:
    """Store the verifier's verdict. None when there is nothing to do: the upload was superseded by a
    newer one, the application is no longer a draft, or this upload already has its verdict (a
    redelivered event). With `reused_from`, the verdict is that earlier one's for the same content."""
    slot = app.materials.get(material_code)
    if slot is None or slot.upload_id != upload_id or not editable(app, material=material_code):
        return None
    if slot.status in (MaterialStatus.VERIFIED, MaterialStatus.REJECTED):
        return None
    if reused_from is not None:
        problem_dicts, notice_dicts = list(reused_from.problems), list(reused_from.notices)
    else:
        problem_dicts = [p.to_dict() for p in problems]
        notice_dicts = [n.to_dict() for n in notices or []]
    status = MaterialStatus.REJECTED if problem_dicts else MaterialStatus.VERIFIED
    judged = list(slot.judged)
    if reused_from is None and not {p["code"] for p in problem_dicts} & _NOT_REUSABLE:
        judged = [*judged, JudgedContent(sha256=facts.sha256, content_type=slot.content_type or "",
                                         upload_id=upload_id, status=status, problems=problem_dicts,
                                         notices=notice_dicts)][-JUDGED_HISTORY:]
    slot = slot.model_copy(update={
        "status": status, "size": facts.size, "sha256": facts.sha256, "problems": problem_dicts,
        "notices": notice_dicts, "updated_at": _iso(now), "judged": judged,
        "verdict_reused_from": reused_from.upload_id if reused_from else None,
        "sealed_key": sealed_key if status is MaterialStatus.VERIFIED else None,
    })
    return _with_slot(app, slot, now)


MATERIAL_VERIFIED = "onetrip.material.verified"
MATERIAL_REJECTED = "onetrip.material.rejected"


def verdict_event(app: Application, material_code: str, now: datetime) -> DomainEvent:
    """`onetrip.material.verified` / `.rejected`: the application's progress, written with the verdict.
    Carries codes and hashes only — never the file name, which may hold a person's name."""
    slot = app.materials[material_code]
    verified = slot.status is MaterialStatus.VERIFIED
    return DomainEvent.raised(
        MATERIAL_VERIFIED if verified else MATERIAL_REJECTED, now, application_id=app.id, recipients=[],
        actor={"kind": "system"},
        subject=f"applications/{app.id}/materials/{material_code}",
        data={"application_id": app.id, "material": material_code, "upload_id": slot.upload_id,
              "size": slot.size, "sha256": slot.sha256, "reasons": [p["code"] for p in slot.problems],
              "notices": [n["code"] for n in slot.notices], "verdict_reused_from": slot.verdict_reused_from},
    )


def assurance_suffices(identity: VerifiedIdentity | None, item: ServiceItem) -> bool:
    required = AssuranceLevel(item.min_assurance_level)
    return identity is not None and _LEVEL_ORDER[identity.assurance_level] >= _LEVEL_ORDER[required]


def submission_problems(app: Application, item: ServiceItem, identity: VerifiedIdentity | None,
                        source_problems: Sequence[Problem] = ()) -> list[Problem]:
    """Every reason the application cannot be accepted now, all at once (一次性告知). `source_problems`:
    what the caller found wrong today with the sources of materials filled earlier (an e-certificate
    revoked or expired since), listed with the rest."""
    problems: list[Problem] = []
    problems += answer_problems(validate_answers(item.form, app.answers)[1])
    if not assurance_suffices(identity, item):
        problems.append(Problem(
            "identity_not_verified", f"申请人身份核验等级不足（需要 {item.min_assurance_level}），请先完成实名认证",
            f"The applicant's identity assurance is below {item.min_assurance_level}; complete real-name "
            "verification first", "applicant",
            {"required_assurance_level": item.min_assurance_level,
             "current_assurance_level": identity.assurance_level.value if identity else None,
             "how": "POST /v1/me/identity"},
        ))
    for spec in item.materials:
        slot = app.materials[spec.code]
        if slot.source == "bus" or slot.status is MaterialStatus.VERIFIED or (
                not slot.required and slot.status is MaterialStatus.MISSING):
            continue
        if slot.status is MaterialStatus.REJECTED:
            problems.append(Problem(
                "material_rejected", f"材料“{spec.name_zh}”未通过核验，请重新上传",
                f"Material {spec.name_en!r} failed verification; upload it again", spec.code,
                {"problems": slot.problems},
            ))
        elif slot.status is MaterialStatus.UPLOAD_REQUESTED:
            problems.append(Problem(
                "material_not_verified", f"材料“{spec.name_zh}”尚未上传完成或正在核验",
                f"Material {spec.name_en!r} has not arrived or is still being verified", spec.code,
            ))
        else:
            problems.append(Problem(
                "material_missing", f"缺少材料“{spec.name_zh}”", f"Material {spec.name_en!r} is missing", spec.code,
                {"accepted_types": list(spec.accepted_types), "max_size_bytes": spec.max_size_bytes},
            ))
    problems += source_problems
    return problems


@dataclass(frozen=True)
class Routing:
    """Where acceptance sends a case: the town office of the applicant's jurisdiction per department
    (delegated items, seed P3), and the provincial platform that hears every case event (seed P2)."""

    offices: dict[str, str | None] = dc_field(default_factory=dict)
    provincial: str | None = None


@dataclass
class CaseChange:
    """One atomic change of a case: the application (carrying the version it was read at), the tasks
    it changes or creates, the events it raises, and the deadline watch entries it moves. The store
    writes all of it in one transaction, conditional on every version read."""

    app: Application
    events: list[DomainEvent] = dc_field(default_factory=list)
    changed_tasks: list[DepartmentTask] = dc_field(default_factory=list)
    new_tasks: list[DepartmentTask] = dc_field(default_factory=list)
    watch: list[DeadlineWatch] = dc_field(default_factory=list)
    unwatch: list[DeadlineWatch] = dc_field(default_factory=list)
    previous_status: ApplicationStatus | None = None


@dataclass(frozen=True)
class DeadlineWatch:
    """An open task's deadline, for the sweep that warns before and escalates after it (keyed by date)."""

    deadline: str
    task_id: str
    application_id: str
    department: str


def watch_of(task: DepartmentTask) -> DeadlineWatch:
    return DeadlineWatch(task.deadline, task.id, task.application_id, task.department)


def case_data(app: Application, **extra: Any) -> dict[str, Any]:
    """The keys every case event carries (no personal data): ids, item and version, base code."""
    data: dict[str, Any] = {"application_id": app.id, "item_code": app.item_code, "item_version": app.item_version}
    if app.case is not None:
        data.update(case_number=app.case.case_number, base_code=app.case.base_code)
    return {**data, **extra}


def case_recipients(app: Application) -> list[str]:
    """Who hears about the case as a whole: every department with a review task, and the province."""
    departments = [r.department for r in app.tasks if r.kind is TaskKind.REVIEW]
    provincial = app.case.provincial if app.case else None
    return list(dict.fromkeys([*departments, *([provincial] if provincial else [])]))


def submit(
    app: Application, item: ServiceItem, identity: VerifiedIdentity | None, principal: Principal, now: datetime,
    routing: Routing | None = None, source_problems: Sequence[Problem] = (),
) -> CaseChange:
    """Submission: every problem at once (一次性告知), or — all in order — acceptance (受理) at once,
    or, for an item whose acceptance a window officer reviews, `submitted` until that review."""
    require_draft(app)
    _check_submission(app, item, identity, source_problems)
    actor = principal.actor()
    channel = "window" if item.acceptance_review else "online"
    submitted = app.model_copy(update={
        "status": move(app.status, Action.SUBMIT, ApplicationStatus.SUBMITTED), "submitted_at": _iso(now),
        "updated_at": _iso(now)})
    event = DomainEvent.raised("onetrip.application.submitted", now, application_id=app.id, recipients=[],
                               subject=f"applications/{app.id}", data=case_data(app, channel=channel), actor=actor)
    if item.acceptance_review:
        return CaseChange(app=submitted.model_copy(update={"version": app.version}), events=[event],
                          previous_status=app.status)
    change = _accept(submitted, item, identity, principal, now, routing or Routing())
    change.events.insert(0, event)
    change.app = change.app.model_copy(update={"version": app.version})
    change.previous_status = app.status
    return change


def accept_at_window(
    app: Application, item: ServiceItem, identity: VerifiedIdentity | None, officer: Principal, now: datetime,
    routing: Routing | None = None, source_problems: Sequence[Problem] = (),
) -> CaseChange:
    """A window officer's acceptance review passed: the case is accepted; the visit is recorded."""
    require(app.status, Action.ACCEPT)
    _check_submission(app, item, identity, source_problems)
    visited = app.model_copy(update={"visits": [*app.visits, _visit(officer, "acceptance", now)]})
    change = _accept(visited, item, identity, officer, now, routing or Routing())
    change.previous_status = app.status
    return change


def refuse_at_window(app: Application, officer: Principal, reasons: list[Reason], now: datetime) -> CaseChange:
    """不予受理: a refusal with its reasons, told to the applicant; the visit is recorded."""
    if not reasons:
        raise ValidationFailed(problems=[Problem(
            "reasons_required", "不予受理时必须说明理由", "A refusal must give its reasons", "reasons")])
    refused = app.model_copy(update={
        "status": move(app.status, Action.REFUSE, ApplicationStatus.REFUSED), "refusal": list(reasons),
        "visits": [*app.visits, _visit(officer, "acceptance", now)], "updated_at": _iso(now)})
    event = DomainEvent.raised("onetrip.case.refused", now, application_id=app.id, recipients=[],
                               subject=f"applications/{app.id}", actor=officer.actor(),
                               data=case_data(app, reasons=[r.model_dump() for r in reasons]))
    return CaseChange(app=refused, events=[event], previous_status=app.status)


def _visit(principal: Principal, reason: str, now: datetime) -> Visit:
    return Visit(at=_iso(now), by_kind=principal.kind.value, place=principal.binding or "", reason=reason)


def _check_submission(app: Application, item: ServiceItem, identity: VerifiedIdentity | None,
                      source_problems: Sequence[Problem] = ()) -> None:
    if item.version != app.item_version or item.code != app.item_code:
        raise Conflict("事项版本不一致", "The item version does not match the draft", code="item_version_mismatch")
    problems = submission_problems(app, item, identity, source_problems)
    if not assurance_suffices(identity, item):
        # 403 (the applicant, not the application, must change first) — still with every problem listed.
        raise Forbidden("申请人身份核验等级不足，请先完成实名认证",
                        "Identity assurance too low; verify your identity first", code="assurance_level_too_low",
                        problems=problems,
                        detail={"required_assurance_level": item.min_assurance_level, "how": "POST /v1/me/identity"})
    if problems:
        raise ValidationFailed(
            "申请材料不齐全或未通过核验，请按以下问题一次性补齐",
            "The application is incomplete; every problem is listed",
            code="application_incomplete", problems=problems,
            detail={"legal_basis": [f"{b.title_zh}{b.article or ''}" for b in item.legal_basis]},
        )


def _accept(
    app: Application, item: ServiceItem, identity: VerifiedIdentity | None, principal: Principal, now: datetime,
    routing: Routing,
) -> CaseChange:
    """Acceptance (受理): the case, one task per department (to its town office when delegated), one
    `task.assigned` per task, the deadline watched."""
    assert identity is not None
    accepted_on = now.date()
    due, provisional = deadline_after(accepted_on, item.committed_days)
    deadline = due.isoformat()
    case_number = f"{item.code}-{accepted_on:%Y%m%d}-{secrets.token_hex(4).upper()}"
    applicant = {"sub": app.owner_sub, "kind": app.owner_kind, **identity.public_view()}
    if app.enterprise:
        applicant.update({f"enterprise_{k}": v for k, v in app.enterprise.items()})
    case = CaseRecord(
        case_number=case_number, accepted_at=_iso(now), committed_days=item.committed_days, deadline=deadline,
        original_deadline=deadline, deadline_provisional=provisional, base_code=item.base_code,
        to_obtain=obtained_by_bus(app), max_visits=item.max_visits, provincial=routing.provincial,
        item_version=item.version, item_hash=item.content_hash, applicant=applicant,
    )
    actor = principal.actor()
    tasks: list[DepartmentTask] = []
    events: list[DomainEvent] = []
    for department in item.departments:
        office = routing.offices.get(department)
        task = DepartmentTask(
            id=new_id("tsk_"), application_id=app.id, case_number=case_number, item_code=item.code,
            item_version=item.version, department=department, office=office, created_at=_iso(now),
            deadline=deadline, original_deadline=deadline,
        )
        tasks.append(task)
        events.append(DomainEvent.raised(
            "onetrip.task.assigned", now, application_id=app.id, recipients=[department],
            subject=f"tasks/{task.id}", actor=actor,
            data={"task_id": task.id, "application_id": app.id, "case_number": case_number,
                  "item_code": item.code, "item_version": item.version, "department": department,
                  "office": office, "kind": TaskKind.REVIEW.value, "base_code": item.base_code,
                  "deadline": deadline, "links": {"task": f"/v1/tasks/{task.id}"}},
        ))
    accepted = app.model_copy(update={
        "status": move(app.status, Action.ACCEPT, ApplicationStatus.ACCEPTED),
        "case": case, "updated_at": _iso(now),
        "tasks": [TaskRef(task_id=t.id, department=t.department, office=t.office, deadline=deadline) for t in tasks],
    })
    events.insert(0, DomainEvent.raised(
        "onetrip.case.accepted", now, application_id=app.id, subject=f"cases/{case_number}", actor=actor,
        recipients=[routing.provincial] if routing.provincial else [],
        data=case_data(accepted, committed_days=item.committed_days, deadline=deadline,
                       departments=list(item.departments), max_visits=item.max_visits,
                       accepted_by=principal.kind.value)))
    return CaseChange(app=accepted, events=events, new_tasks=tasks, watch=[watch_of(t) for t in tasks])


def accept(
    app: Application, item: ServiceItem, identity: VerifiedIdentity | None, principal: Principal, now: datetime,
) -> tuple[Application, list[DepartmentTask], list[DomainEvent]]:
    """Submission straight to acceptance, as values (kept for the rules' unit tests)."""
    change = submit(app, item, identity, principal, now)
    return change.app, change.new_tasks, change.events


def decide(
    app: Application, task: DepartmentTask, outcome: Outcome, reasons: list[Reason], now: datetime,
    *, actor: dict[str, str] | None = None, result: ResultFile | None = None,
) -> tuple[Application, DepartmentTask, list[DomainEvent]]:
    change = decide_change(app, task, outcome, reasons, now, actor=actor, result=result)
    return change.app, change.changed_tasks[0], change.events


def decide_change(
    app: Application, task: DepartmentTask, outcome: Outcome, reasons: list[Reason], now: datetime,
    *, actor: dict[str, str] | None = None, result: ResultFile | None = None,
) -> CaseChange:
    """A department's decision on its task, with its result document if any; the case is decided
    when every review task is (fan-in). Any rejection rejects the case, with every department's reasons."""
    if task.kind is not TaskKind.REVIEW:
        raise Conflict("整改任务不作审查决定", "A rectification task is closed, not decided",
                       code="task_not_a_review")
    if task.status is TaskStatus.DECIDED:
        raise Conflict("该任务已作出决定", "This task has already been decided", code="task_already_decided")
    require(app.status, Action.REVIEW)  # a withdrawn case: 409 naming the case's state
    if task.status is TaskStatus.SUPPLEMENT_REQUESTED:
        raise Conflict("该任务正在等待申请人补正", "This task is waiting for the applicant's supplement",
                       code="task_waiting_for_supplement", detail={"current_state": task.status.value})
    if task.status is TaskStatus.CANCELLED:
        raise Conflict("该任务已取消", "This task was cancelled", code="task_cancelled",
                       detail={"current_state": task.status.value})
    if outcome is Outcome.REJECTED and not reasons:
        raise ValidationFailed(problems=[Problem(
            "reasons_required", "不予批准时必须说明理由", "A rejection must give its reasons", "reasons")])
    assert app.case is not None
    stamp = _iso(now)
    decided_task = task.model_copy(update={
        "status": TaskStatus.DECIDED, "outcome": outcome, "reasons": list(reasons), "decided_at": stamp,
        "result": result})
    refs = [
        ref.model_copy(update={"status": TaskStatus.DECIDED, "outcome": outcome, "reasons": list(reasons),
                               "decided_at": stamp, "result": result}) if ref.task_id == task.id else ref
        for ref in app.tasks
    ]
    update: dict[str, Any] = {"tasks": refs, "updated_at": stamp}
    events = [DomainEvent.raised(
        "onetrip.task.decided", now, application_id=app.id, recipients=[], subject=f"tasks/{task.id}", actor=actor,
        data=case_data(app, task_id=task.id, department=task.department, outcome=outcome.value,
                       result=result is not None))]
    reviews = [r for r in refs if r.kind is TaskKind.REVIEW]
    if all(ref.status is TaskStatus.DECIDED for ref in reviews):
        final = Outcome.REJECTED if any(r.outcome is Outcome.REJECTED for r in reviews) else Outcome.APPROVED
        used = working_days_between(date.fromisoformat(app.case.accepted_at[:10]), now.date())
        used = max(0, used - app.case.paused_working_days)
        update.update(status=move(app.status, Action.DECIDE, ApplicationStatus.DECIDED), outcome=final,
                      decided_at=stamp)
        events.append(DomainEvent.raised(
            "onetrip.case.decided", now, application_id=app.id, recipients=case_recipients(app),
            subject=f"cases/{app.case.case_number}", actor=actor,
            data=case_data(app, outcome=final.value, committed_days=app.case.committed_days,
                           working_days_used=used, on_time=now.date().isoformat() <= app.case.deadline,
                           supplement_rounds=app.case.supplement_rounds, visits=len(app.visits)),
        ))
    elif app.status in (ApplicationStatus.ACCEPTED, ApplicationStatus.RESUBMITTED):
        update["status"] = move(app.status, Action.REVIEW, ApplicationStatus.IN_REVIEW)
    return CaseChange(app=app.model_copy(update=update), events=events, changed_tasks=[decided_task],
                      unwatch=[watch_of(task)], previous_status=app.status)


def require_draft(app: Application) -> None:
    if app.status is not ApplicationStatus.DRAFT:
        raise Conflict("申请已提交，不能再修改", "The application has been submitted and cannot change",
                       code="application_not_draft", detail={"current_state": app.status.value})


def requested(app: Application) -> tuple[set[str], set[str]]:
    """The materials and fields the open supplement round asks for — with the materials a corrected
    answer now requires and that are not verified (a conditional material it brought in)."""
    items = [i for r in (app.case.open_round() if app.case else []) for i in r.items]
    brought_in = {code for code, slot in app.materials.items()
                  if slot.required and slot.source == "upload" and slot.status is not MaterialStatus.VERIFIED}
    return {i.material for i in items if i.material} | brought_in, {i.field for i in items if i.field}


def editable(app: Application, *, material: str | None = None, fields: set[str] | None = None) -> bool:
    """A draft may change freely; a case under a supplement request only in what was asked for."""
    if app.status is ApplicationStatus.DRAFT:
        return True
    if app.status is not ApplicationStatus.SUPPLEMENT_REQUESTED:
        return False
    materials, asked_fields = requested(app)
    return (material is None or material in materials) and (fields or set()) <= asked_fields


def require_editable(app: Application, *, material: str | None = None, fields: set[str] | None = None) -> None:
    if editable(app, material=material, fields=fields):
        return
    if app.status is ApplicationStatus.SUPPLEMENT_REQUESTED:
        materials, asked_fields = requested(app)
        raise Conflict("补正期间只能修改部门要求补正的材料和信息",
                       "During a supplement only what the departments asked for may change",
                       code="not_requested_in_supplement",
                       detail={"current_state": app.status.value, "materials": sorted(materials),
                               "fields": sorted(asked_fields)})
    require_draft(app)


def _with_slot(app: Application, slot: MaterialSlot, now: datetime) -> Application:
    return app.model_copy(update={"materials": {**app.materials, slot.code: slot}, "updated_at": _iso(now)})


def _unknown_material(code: str) -> Problem:
    return Problem("material_unknown", f"该事项没有材料“{code}”", f"The item has no material {code!r}", "material")





# A counter pass lives long enough for a visit, no longer; 8 characters of a 32-letter alphabet
# without look-alikes (40 bits) are plenty for a code that dies in 30 minutes and is rate-limited.
COUNTER_PASS_MINUTES = 30
_PASS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (an alphabet, not a secret)


def _pass_hash(app_id: str, code: str) -> str:
    import hashlib

    return hashlib.sha256(f"{app_id}:{code.upper()}".encode()).hexdigest()


def issue_counter_pass(app: Application, now: datetime) -> tuple[Application, str, str]:
    """A new pass for this application (the previous one stops working): the code and its expiry."""
    from datetime import timedelta

    code = "".join(secrets.choice(_PASS_ALPHABET) for _ in range(8))
    expires = _iso(now + timedelta(minutes=COUNTER_PASS_MINUTES))
    return app.model_copy(update={"counter_pass_hash": _pass_hash(app.id, code),
                                  "counter_pass_expires_at": expires}), code, expires


def counter_pass_valid(app: Application, code: str, now: datetime) -> bool:
    if not app.counter_pass_hash or not app.counter_pass_expires_at or app.counter_pass_expires_at < _iso(now):
        return False
    return secrets.compare_digest(app.counter_pass_hash, _pass_hash(app.id, code))
