"""A simulation of 10,000 applications through the real case services on the in-memory fakes.

Every action goes through `chalicelib.services` exactly as the API and the S3/stream handlers call
it: drafts, uploads by presigned POST, verification on arrival (the real checks: size, magic bytes,
the sandboxed deep content checks), submission with its one-time notification, acceptance into
parallel department tasks, supplement rounds with the paused clock, decisions with result documents,
issuing, ratings and rectifications, visits at the counter, withdrawals, and the deadline sweep every
simulated half-day. The catalogue is the sample one (infra/seed/catalogue/*.yaml, published with
`publish_item`), the calendar the official one (weekends, the 2026 Spring Festival and Qingming with
their adjusted working days), the clock a simulated one that only moves forward.

What is simulated is the people: applicants who forget materials, attach the wrong file, pick one
too large or with too many pages, skip a form field, are not yet real-name verified, and then fix
exactly what the bus told them; departments that ask for supplements, decide late or reject;
window staff who record visits. Their rates are the assumptions in `Behaviour` (stated in the
output); what the bus does with them is measured.

What is measured honestly: "told in the first response" compares the problems the first refused
submission listed with every problem a later response told that the first did not (the applicant
fixes exactly what it is told, so anything the first response missed shows up there).

Not the production path, and the output says so:
- the deep content checks run in their real sandbox once per distinct file content; later files with
  the same bytes get the cached findings (`CachingInspector`): the sample files are a small pool;
- the store is the unit tests' fake with an index on its outbox ids, its deadline watch and its vault
  (`IndexedFakeStore`), so that 10,000 cases cost a key lookup as in DynamoDB, not a scan of all
  written so far; and it copies a model the way the DynamoDB adapter does (its document validated
  back), not with `copy.deepcopy` (`_model_copies`). Its behaviour is the fake's, which the contract
  tests hold to the DynamoDB adapter;
- 2,000 applications or more run as one shard per core (two on this machine), each its own store;
  an applicant stays within one shard;
- in AWS an upload over the size limit is refused by S3 (the POST policy); `PolicyFiles` does the same.

    python -m bench --only cases_simulation          # 10,000 applications
    python -m bench --only cases_simulation --quick  # 500
    python -m bench.cases_simulation 2000            # any number, prints the table
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import itertools
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from chalicelib.adapters.sandbox import SandboxedInspector
from chalicelib.domain.applications import (
    Application,
    ApplicationStatus,
    MaterialStatus,
    Outcome,
    Reason,
    SupplementItem,
    TaskKind,
    TaskStatus,
)
from chalicelib.domain.calendar import add_working_days, is_working_day, working_days_between
from chalicelib.domain.catalogue import FieldType, FormField, ServiceItem
from chalicelib.domain.checklist import needed_materials
from chalicelib.domain.conditions import validate_answers
from chalicelib.domain.departments import Department
from chalicelib.domain.errors import OneTripError, Problem
from chalicelib.domain.file_checks import ContentLimits, Finding
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.domain.principals import Principal, PrincipalKind
from chalicelib.ports import PresignedPost
from chalicelib.services import cases
from chalicelib.services.applications import create_application, request_upload, update_answers
from chalicelib.services.catalogue import publish_item
from chalicelib.services.deps import Deps
from chalicelib.services.identities import record_verified_identity
from chalicelib.services.materials import verify_material
from chalicelib.services.vault import VAULT, Reuse, offers, reuse_material
from infra.onetrip import samples

APPLICATIONS = 10_000
QUICK_APPLICATIONS = 500
SEED = 20260126
# Ten weeks of arrivals from Monday 26 January 2026, across the Spring Festival (15–23 February off,
# Saturdays 14 and 28 February worked); the long items finish after Qingming and Labour Day.
START = datetime(2026, 1, 26, 0, 0, tzinfo=UTC)
ARRIVAL_DAYS = 68
# UTC hours. Departments and windows work 09:00–17:30 China time (01:00–09:30 UTC); applicants act
# 08:00–23:00 China time. Both stay within one UTC date, so a date here is the date in China.
OFFICE_HOURS = (1.0, 9.5)
APPLICANT_HOURS = (0.0, 15.0)


@dataclass(frozen=True)
class Behaviour:
    """The simulated people's habits: assumptions, reported with the results."""

    applicants_per_application: float = 0.8  # some apply more than once (their vault then helps)
    unverified_applicant: float = 0.08  # not yet real-name verified at their first submission
    skip_field: float = 0.04  # per required form field left unanswered
    forget_material: float = 0.05  # per required material not uploaded
    forget_conditional: float = 0.15  # per conditional material whose condition holds
    wrong_file: float = 0.03  # a renamed file: declared PDF, the bytes are a PNG photo
    too_many_pages: float = 0.10  # per material with a page limit: a longer PDF
    too_large: float = 0.02  # per upload: bigger than the limit (the POST policy refuses it at S3)
    give_up_after_refusal: float = 0.01  # withdraw the draft instead of fixing it
    vault_consent: float = 0.9  # accepts an offered earlier verified copy
    supplement_first_review: float = 0.12  # a department asks for a supplement at its first review
    supplement_after_resubmission: float = 0.15  # ... and again after the applicant answered
    supplement_field: float = 0.15  # an item of a request names a form field rather than a material
    supplement_mistake: float = 0.03  # the supplemented file is wrong again
    withdraw_in_supplement: float = 0.02  # withdraw instead of supplementing
    withdraw_in_review: float = 0.005  # withdraw while the departments review
    reject: float = 0.04  # per department decision
    late_department: float = 0.04  # a department decides after its deadline
    extra_visit_one_trip: float = 0.04  # a second visit on an item promised with one visit
    visit_online_item: float = 0.015  # a visit on an item promised with none
    pickup_one_trip: float = 0.3  # the result picked up at the window (that is the one visit)
    mail: float = 0.15
    rate: float = 0.85  # of issued results
    close_unrated: float = 0.6  # of the rest


# Relative volume per item (a county's mix: ID cards, licences and social security dominate).
POPULARITY = {
    "YQ-PSB-ID-0002": 8, "YQ-HRSS-0001": 8, "YQ-TRF-0001": 7, "YQ-AMR-0001": 6, "YQ-PSB-CRJ-0001": 6,
    "YQ-TRF-0002": 6, "YQ-PSB-CRJ-0002": 5, "YQ-HRSS-0002": 5, "YQ-PSB-ID-0003": 4, "YQ-AMR-0003": 4,
    "YQ-RE-0010": 4, "YQ-PSB-ID-0001": 3, "YQ-HRSS-0003": 3, "YQ-AMR-0002": 3, "YQ-TAX-0001": 3,
    "YQ-RE-0011": 3, "YQ-RE-0030": 3, "YQ-AMR-0004": 2, "YQ-CIV-0010": 2, "YQ-PSB-HJ-0100": 2,
    "YQ-PSB-HJ-0102": 2, "YQ-PSB-HJ-0110": 2, "YQ-RE-0020": 2, "YQ-CIV-0001": 1, "YQ-HRSS-0004": 1,
    "YQ-PSB-HJ-0101": 1, "YQ-PSB-HJ-0103": 1, "YQ-DRC-0001": 0.5, "YQ-HOU-0001": 0.5, "YQ-NR-0001": 0.3,
    "YQ-HOU-0002": 0.3, "YQ-INV-0000": 0.2,
}
# Towns of the applicants (delegated items go to the town office that serves them).
REGIONS = (("330382101", 0.3), ("330382106", 0.2), ("330382", 0.5))
WINDOW = Principal(sub="sim-window", kind=PrincipalKind.WINDOW_STAFF, office="yq-centre", client_id="sim")
REJECTION = Reason(code="conditions_not_met", message_zh="不符合法定条件",
                   message_en="The statutory conditions are not met")
SUPPLEMENT_REASONS = (("scan_unclear", "扫描件不清晰", "The scan is not legible"),
                      ("signature_missing", "缺少签名或盖章", "A signature or seal is missing"),
                      ("information_inconsistent", "材料信息与申请不一致",
                       "The document does not match the application"))
FIELD_REASON = ("answer_inconsistent", "填写内容与材料不一致，请核对", "The answer does not match the documents")


# -- the fakes, made fit for 10,000 cases -------------------------------------------------------------


class _Outbox(list):  # type: ignore[type-arg]
    """The fake's outbox list with its event ids kept in a set as events are appended."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def append(self, event: Any) -> None:
        super().append(event)
        self.ids.add(event.id)

    def extend(self, events: Any) -> None:
        events = list(events)
        super().extend(events)
        self.ids.update(e.id for e in events)


class _Watch(dict):  # type: ignore[type-arg]
    """The fake's deadline watch {(day, task_id): watch} with a per-day index (a DynamoDB Query)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_day: dict[str, dict[str, Any]] = defaultdict(dict)

    def __setitem__(self, key: tuple[str, str], value: Any) -> None:
        super().__setitem__(key, value)
        self.by_day[key[0]][key[1]] = value

    def pop(self, key: tuple[str, str], *default: Any) -> Any:
        self.by_day.get(key[0], {}).pop(key[1], None)
        return super().pop(key, *default)


class _ModelCopies:
    """What the fakes' `copy` module is during a run: a model is copied the way the DynamoDB adapter
    copies one (its document, validated back into the model) instead of by `copy.deepcopy`, which is
    5× slower on an application; anything else as before. Same values, same isolation."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return type(value).model_validate(value.model_dump())
        return copy.deepcopy(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@contextmanager
def _model_copies() -> Iterator[None]:
    import tests.fake_vault
    import tests.fakes

    modules = (tests.fakes, tests.fake_vault)
    saved = [m.copy for m in modules]  # type: ignore[attr-defined]
    for m in modules:
        m.copy = _ModelCopies()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for m, original in zip(modules, saved, strict=True):
            m.copy = original  # type: ignore[attr-defined]


def _store() -> Any:
    from tests.fakes import FakeStore

    class IndexedFakeStore(FakeStore):
        def __init__(self) -> None:
            super().__init__()
            self.outbox_index = _Outbox()
            self.watch_index = _Watch()
            self.outbox = self.outbox_index
            self.deadline_watch = self.watch_index
            self.vault_by_owner: dict[str, list[Any]] = defaultdict(list)

        @property
        def outbox_ids(self) -> set[str]:
            return self.outbox_index.ids

        def list_deadline_watch(self, day: str) -> list[Any]:
            return [w for _, w in sorted(self.watch_index.by_day.get(day, {}).items())]

        def save_application_with_evidence(self, app: Any, expected_version: int, events: Any, vault: Any,
                                           access: Any) -> Any:
            saved = super().save_application_with_evidence(app, expected_version, events, vault, access)
            for entry in vault:
                kept = self.vault_by_owner[entry.owner]
                if not any(e.material == entry.material and e.sha256 == entry.sha256 for e in kept):
                    kept.append(entry)
            return saved

        def list_vault(self, owner: str) -> list[Any]:
            return sorted(self.vault_by_owner.get(owner, []), key=lambda e: (e.material, e.sha256))

    return IndexedFakeStore()


class PolicyFiles:
    """The fake bucket, and the browser's POST to it: like S3, a presigned POST refuses a file larger
    than its policy's content-length-range (the object never arrives)."""

    def __init__(self) -> None:
        from tests.fakes import FakeFiles

        self.bucket = FakeFiles()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bucket, name)

    def post(self, post: PresignedPost, data: bytes, content_type: str) -> bool:
        if len(data) > post.max_size:
            return False  # EntityTooLarge
        self.bucket.put(post.key, data, content_type)
        return True


class CachingInspector:
    """The real sandboxed deep checks, run once per distinct content (kind, SHA-256, limits)."""

    def __init__(self, inner: SandboxedInspector) -> None:
        self.inner = inner
        self.cache: dict[tuple[str, str, ContentLimits], list[Finding]] = {}
        self.hits = 0
        self.runs = 0
        self.seconds = 0.0

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        key = (kind, hashlib.sha256(data).hexdigest(), limits)
        found = self.cache.get(key)
        if found is not None:
            self.hits += 1
            return list(found)
        started = time.perf_counter()
        found = self.inner.inspect(kind, data, limits)
        self.seconds += time.perf_counter() - started
        self.runs += 1
        self.cache[key] = list(found)
        return found


class Notifier:
    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def notify(self, kind: str, department: str, subject: str, detail: dict[str, Any]) -> None:
        self.sent[kind] += 1


# -- the file pool --------------------------------------------------------------------------------------


class Files:
    """Real sample files (infra/onetrip/samples.py), a few of each so contents differ between uploads."""

    def __init__(self) -> None:
        from tests.hostile_corpus import pdf_plain

        self.pdfs = [samples.pdf(f"OneTrip sample {i}") for i in range(6)]
        self.pngs = [samples.png(8, 8, (40 * i, 200 - 30 * i, 90)) for i in range(6)]
        self.result = samples.pdf("OneTrip decision")
        self._long: dict[int, bytes] = {}
        self._large: dict[int, bytes] = {}
        self._pdf_plain = pdf_plain

    def long_pdf(self, pages: int) -> bytes:
        if pages not in self._long:
            self._long[pages] = self._pdf_plain(pages)
        return self._long[pages]

    def too_large(self, limit: int) -> bytes:
        if limit not in self._large:
            self._large[limit] = self.pdfs[0] + b"\n%" + b"0" * (limit - len(self.pdfs[0]))
        return self._large[limit]


# -- the simulated people -------------------------------------------------------------------------------


def _answer(rng: random.Random, f: FormField) -> Any:
    if f.type is FieldType.ENUM:
        weights = [3.0] + [1.0] * (len(f.choices) - 1)
        return rng.choices([c.value for c in f.choices], weights)[0]
    if f.type is FieldType.BOOLEAN:
        return rng.random() < (0.05 if "foreign" in f.name else 0.25)
    if f.type is FieldType.INTEGER:
        low = f.minimum if f.minimum is not None else 0
        high = f.maximum if f.maximum is not None else low + 10
        if f.name == "age":
            high = min(high, 85)
        if f.name in ("total_investment_wan", "floor_area_m2"):
            return int(min(high, max(low, round(10 ** rng.uniform(2, 4.3)))))
        return rng.randint(low, min(high, low + 5 if f.name in ("shareholders", "buyers") else high))
    if f.type is FieldType.DATE:
        return "2026-01-05"
    return "sim"


def _id_number(n: int) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    born = date(1950, 1, 1) + timedelta(days=(n // 900) % 20_000)
    body = f"330382{born:%Y%m%d}{n % 900 + 100:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


@dataclass
class Applicant:
    principal: Principal
    number: int
    verified: bool
    region: str
    applications: int = 0


@dataclass
class Case:
    """The simulation's own record of one application (its ground truth, never read by the bus)."""

    n: int
    item: ServiceItem
    applicant: Applicant
    truth: dict[str, Any]
    answered: dict[str, Any]
    app_id: str = ""
    submissions: int = 0
    first_told: set[tuple[str, str]] | None = None
    told: set[tuple[str, str]] = field(default_factory=set)
    found_later: list[str] = field(default_factory=list)  # problems a later response told, by cause
    late_answers: set[str] = field(default_factory=set)  # fields answered only after a refusal
    accepted: bool = False
    withdrawn: bool = False
    decided: bool = False
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> department
    asked: Counter[str] = field(default_factory=Counter)  # supplement requests per task
    supplement_items: int = 0
    resubmission_refusals: int = 0
    resubmission_not_told: int = 0
    round_seen: set[str] = field(default_factory=set)
    deadlines: list[str] = field(default_factory=list)
    pickup: bool = False
    source: Counter[str] = field(default_factory=Counter)  # how each needed material arrived


class Simulation:
    def __init__(self, applications: int, seed: int = SEED, behaviour: Behaviour | None = None,
                 shard: int = 0) -> None:
        from infra.onetrip.catalogue_files import CATALOGUE_DIR, load_departments, load_items
        from tests.fakes import fake_deps

        self.rng = random.Random(seed)
        self.b = behaviour or Behaviour()
        self.n = applications
        self.deps: Deps = fake_deps()
        self.deps.store = _store()
        self.deps.files = PolicyFiles()  # type: ignore[assignment]
        self.inspector = CachingInspector(SandboxedInspector())
        self.deps.inspector = self.inspector
        self.notifier = Notifier()
        self.deps.notifier = self.notifier
        self.deps.now.current = START  # type: ignore[attr-defined]
        self.files = Files()
        self.items = load_items(CATALOGUE_DIR)
        for item in self.items:
            publish_item(self.deps.store, item)
        for raw in load_departments():
            self.deps.store.put_department(Department.model_validate(
                {k: v for k, v in raw.items() if k in Department.model_fields}))
        self.weights = [POPULARITY.get(i.code, 1.0) for i in self.items]
        self.applicants: list[Applicant] = []
        self.cases: list[Case] = []
        self.queue: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.pending = 0  # events other than the sweep
        self.calls: Counter[str] = Counter()
        self.sweeps = 0
        self.swept: Counter[str] = Counter()
        self.errors: list[str] = []
        self.officers: dict[str, Principal] = {}
        self.shard = shard

    # -- the clock --------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.deps.now()

    def at(self, when: datetime, action: Callable[..., None], *args: Any, sweep: bool = False) -> None:
        when = max(when, self.now)
        heapq.heappush(self.queue, (when, next(self.seq), action, args))
        if not sweep:
            self.pending += 1

    def _hour(self, day: date, hours: tuple[float, float], after: datetime | None = None) -> datetime:
        low = hours[0]
        if after is not None and after.date() == day:
            low = max(low, after.hour + after.minute / 60 + 0.05)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            hours=self.rng.uniform(low, max(low, hours[1])))

    def office_time(self, working_days: int) -> datetime:
        """A moment in office hours `working_days` working days from now (0: today if still possible)."""
        now = self.now
        today = now.date()
        if working_days == 0 and is_working_day(today) and now.hour + now.minute / 60 < OFFICE_HOURS[1] - 0.2:
            return self._hour(today, OFFICE_HOURS, now)
        return self._hour(add_working_days(today, max(1, working_days)), OFFICE_HOURS)

    def applicant_time(self, days: float) -> datetime:
        when = self.now + timedelta(days=days)
        if not APPLICANT_HOURS[0] <= when.hour + when.minute / 60 < APPLICANT_HOURS[1]:
            when = self._hour(when.date() + timedelta(days=1), APPLICANT_HOURS)
        return when

    def call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls[name] += 1
        return fn(*args, **kwargs)

    def officer(self, department: str) -> Principal:
        if department not in self.officers:
            self.officers[department] = Principal(sub=f"sim-officer-{department}", kind=PrincipalKind.DEPARTMENT,
                                                  department=department, client_id="sim")
        return self.officers[department]

    # -- applicants -------------------------------------------------------------------------------------
    def applicant(self) -> Applicant:
        pool = max(1, int(self.n * self.b.applicants_per_application))
        if len(self.applicants) < pool and (not self.applicants or self.rng.random() < 0.85):
            number = len(self.applicants)
            region = self.rng.choices([r for r, _ in REGIONS], [w for _, w in REGIONS])[0]
            principal = Principal(sub=f"sim-citizen-{self.shard}-{number}", kind=PrincipalKind.CITIZEN, client_id="sim")
            person = Applicant(principal, number, verified=self.rng.random() >= self.b.unverified_applicant,
                               region=region)
            if person.verified:
                self.verify(person)
            self.applicants.append(person)
            return person
        return self.rng.choice(self.applicants)

    def verify(self, person: Applicant) -> None:
        self.call("record_verified_identity", record_verified_identity, self.deps, person.principal.sub,
                  "模拟申请人", _id_number(person.number * 4 + self.shard), AssuranceLevel.L2, "sim-face")
        person.verified = True

    def upload(self, case: Case, code: str, *, mistake: str | None = None) -> None:
        """Request a presigned POST, send the file, and let the bucket's event verify it."""
        spec = case.item.material(code)
        assert spec is not None
        kind = "pdf" if "pdf" in spec.accepted_types else "png"
        content_type = {"pdf": "application/pdf", "png": "image/png"}[kind]
        data = self.rng.choice(self.files.pdfs if kind == "pdf" else self.files.pngs)
        if mistake == "wrong_file":
            content_type, data = "application/pdf", self.rng.choice(self.files.pngs)
            if "pdf" not in spec.accepted_types:
                content_type = "image/png"
                data = self.rng.choice(self.files.pdfs)
        elif mistake == "too_many_pages" and spec.max_pages:
            content_type, data = "application/pdf", self.files.long_pdf(spec.max_pages + 1 + self.rng.randint(0, 20))
        elif mistake == "too_large":
            data = self.files.too_large(spec.max_size_bytes + 1)
            content_type = "application/pdf" if "pdf" in spec.accepted_types else content_type
        principal = case.applicant.principal
        _, post = self.call("request_upload", request_upload, self.deps, principal, case.app_id, code, content_type,
                            f"{code}.{kind}")
        if self.deps.files.post(post, data, content_type):  # type: ignore[attr-defined]
            self.call("verify_material", verify_material, self.deps, post.key)

    def mistake_for(self, item: ServiceItem, code: str) -> str | None:
        spec = item.material(code)
        assert spec is not None
        roll = self.rng.random()
        if roll < self.b.wrong_file:
            return "wrong_file"
        if roll < self.b.wrong_file + self.b.too_large:
            return "too_large"
        if spec.max_pages and self.rng.random() < self.b.too_many_pages:
            return "too_many_pages"
        return None

    def arrive(self, n: int) -> None:
        self.pending -= 1
        item = self.rng.choices(self.items, self.weights)[0]
        person = self.applicant()
        truth = {f.name: _answer(self.rng, f) for f in item.form}
        skipped = {f.name for f in item.form if f.required and self.rng.random() < self.b.skip_field}
        answered = {k: v for k, v in truth.items() if k not in skipped}
        case = Case(n, item, person, truth, answered)
        self.cases.append(case)
        region = person.region if item.delegated_to else None
        app = self.call("create_application", create_application, self.deps, person.principal, item.code,
                        answers=answered, region_code=region)
        case.app_id = app.id
        person.applications += 1
        # The checklist follows the answers given; a skipped field hides the materials it would bring.
        given, _ = validate_answers(item.form, answered)
        needed = needed_materials(item, given)
        if person.applications > 1 and any(s.valid_for_days for s in needed if not s.obtained_by_bus):
            self.reuse_from_vault(case)
        slots = self.deps.store.get_application(case.app_id).materials  # type: ignore[union-attr]
        for spec in needed:
            if spec.obtained_by_bus:
                continue
            if slots[spec.code].status is MaterialStatus.VERIFIED:
                continue  # filled from the vault
            forget = self.b.forget_conditional if spec.condition else self.b.forget_material
            if self.rng.random() < forget:
                continue
            self.upload(case, spec.code, mistake=self.mistake_for(item, spec.code))
        self.submit(case)

    def reuse_from_vault(self, case: Case) -> None:
        offered = self.call("vault_offers", offers, self.deps, case.applicant.principal, case.app_id)
        for offer in offered:
            if offer["source"] == VAULT and not offer["in_use"] and self.rng.random() < self.b.vault_consent:
                self.call("reuse_material", reuse_material, self.deps, case.applicant.principal, case.app_id,
                          offer["material"], Reuse(source=VAULT, consent=True, sha256=offer["sha256"]))

    def submit(self, case: Case) -> None:
        case.submissions += 1
        try:
            app = self.call("submit_application", cases.submit_application, self.deps, case.applicant.principal,
                            case.app_id)
        except OneTripError as refused:
            if not refused.problems:  # nothing to fix: not a one-time notification, a failure
                self.errors.append(f"submit {case.item.code}: {refused.code}")
                return
            told = {(p.code, p.target or "") for p in refused.problems}
            if case.first_told is None:
                case.first_told = told
                if self.rng.random() < self.b.give_up_after_refusal:
                    self.at(self.applicant_time(self.rng.uniform(0.1, 3)), self.withdraw, case)
                    return
            else:
                case.found_later += [self.cause(case, code, target) for code, target in sorted(told - case.told)]
            case.told |= told
            self.at(self.applicant_time(self.rng.uniform(0.02, 2.0)), self.fix, case, refused.problems)
            return
        if case.first_told is None:
            case.first_told = set()
        self.accepted(case, app)

    @staticmethod
    def cause(case: Case, code: str, target: str) -> str:
        """Why the first response could not tell this problem."""
        spec = case.item.material(target)
        if spec is not None and spec.condition and any(re.search(rf"\b{f}\b", spec.condition)
                                                       for f in case.late_answers):
            return f"{code}: conditional material of an answer given after the first response"
        return code

    def fix(self, case: Case, problems: list[Problem]) -> None:
        """The applicant fixes exactly what the response told, then submits again."""
        self.pending -= 1
        materials = []
        for p in problems:
            target = p.target or ""
            if target == "applicant":
                self.verify(case.applicant)
            elif target.startswith("answers."):
                name = target.removeprefix("answers.")
                case.answered[name] = case.truth[name]
                case.late_answers.add(name)
            elif case.item.material(target) is not None:
                materials.append(target)
        if any(t.startswith("answers.") for t in (p.target or "" for p in problems)):
            self.call("update_answers", update_answers, self.deps, case.applicant.principal, case.app_id,
                      dict(case.answered))
        for code in dict.fromkeys(materials):
            self.upload(case, code)
        self.submit(case)

    # -- acceptance and the departments --------------------------------------------------------------------
    def accepted(self, case: Case, app: Application) -> None:
        case.accepted = True
        assert app.case is not None
        case.deadlines.append(app.case.deadline)
        case.tasks = {t.task_id: t.department for t in app.tasks}
        typed, _ = validate_answers(case.item.form, app.answers)
        for spec in needed_materials(case.item, typed):
            slot = app.materials[spec.code]
            case.source["bus" if spec.obtained_by_bus else "vault" if slot.reused_from else "upload"] += 1
        for task_id in case.tasks:
            self.at(self.review_time(case), self.review, case, task_id)
        one_trip = case.item.max_visits == 1
        case.pickup = one_trip and self.rng.random() < self.b.pickup_one_trip
        if one_trip and not case.pickup:
            self.at(self.office_time(self.rng.randint(0, 2)), self.visit, case, "originals_check")
        extra = self.b.extra_visit_one_trip if one_trip else self.b.visit_online_item
        if self.rng.random() < extra:
            self.at(self.office_time(self.rng.randint(0, 3)), self.visit, case, "consultation")
        if self.rng.random() < self.b.withdraw_in_review:
            self.at(self.applicant_time(self.rng.uniform(0.1, max(1.0, case.item.committed_days))), self.withdraw,
                    case)

    def review_time(self, case: Case, remaining: int | None = None) -> datetime:
        """When a department acts: mostly within its committed days, sometimes on the last one or late."""
        days = case.item.committed_days if remaining is None else remaining
        roll = self.rng.random()
        if roll < self.b.late_department:
            k = days + self.rng.randint(1, 3)
        elif roll < self.b.late_department + 0.08:
            k = days
        else:
            k = self.rng.randint(0, max(0, days - 1))
        return self.office_time(k)

    def review(self, case: Case, task_id: str) -> None:
        self.pending -= 1
        app = self.deps.store.get_application(case.app_id)
        task = self.deps.store.get_task(task_id)
        if app is None or task is None or not task.is_open or task.status is TaskStatus.SUPPLEMENT_REQUESTED:
            return
        if app.status not in (ApplicationStatus.ACCEPTED, ApplicationStatus.IN_REVIEW, ApplicationStatus.RESUBMITTED,
                              ApplicationStatus.SUPPLEMENT_REQUESTED):
            return
        officer = self.officer(task.department)
        chance = self.b.supplement_first_review if case.asked[task_id] == 0 else self.b.supplement_after_resubmission
        if case.asked[task_id] < 2 and self.rng.random() < chance:
            items = self.supplement_items(case, app)
            if items:
                paused_before = app.status is ApplicationStatus.SUPPLEMENT_REQUESTED
                self.call("request_supplement", cases.request_supplement, self.deps, officer, task_id, items)
                case.asked[task_id] += 1
                case.supplement_items += len(items)
                if not paused_before:  # the first request of the round: the applicant answers the round
                    self.at(self.applicant_time(self.rng.uniform(0.3, 5.0)), self.supplement, case)
                return
        outcome = Outcome.REJECTED if self.rng.random() < self.b.reject else Outcome.APPROVED
        upload_id = None
        if outcome is Outcome.APPROVED and task.department == case.item.lead_department and case.item.results:
            upload_id, post = self.call("result_upload", cases.result_upload, self.deps, officer, task_id,
                                        "application/pdf")
            self.deps.files.post(post, self.files.result, "application/pdf")  # type: ignore[attr-defined]
        decided, _ = self.call("decide_task", cases.decide_task, self.deps, officer, task_id, outcome,
                               [REJECTION] if outcome is Outcome.REJECTED else [], upload_id)
        if decided.status is ApplicationStatus.DECIDED:
            case.decided = True
            self.at(self.applicant_time(self.rng.uniform(0.05, 3.0)), self.take_result, case)

    def supplement_items(self, case: Case, app: Application) -> list[SupplementItem]:
        """Everything this department needs, in one request: one or two materials or fields that no
        other department asked for in this round."""
        taken = {i.target for r in (app.case.open_round() if app.case else []) for i in r.items}
        uploads = [c for c, s in app.materials.items() if s.source == "upload" and s.status is MaterialStatus.VERIFIED]
        fields = [f.name for f in case.item.form if f.name in app.answers]
        chosen: list[SupplementItem] = []
        for _ in range(1 if self.rng.random() < 0.75 else 2):
            if fields and (not uploads or self.rng.random() < self.b.supplement_field):
                name = self.rng.choice(fields)
                item = SupplementItem(field=name, code=FIELD_REASON[0], message_zh=FIELD_REASON[1],
                                      message_en=FIELD_REASON[2])
            elif uploads:
                code, zh, en = self.rng.choice(SUPPLEMENT_REASONS)
                item = SupplementItem(material=self.rng.choice(uploads), code=code, message_zh=zh, message_en=en)
            else:
                break
            if item.target not in taken:
                taken.add(item.target)
                chosen.append(item)
        return chosen

    def supplement(self, case: Case, retry: list[Problem] | None = None) -> None:
        """The applicant answers the open round (everything in it), then resubmits."""
        self.pending -= 1
        app = self.deps.store.get_application(case.app_id)
        if app is None or app.status is not ApplicationStatus.SUPPLEMENT_REQUESTED or app.case is None:
            return
        if retry is None and self.rng.random() < self.b.withdraw_in_supplement:
            self.withdraw(case, scheduled=False)
            return
        in_round = [i.target for r in app.case.open_round() for i in r.items]
        # First answer: everything the round asks. After a refusal: what it told, plus anything a
        # department added to the round since.
        targets = in_round if retry is None else [*(p.target or "" for p in retry),
                                                  *(t for t in in_round if t not in case.round_seen)]
        case.round_seen = set(in_round)
        fields = [t.removeprefix("field:") for t in targets if t.startswith("field:")]
        if fields:  # the department asked to check these answers: confirmed as they were
            self.call("update_answers", update_answers, self.deps, case.applicant.principal, case.app_id,
                      dict(case.answered))
        for target in dict.fromkeys(t.removeprefix("material:") for t in targets if t.startswith("material:")):
            mistake = "wrong_file" if retry is None and self.rng.random() < self.b.supplement_mistake else None
            self.upload(case, target, mistake=mistake)
        asked = [r.task_id for r in app.case.open_round()]
        try:
            resumed = self.call("resubmit", cases.resubmit, self.deps, case.applicant.principal, case.app_id)
        except OneTripError as refused:
            if not refused.problems:
                self.errors.append(f"resubmit {case.item.code}: {refused.code}")
                return
            case.resubmission_refusals += 1
            if retry is not None:
                told = {p.target for p in retry}
                case.resubmission_not_told += sum(1 for p in refused.problems if p.target not in told)
            self.at(self.applicant_time(self.rng.uniform(0.02, 1.0)), self.supplement, case, refused.problems)
            return
        assert resumed.case is not None
        case.deadlines.append(resumed.case.deadline)
        remaining = max(0, working_days_between(self.now.date(), date.fromisoformat(resumed.case.deadline)))
        for task_id in dict.fromkeys(asked):
            self.at(self.review_time(case, remaining=min(remaining, 3)), self.review, case, task_id)

    def withdraw(self, case: Case, scheduled: bool = True) -> None:
        if scheduled:
            self.pending -= 1
        app = self.deps.store.get_application(case.app_id)
        if app is None or app.status in (ApplicationStatus.DECIDED, ApplicationStatus.RESULT_ISSUED,
                                          ApplicationStatus.CLOSED, ApplicationStatus.WITHDRAWN):
            return
        self.call("withdraw", cases.withdraw, self.deps, case.applicant.principal, case.app_id)
        case.withdrawn = True

    def visit(self, case: Case, reason: str) -> None:
        self.pending -= 1
        code, _ = self.call("counter_pass", cases.counter_pass, self.deps, case.applicant.principal, case.app_id)
        self.call("record_visit", cases.record_visit, self.deps, WINDOW, case.app_id, code, reason)

    # -- after the decision ---------------------------------------------------------------------------------
    def take_result(self, case: Case) -> None:
        self.pending -= 1
        principal = case.applicant.principal
        if case.pickup:
            method, address, office = "pickup", None, case.item.lead_department
        elif self.rng.random() < self.b.mail:
            method, address, office = "mail", "浙江省乐清市模拟路 1 号", None
        else:
            method, address, office = "download", None, None
        self.call("issue_result", cases.issue_result, self.deps, principal, case.app_id, method, address, office)
        if case.pickup:
            self.visit_now(case, "result_pickup")
        if self.rng.random() < self.b.rate:
            self.at(self.applicant_time(self.rng.uniform(0.01, 2.0)), self.rate, case)
        elif self.rng.random() < self.b.close_unrated:
            self.at(self.applicant_time(self.rng.uniform(1.0, 7.0)), self.close, case)

    def visit_now(self, case: Case, reason: str) -> None:
        self.pending += 1
        self.visit(case, reason)

    def rate(self, case: Case) -> None:
        self.pending -= 1
        app = self.deps.store.get_application(case.app_id)
        assert app is not None
        rejected = app.outcome is Outcome.REJECTED
        weights = (10, 15, 20, 25, 30) if rejected else (1, 3, 6, 20, 70)
        level = self.rng.choices((1, 2, 3, 4, 5), weights)[0]
        rated = self.call("rate", cases.rate, self.deps, case.applicant.principal, case.app_id, level,
                          "等待时间长" if level <= 2 else None)
        assert rated.case is not None and rated.case.rating is not None
        if rated.case.rating.rectification_task_id:
            task_id = rated.case.rating.rectification_task_id
            roll = self.rng.random()
            k = self.rng.randint(1, 4) if roll < 0.85 else self.rng.randint(5, 8)
            self.at(self.office_time(k), self.rectify, case, task_id)

    def close(self, case: Case) -> None:
        self.pending -= 1
        self.call("close", cases.close, self.deps, case.applicant.principal, case.app_id)

    def rectify(self, case: Case, task_id: str) -> None:
        self.pending -= 1
        task = self.deps.store.get_task(task_id)
        assert task is not None
        self.call("close_rectification", cases.close_rectification, self.deps, self.officer(task.department), task_id,
                  "已回访并改进告知")

    # -- the bus's schedule --------------------------------------------------------------------------------
    def sweep(self) -> None:
        self.sweeps += 1
        self.swept.update(self.call("sweep_deadlines", cases.sweep_deadlines, self.deps))
        if self.pending > 0:
            self.at(self.now + timedelta(hours=12), self.sweep, sweep=True)

    # -- the run -------------------------------------------------------------------------------------------
    def schedule_arrivals(self) -> None:
        days = [START.date() + timedelta(days=d) for d in range(ARRIVAL_DAYS)]
        weights = [1.0 if is_working_day(d) else (0.3 if d.weekday() < 5 else 0.4) for d in days]
        for n in range(self.n):
            day = self.rng.choices(days, weights)[0]
            self.at(self._hour(day, APPLICANT_HOURS), self.arrive, n)

    def run(self) -> dict[str, Any]:
        """Every event in time order until nothing is left to do; the raw tallies of what happened."""
        started, cpu = time.perf_counter(), _cpu()
        self.schedule_arrivals()
        self.at(START, self.sweep, sweep=True)
        events = 0
        with _model_copies():
            while self.queue:
                when, _, action, args = heapq.heappop(self.queue)
                self.deps.now.current = when  # type: ignore[attr-defined]
                action(*args)
                events += 1
            seconds = time.perf_counter() - started
            return {**self.tallies(seconds, events), "cpu_seconds": _cpu() - cpu}

    # -- what came out --------------------------------------------------------------------------------------
    def tallies(self, seconds: float, events: int) -> dict[str, Any]:
        """Counts that add across shards (the summary computes every share from them)."""
        store = self.deps.store
        apps = {c.app_id: store.get_application(c.app_id) for c in self.cases}
        by_type: dict[str, list[Any]] = defaultdict(list)
        for e in store.outbox:  # type: ignore[attr-defined]
            by_type[e.type].append(e)
        decided = by_type["onetrip.case.decided"]
        accepted = [c for c in self.cases if c.accepted]
        visits = [len(apps[c.app_id].visits) for c in accepted]  # type: ignore[union-attr]
        rectifications = [e for e in by_type["onetrip.task.assigned"] if e.data.get("kind") == "rectification"]
        sources: Counter[str] = Counter()
        for c in accepted:
            sources.update(c.source)
        return {
            "applications": len(self.cases), "seconds": seconds, "events": events, "last_day": self.now.date(),
            "accepted": len(accepted), "joint": sum(1 for c in accepted if len(c.tasks) > 1),
            "statuses": Counter(a.status.value for a in apps.values() if a),
            "refused_first": sum(1 for c in self.cases if c.first_told),
            "told_first": sum(len(c.first_told or ()) for c in self.cases),
            "told_first_by_code": Counter(code for c in self.cases for code, _ in (c.first_told or ())),
            "found_later": Counter(cause for c in self.cases for cause in c.found_later),
            "accepted_at_second": sum(1 for c in accepted if c.submissions == 2),
            "more_than_two": sum(1 for c in accepted if c.submissions > 2),
            "department_items": sum(c.supplement_items for c in self.cases),
            "rounds": Counter(apps[c.app_id].case.supplement_rounds for c in accepted),  # type: ignore[union-attr]
            "resubmissions_refused": sum(c.resubmission_refusals for c in self.cases),
            "resubmission_not_told": sum(c.resubmission_not_told for c in self.cases),
            "visits": Counter(visits),
            "over_max_visits": sum(1 for c, v in zip(accepted, visits, strict=True) if v > c.item.max_visits),
            "decided": len(decided), "rejected": sum(1 for e in decided if e.data["outcome"] == "rejected"),
            "on_time": sum(1 for e in decided if e.data["on_time"]),
            "working_days_used": sum(e.data["working_days_used"] for e in decided),
            "committed_days": sum(e.data["committed_days"] for e in decided),
            "used_over_committed": sum(e.data["working_days_used"] / e.data["committed_days"] for e in decided),
            "decided_over_committed": sum(1 for e in decided if e.data["working_days_used"] > e.data["committed_days"]),
            "warned": self.swept["warned"], "breached": self.swept["breached"],
            "escalations": self.notifier.sent["deadline_breached"], "sweeps": self.sweeps,
            "ratings": Counter(a.case.rating.level for a in apps.values() if a and a.case and a.case.rating),
            "rectifications_opened": len(rectifications),
            "rectifications_closed": len(by_type["onetrip.rectification.closed"]),
            "rectifications_on_time": sum(1 for e in by_type["onetrip.rectification.closed"] if e.data["on_time"]),
            "sources": sources,
            "deep_checks_run": self.inspector.runs, "deep_checks_cached": self.inspector.hits,
            "deep_check_seconds": self.inspector.seconds,
            "calls": self.calls, "outbox_events": len(store.outbox),  # type: ignore[attr-defined]
            "errors": self.errors[:20], "invariants": self.invariants(apps, by_type),
        }

    def invariants(self, apps: dict[str, Application | None], by_type: dict[str, list[Any]]) -> dict[str, list[str]]:
        """What must hold whatever the people did; each entry lists its violations (empty: it holds)."""
        store: Any = self.deps.store
        out: dict[str, list[str]] = {name: [] for name in INVARIANTS}
        for c in self.cases:
            app = apps[c.app_id]
            if app is None:
                out["counts add up"].append(f"{c.n}: application missing")
                continue
            reviews = [store.get_task(r.task_id) for r in app.tasks if r.kind is TaskKind.REVIEW]
            if app.status in (ApplicationStatus.DECIDED, ApplicationStatus.RESULT_ISSUED, ApplicationStatus.CLOSED):
                if any(t is None or t.status is not TaskStatus.DECIDED for t in reviews):
                    out["a decided case has every task decided"].append(app.id)
                rejected = any(t is not None and t.outcome is Outcome.REJECTED for t in reviews)
                if (app.outcome is Outcome.REJECTED) != rejected:
                    out["a case is rejected iff a department rejected"].append(app.id)
            elif app.status is ApplicationStatus.WITHDRAWN:
                if any(t is not None and t.is_open for t in reviews):
                    out["no task open at the end"].append(f"{app.id} withdrawn with an open task")
            else:
                out["no task open at the end"].append(f"{app.id} {app.status.value}")
            if c.deadlines != sorted(c.deadlines) or (app.case and app.case.deadline < app.case.original_deadline):
                out["no deadline moved backwards"].append(app.id)
        per_task: dict[str, list[str]] = defaultdict(list)
        for e in store.outbox:
            if e.type in ("onetrip.task.assigned", "onetrip.task.supplemented"):
                per_task[e.data["task_id"]].append(e.data["deadline"])
        out["no deadline moved backwards"] += [t for t, ds in per_task.items() if ds != sorted(ds)]
        out["no task open at the end"] += [f"{t.id} {t.kind.value} {t.status.value}" for t in store.tasks.values()
                                           if t.is_open]
        out["the deadline watch is empty at the end"] += [task_id for _, task_id in store.deadline_watch]
        for e in by_type["onetrip.case.decided"]:
            app = apps[e.data["application_id"]]
            if app is not None and app.case is not None and e.data["on_time"] != (
                    app.decided_at is not None and app.decided_at[:10] <= app.case.deadline):
                out["on time means decided by the (extended) deadline"].append(app.id)
        decided_apps = [a for a in apps.values() if a and a.decided_at]
        withdrawn = sum(1 for a in apps.values() if a and a.status is ApplicationStatus.WITHDRAWN)
        checks = {
            "case.decided events = decided cases": (len(by_type["onetrip.case.decided"]), len(decided_apps)),
            "case.accepted events = accepted cases": (len(by_type["onetrip.case.accepted"]),
                                                      sum(1 for c in self.cases if c.accepted)),
            "review tasks assigned = departments of accepted cases": (
                sum(1 for e in by_type["onetrip.task.assigned"] if e.data.get("kind") == "review"),
                sum(len(c.item.departments) for c in self.cases if c.accepted)),
            "applications = withdrawn + decided": (len(self.cases), withdrawn + len(decided_apps)),
            "breaches swept = breach events": (self.swept["breached"], len(by_type["onetrip.task.deadline_breached"])),
            "rated cases = rated events": (sum(1 for a in apps.values() if a and a.case and a.case.rating),
                                          len(by_type["onetrip.case.rated"])),
        }
        out["counts add up"] += [f"{name}: {left} != {right}" for name, (left, right) in checks.items()
                                 if left != right]
        return out


INVARIANTS = ("a decided case has every task decided", "a case is rejected iff a department rejected",
              "no deadline moved backwards", "on time means decided by the (extended) deadline",
              "no task open at the end", "the deadline watch is empty at the end", "counts add up")


def _shard(applications: int, seed: int, shard: int) -> dict[str, Any]:
    return Simulation(applications, seed, shard=shard).run()


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the sandbox's forks)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in total:
                total[key] = copy.deepcopy(value)
            elif key == "invariants":
                for name, violations in value.items():
                    total[key][name] += violations
            elif key in ("seconds", "last_day"):
                total[key] = max(total[key], value)
            elif isinstance(value, Counter | int | float | list):
                total[key] += value
    return total


def run(applications: int = APPLICATIONS, seed: int = SEED, shards: int | None = None) -> dict[str, Any]:
    """The simulation, split into `shards` independent stores run in parallel (default: one per core
    for 2,000 applications or more); applicants stay within their shard."""
    import multiprocessing
    import os

    shards = shards or (min(2, os.cpu_count() or 1) if applications >= 2000 else 1)
    sizes = [applications // shards + (1 if i < applications % shards else 0) for i in range(shards)]
    started = time.perf_counter()
    if shards == 1:
        parts = [_shard(applications, seed, 0)]
    else:
        with multiprocessing.get_context("fork").Pool(shards) as pool:
            parts = pool.starmap(_shard, [(size, seed + i, i) for i, size in enumerate(sizes)])
    return summarize(_merge(parts), time.perf_counter() - started, shards)


def _share(part: float, whole: float, digits: int = 4) -> float:
    return round(part / whole, digits) if whole else 0.0


def summarize(t: dict[str, Any], wall: float, shards: int) -> dict[str, Any]:
    n = t["applications"]
    told, later = t["told_first"], sum(t["found_later"].values())
    sources = t["sources"]
    needed = sum(sources.values())
    calls = sum(t["calls"].values())
    return {
        "applications": n, "seed": SEED, "shards": shards,
        "period": f"arrivals {START.date()} + {ARRIVAL_DAYS} days; last event {t['last_day']}",
        "accepted": t["accepted"], "joint_share": _share(t["joint"], t["accepted"], 3),
        "statuses": dict(sorted(t["statuses"].items())),
        "first_response": {
            "refused_at_first": t["refused_first"], "share_refused_at_first": _share(t["refused_first"], n, 3),
            "problems_told_first": told, "told_first_by_code": dict(t["told_first_by_code"].most_common()),
            "problems_found_later": later, "found_later_by_cause": dict(t["found_later"]),
            "share_told_first": _share(told, told + later),
            "accepted_at_second_submission": t["accepted_at_second"],
            "needed_more_than_two_submissions": t["more_than_two"],
            "department_supplement_items": t["department_items"],
            "share_told_first_incl_department_requests": _share(told, told + later + t["department_items"]),
        },
        "supplement_rounds": {str(k): t["rounds"][k] for k in sorted(t["rounds"])},
        "resubmissions_refused": t["resubmissions_refused"],
        "resubmission_problems_not_told_before": t["resubmission_not_told"],
        "visits": {str(k): t["visits"][k] for k in sorted(t["visits"])},
        "one_trip_rate": _share(sum(v for k, v in t["visits"].items() if k <= 1), t["accepted"]),
        "within_max_visits": _share(t["accepted"] - t["over_max_visits"], t["accepted"]),
        "decided": t["decided"], "rejected": t["rejected"], "on_time_rate": _share(t["on_time"], t["decided"]),
        "working_days_mean": round(t["working_days_used"] / t["decided"], 2) if t["decided"] else 0.0,
        "committed_days_mean": round(t["committed_days"] / t["decided"], 2) if t["decided"] else 0.0,
        "used_over_committed_mean": round(t["used_over_committed"] / t["decided"], 3) if t["decided"] else 0.0,
        "decided_over_committed_days": t["decided_over_committed"],
        "deadline_warnings": t["warned"], "deadline_breaches": t["breached"], "breach_escalations": t["escalations"],
        "sweeps": t["sweeps"],
        "ratings": {str(k): t["ratings"][k] for k in sorted(t["ratings"])},
        "rectifications": {"opened": t["rectifications_opened"], "closed": t["rectifications_closed"],
                           "closed_on_time": t["rectifications_on_time"]},
        "materials": {"needed": needed, "upload": sources["upload"], "bus": sources["bus"], "vault": sources["vault"],
                      "share_without_upload": _share(needed - sources["upload"], needed)},
        "deep_checks": {"run": t["deep_checks_run"], "cached": t["deep_checks_cached"],
                        "seconds_in_sandbox": round(t["deep_check_seconds"], 2),
                        "note": "the deep content checks ran in their sandbox once per distinct file content; "
                                "later uploads of the same bytes got the cached findings (CachingInspector)"},
        "invariants": {"holds": not any(t["invariants"].values()),
                       "violations": {k: v[:20] for k, v in t["invariants"].items() if v}, "checked": list(INVARIANTS)},
        "errors": t["errors"],
        "service_calls": calls, "calls": dict(t["calls"].most_common()), "events_simulated": t["events"],
        "outbox_events": t["outbox_events"],
        "seconds": round(wall, 1), "shard_seconds_max": round(t["seconds"], 1),
        "cpu_seconds": round(t["cpu_seconds"], 1),
        "applications_per_second": round(n / wall, 1), "calls_per_second": round(calls / wall),
        "behaviour": dict(Behaviour().__dict__),
        "store": "tests/fakes.py FakeStore with an indexed outbox and deadline watch, models copied by "
                 "their document (as the DynamoDB adapter does) instead of deepcopy",
    }


def _pct(x: float) -> str:
    return f"{x:.1%}"


def table(r: dict[str, Any]) -> str:
    f, m, d = r["first_response"], r["materials"], r["deep_checks"]
    later = ", ".join(f"{k} {v}" for k, v in f["found_later_by_cause"].items()) or "none"
    return "\n".join([
        f"Case simulation: {r['applications']:,} applications over the sample catalogue ({r['period']}), "
        f"{r['shards']} shard(s); joint items {_pct(r['joint_share'])} of {r['accepted']:,} accepted cases",
        f"  end states         {r['statuses']}",
        f"  first response     {_pct(f['share_refused_at_first'])} refused at first submission, telling "
        f"{f['problems_told_first']:,} problems; found only by a later response: {f['problems_found_later']} "
        f"({later})",
        f"                     told in the first response: {_pct(f['share_told_first'])} of the submission "
        f"problems; {_pct(f['share_told_first_incl_department_requests'])} if the "
        f"{f['department_supplement_items']:,} items departments asked for later count too",
        f"  supplement rounds  {r['supplement_rounds']}; resubmissions refused {r['resubmissions_refused']} "
        f"(problems not told by the refusal before: {r['resubmission_problems_not_told_before']})",
        f"  visits             {r['visits']}; one-trip rate (≤ 1 visit) {_pct(r['one_trip_rate'])}; "
        f"within the item's maximum {_pct(r['within_max_visits'])}",
        f"  decisions          {r['decided']:,} ({r['rejected']} rejected); on time {_pct(r['on_time_rate'])}; "
        f"working days used {r['working_days_mean']} vs committed {r['committed_days_mean']} "
        f"(mean ratio {r['used_over_committed_mean']})",
        f"  deadline sweep     {r['sweeps']} sweeps: {r['deadline_warnings']:,} warnings, "
        f"{r['deadline_breaches']} breaches escalated ({r['breach_escalations']} notifications)",
        f"  ratings            {r['ratings']}; rectifications {r['rectifications']}",
        f"  materials          {m['needed']:,} needed: {m['upload']:,} uploaded, {m['bus']:,} by the bus, "
        f"{m['vault']} from the vault: {_pct(m['share_without_upload'])} without an upload",
        f"  deep checks        {d['run']} ran in the sandbox ({d['seconds_in_sandbox']} s), {d['cached']:,} "
        "answered from the content cache (same bytes, same findings)",
        "  invariants         " + ("all hold" if r["invariants"]["holds"] else
                                   f"VIOLATED {r['invariants']['violations']}")
        + (f"; errors {r['errors']}" if r["errors"] else ""),
        f"  time               {r['seconds']} s wall ({r['cpu_seconds']} s CPU): {r['applications_per_second']} "
        f"applications/s, {r['service_calls']:,} service calls ({r['calls_per_second']:,}/s), "
        f"{r['outbox_events']:,} events",
    ])


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else APPLICATIONS
    print(table(run(count)))
