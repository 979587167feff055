"""Verification on arrival end to end on fakes: deep checks, quarantine, verdict events in the same
write, content identity (the same bytes twice are judged once), and hostile file names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from chalicelib.adapters.sandbox import Budget, SandboxedInspector
from chalicelib.domain.applications import MATERIAL_REJECTED, MATERIAL_VERIFIED, MaterialStatus
from chalicelib.domain.catalogue import MaterialSpec
from chalicelib.domain.file_checks import BUDGET_EXCEEDED, ContentLimits, Finding
from chalicelib.services.applications import create_application, request_upload
from chalicelib.services.catalogue import publish_item
from chalicelib.services.materials import verify_material
from tests import hostile_corpus as corpus
from tests.unit.catalogue_samples import citizen, item, seeded_deps

MAX = 16 * 1024 * 1024


def spec(code: str, kind: str, **kw) -> MaterialSpec:
    return MaterialSpec(code=code, name_zh=f"材料{code}", name_en=f"Material {code}", accepted_types=(kind,),
                        max_size_bytes=MAX, **kw)


@dataclass
class CountingInspector:
    """The real sandboxed checks, counting how often a file is really inspected."""

    inner: SandboxedInspector = field(default_factory=SandboxedInspector)
    calls: list[str] = field(default_factory=list)

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        self.calls.append(hashlib.sha256(data).hexdigest())
        return self.inner.inspect(kind, data, limits)


@pytest.fixture
def deps():
    deps = seeded_deps()
    publish_item(deps.store, item("T-DOCS", materials=(
        spec("form", "pdf", max_pages=3), spec("photo", "jpg"), spec("scan", "png"), spec("licence", "ofd"))))
    deps.inspector = CountingInspector()
    return deps


@pytest.fixture
def app(deps):
    return create_application(deps, citizen(), "T-DOCS")


def put(deps, app, code, data, content_type, name="upload.bin"):
    _, post = request_upload(deps, citizen(), app.id, code, content_type, name)
    deps.files.put(post.key, data, content_type)
    return post.key


def slot(deps, app, code):
    return deps.store.get_application(app.id).materials[code]


def events(deps, app_id):
    return [e for e in deps.store.outbox if e.application_id == app_id]


@pytest.mark.parametrize("name,code", [
    ("javascript.pdf", "form"), ("encrypted.pdf", "form"), ("pdf-zip-polyglot.pdf", "form"),
    ("lying-count.pdf", "form"), ("trailing-script.jpg", "photo"), ("bomb.png", "scan"),
    ("zip-bomb.ofd", "licence"), ("png-renamed.pdf", "form"),
])
def test_a_hostile_upload_is_rejected_quarantined_and_announced(deps, app, name, code):
    sample = {s.name: s for s in corpus.hostile_samples()}[name]
    key = put(deps, app, code, sample.data, sample.content_type)
    result = verify_material(deps, key)
    assert result.outcome == "rejected" and set(sample.reasons) <= set(result.problem_codes)
    stored = slot(deps, app, code)
    assert stored.status is MaterialStatus.REJECTED
    assert {p["code"] for p in stored.problems} == set(result.problem_codes)
    assert key not in deps.files.objects and deps.files.quarantined["quarantine/" + key][0] == sample.data
    [event] = events(deps, app.id)
    assert event.type == MATERIAL_REJECTED and event.recipients == []
    assert event.data["material"] == code and event.data["reasons"] == list(result.problem_codes)
    assert event.data["sha256"] == hashlib.sha256(sample.data).hexdigest()


@pytest.mark.parametrize("code,content_type,data", [
    ("form", "application/pdf", corpus.pdf_made_with_pypdf(2)),
    ("photo", "image/jpeg", corpus.photo(320, 240)),
    ("scan", "image/png", corpus.photo(200, 100, fmt="PNG")),
    ("licence", "application/ofd", corpus.ofd_minimal()),
])
def test_a_good_upload_is_verified_kept_in_place_and_announced(deps, app, code, content_type, data):
    key = put(deps, app, code, data, content_type)
    result = verify_material(deps, key)
    assert (result.outcome, result.problem_codes) == ("verified", ())
    assert key in deps.files.objects and not deps.files.quarantined
    [event] = events(deps, app.id)
    assert event.type == MATERIAL_VERIFIED and event.data["reasons"] == []
    assert slot(deps, app, code).sha256 == hashlib.sha256(data).hexdigest()


def test_the_event_carries_no_file_name(deps, app):
    key = put(deps, app, "form", corpus.pdf_plain(), "application/pdf", name="张三的身份证.pdf")
    verify_material(deps, key)
    assert slot(deps, app, "form").file_name == "张三的身份证.pdf"
    assert "张三" not in events(deps, app.id)[0].model_dump_json()


def test_a_photo_with_its_location_is_verified_with_a_notice(deps, app):
    key = put(deps, app, "photo", corpus.photo(320, 240, gps=True), "image/jpeg")
    result = verify_material(deps, key)
    assert (result.outcome, result.notice_codes) == ("verified", ("image_location_metadata",))
    notices = slot(deps, app, "photo").notices
    assert [n["code"] for n in notices] == ["image_location_metadata"] and notices[0]["message_zh"]
    assert events(deps, app.id)[0].data["notices"] == ["image_location_metadata"]


def test_a_file_over_the_limit_is_judged_by_its_size_without_being_parsed(deps, app):
    key = put(deps, app, "form", corpus.pdf_plain() + b"\n" * MAX, "application/pdf")
    assert verify_material(deps, key).problem_codes == ("file_too_large",)
    assert deps.inspector.calls == []


# -- content identity ---------------------------------------------------------------------------
def test_the_same_content_uploaded_again_reuses_its_verdict_without_a_second_verification(deps, app):
    data = corpus.pdf_made_with_pypdf(1)
    first_key = put(deps, app, "form", data, "application/pdf")
    first = verify_material(deps, first_key)
    second_key = put(deps, app, "form", data, "application/pdf")
    second = verify_material(deps, second_key)
    assert first.outcome == second.outcome == "verified"
    assert len(deps.inspector.calls) == 1
    stored = slot(deps, app, "form")
    assert stored.key == second_key and stored.verdict_reused_from == first_key.rsplit("/", 1)[1]
    assert second.reused_from == stored.verdict_reused_from
    assert [e.data["verdict_reused_from"] for e in events(deps, app.id)] == [None, stored.verdict_reused_from]


def test_the_same_hostile_content_again_is_rejected_at_once_and_quarantined(deps, app):
    data = corpus.pdf_with_javascript()
    verify_material(deps, put(deps, app, "form", data, "application/pdf"))
    again = put(deps, app, "form", data, "application/pdf")
    result = verify_material(deps, again)
    assert (result.outcome, result.problem_codes) == ("rejected", ("pdf_javascript",))
    assert len(deps.inspector.calls) == 1
    assert "quarantine/" + again in deps.files.quarantined


def test_other_content_for_the_same_slot_is_verified_afresh(deps, app):
    verify_material(deps, put(deps, app, "form", corpus.pdf_with_javascript(), "application/pdf"))
    result = verify_material(deps, put(deps, app, "form", corpus.pdf_plain(2), "application/pdf"))
    assert result.outcome == "verified" and result.reused_from is None
    assert len(deps.inspector.calls) == 2
    assert slot(deps, app, "form").problems == []


def test_a_verdict_of_an_exhausted_budget_is_not_reused(deps, app):
    data = corpus.photo(4000, 3000)
    deps.inspector = CountingInspector(SandboxedInspector(Budget(seconds=0.02)))
    assert verify_material(deps, put(deps, app, "photo", data, "image/jpeg")).problem_codes == (BUDGET_EXCEEDED,)
    deps.inspector = CountingInspector()
    assert verify_material(deps, put(deps, app, "photo", data, "image/jpeg")).outcome == "verified"
    assert len(deps.inspector.calls) == 1


def test_the_same_content_in_another_slot_is_verified_for_that_slot(deps, app):
    """Identity is per slot: another spec may have other limits (pages, types)."""
    other = create_application(deps, citizen(), "T-DOCS")
    data = corpus.pdf_plain(1)
    verify_material(deps, put(deps, app, "form", data, "application/pdf"))
    verify_material(deps, put(deps, other, "form", data, "application/pdf"))
    assert len(deps.inspector.calls) == 2


# -- at least once --------------------------------------------------------------------------------
def test_a_redelivered_rejection_changes_nothing_and_leaves_the_object_quarantined(deps, app):
    key = put(deps, app, "form", corpus.pdf_with_javascript(), "application/pdf")
    verify_material(deps, key)
    version = deps.store.get_application(app.id).version
    again = verify_material(deps, key)
    assert (again.outcome, again.reason) == ("ignored", "already_verified")
    assert deps.store.get_application(app.id).version == version and len(events(deps, app.id)) == 1
    assert "quarantine/" + key in deps.files.quarantined and key not in deps.files.objects


def test_a_rejection_saved_before_a_crash_is_quarantined_on_redelivery(deps, app):
    key = put(deps, app, "form", corpus.pdf_with_javascript(), "application/pdf")
    quarantine = deps.files.quarantine
    deps.files.quarantine = lambda k: (_ for _ in ()).throw(ConnectionError("s3 down"))
    with pytest.raises(ConnectionError):
        verify_material(deps, key)
    assert slot(deps, app, "form").status is MaterialStatus.REJECTED and key in deps.files.objects
    deps.files.quarantine = quarantine
    assert verify_material(deps, key).outcome == "ignored"
    assert key not in deps.files.objects and "quarantine/" + key in deps.files.quarantined
    assert len(events(deps, app.id)) == 1


def test_a_lost_write_race_re_decides_without_parsing_the_file_again(deps, app):
    key = put(deps, app, "form", corpus.pdf_plain(1), "application/pdf")
    save = deps.store.save_application_with_events
    raced = []

    def racing_save(updated, expected_version, evts):
        if not raced:  # the applicant's other request lands between our read and our write
            raced.append(True)
            current = deps.store.get_application(app.id)
            deps.store.save_application(current, current.version)
        return save(updated, expected_version, evts)

    deps.store.save_application_with_events = racing_save
    assert verify_material(deps, key).outcome == "verified"
    assert len(deps.inspector.calls) == 1 and len(raced) == 1
    assert len(events(deps, app.id)) == 1


# -- hostile file names -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", corpus.HOSTILE_NAMES)
def test_a_hostile_file_name_never_reaches_the_key_and_is_shown_sanitized(deps, app, name):
    updated, post = request_upload(deps, citizen(), app.id, "form", "application/pdf", name)
    assert post.key.startswith(f"materials/{app.id}/form/upl_") and post.key.count("/") == 3
    shown = updated.materials["form"].file_name
    assert shown and "/" not in shown and "\\" not in shown and len(shown.encode()) <= 255
    assert not any(ch in shown for ch in ("\x00", "\u202e", "\x1b"))
    assert deps.files.posts[-1]["key_prefix"] == f"materials/{app.id}/"


def test_an_upload_overwritten_after_its_verdict_does_not_change_what_departments_get():
    """A presigned POST stays usable for minutes; bytes written after the verdict never reach the
    sealed copy that departments download."""
    from chalicelib.services.materials import verify_material
    from tests.unit.catalogue_samples import BYTES_FOR, citizen, seeded_deps, upload

    deps = seeded_deps()
    owner = citizen("citizen-1")
    from chalicelib.services.applications import create_application

    app = create_application(deps, owner, "T-SINGLE")
    key = upload(deps, owner, app.id, "form")
    assert verify_material(deps, key).outcome == "verified"
    sealed = deps.store.get_application(app.id).materials["form"].sealed_key
    original = deps.files.objects[sealed][0]
    deps.files.put(key, b"%PDF-1.4 something else entirely", "application/pdf")  # the URL reused
    assert verify_material(deps, key).outcome == "ignored"
    assert deps.files.objects[sealed][0] == original == BYTES_FOR["application/pdf"]


def test_an_object_changed_between_reading_and_sealing_is_not_sealed():
    from chalicelib.services.applications import create_application
    from chalicelib.services.materials import verify_material
    from tests.unit.catalogue_samples import citizen, seeded_deps, upload

    deps = seeded_deps()
    owner = citizen("citizen-1")
    app = create_application(deps, owner, "T-SINGLE")
    key = upload(deps, owner, app.id, "form")
    real_seal = deps.files.seal

    def overwritten_meanwhile(k, etag):
        deps.files.put(k, b"%PDF-1.4 swapped", "application/pdf")
        return real_seal(k, etag)

    deps.files.seal = overwritten_meanwhile
    assert verify_material(deps, key).reason == "changed_during_verification"
    assert deps.store.get_application(app.id).materials["form"].status.value == "upload_requested"
