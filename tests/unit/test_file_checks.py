"""The hostile corpus: every broken or malicious file gets the right verdict and reasons within its
budget, every good file of each accepted type passes — through the real checks in the real sandbox."""

from __future__ import annotations

import hashlib
import time

import pytest

from chalicelib.adapters.sandbox import Budget, InProcessInspector, SandboxedInspector
from chalicelib.domain.catalogue import MaterialSpec
from chalicelib.domain.file_checks import BUDGET_EXCEEDED, ContentLimits, Finding, inspect_content
from chalicelib.domain.materials import (
    SNIFF_BYTES,
    ObjectFacts,
    content_limits,
    content_problems,
    deep_check_kind,
    judge,
)
from tests import hostile_corpus as corpus

BUDGET = Budget()
SAMPLES = {s.name: s for s in (*corpus.good_samples(), *corpus.hostile_samples())}


def verdict_of(sample: corpus.Sample, inspector=None) -> tuple[str, list[str], list[str], float]:
    """What the verifier decides: the size/type judgement, then the deep checks under the budget."""
    inspector = inspector or SandboxedInspector(BUDGET)
    spec = MaterialSpec(code="m", name_zh="材料", name_en="Material", accepted_types=(sample.kind,),
                        max_size_bytes=sample.max_size, max_pages=sample.max_pages)
    facts = ObjectFacts(size=len(sample.data), head=sample.data[:SNIFF_BYTES], declared_content_type=sample.content_type,
                        sha256=hashlib.sha256(sample.data).hexdigest())
    started = time.perf_counter()
    problems = judge(spec, facts)
    notices = []
    kind = deep_check_kind(spec, facts, problems)
    if kind is not None:
        problems, notices = content_problems(spec, inspector.inspect(kind, sample.data, content_limits(spec)))
    elapsed = time.perf_counter() - started
    assert all(p.message_zh and p.message_en and p.target == "m" for p in problems + notices)
    codes = [p.code for p in problems]
    return ("rejected" if codes else "verified"), codes, [n.code for n in notices], elapsed


@pytest.mark.parametrize("name", [s.name for s in corpus.good_samples()])
def test_a_good_file_of_each_accepted_type_passes(name):
    sample = SAMPLES[name]
    verdict, codes, notices, elapsed = verdict_of(sample)
    assert (verdict, codes) == ("verified", [])
    assert notices == list(sample.notices)
    assert elapsed < BUDGET.seconds


@pytest.mark.parametrize("name", [s.name for s in corpus.hostile_samples()])
def test_a_hostile_file_is_rejected_with_its_reasons_within_the_budget(name):
    sample = SAMPLES[name]
    verdict, codes, _, elapsed = verdict_of(sample)
    assert verdict == "rejected"
    assert set(sample.reasons) <= set(codes), codes
    assert BUDGET_EXCEEDED not in codes
    assert elapsed < BUDGET.seconds


def test_every_accepted_type_has_good_and_hostile_samples():
    kinds = {"pdf", "png", "jpg", "ofd"}
    assert {s.kind for s in corpus.good_samples()} == kinds
    assert {s.kind for s in corpus.hostile_samples()} == kinds


def test_the_sandbox_gives_the_same_findings_as_the_checks_in_process():
    for name in ("javascript.pdf", "bomb.png", "zip-bomb.ofd", "gps.jpg", "form.pdf"):
        sample = SAMPLES[name]
        limits = ContentLimits(max_pages=sample.max_pages)
        assert SandboxedInspector(BUDGET).inspect(sample.kind, sample.data, limits) == \
            InProcessInspector().inspect(sample.kind, sample.data, limits)


# -- the budget -------------------------------------------------------------------------------------
def test_a_file_that_takes_longer_than_its_time_budget_is_rejected_not_left_pending():
    photo = corpus.photo(4000, 3000)  # decoding 12 MP takes far longer than 20 ms
    started = time.perf_counter()
    findings = SandboxedInspector(Budget(seconds=0.02)).inspect("jpg", photo, ContentLimits())
    elapsed = time.perf_counter() - started
    assert [f.code for f in findings] == [BUDGET_EXCEEDED]
    assert findings[0].detail["resource"] in ("time", "cpu")
    assert elapsed < 2  # the child was killed at its deadline, not waited for


def test_a_file_that_needs_more_memory_than_its_budget_is_rejected():
    photo = corpus.photo(4000, 3000)  # 12 MP: ~36 MB decoded
    findings = SandboxedInspector(Budget(seconds=20, memory_bytes=8 * 1024 * 1024)).inspect(
        "jpg", photo, ContentLimits())
    assert [f.code for f in findings] == [BUDGET_EXCEEDED]
    assert findings[0].detail["resource"] == "memory"
    assert SandboxedInspector(BUDGET).inspect("jpg", photo, ContentLimits()) == []


def test_a_budget_rejection_has_a_message_for_the_applicant():
    spec = MaterialSpec(code="m", name_zh="材料", name_en="Material")
    problems, notices = content_problems(spec, [Finding(BUDGET_EXCEEDED, {"resource": "time"})])
    assert [p.code for p in problems] == [BUDGET_EXCEEDED] and notices == []
    assert "budget" in problems[0].message_en and problems[0].message_zh


# -- details that decide verdicts ----------------------------------------------------------------
def test_phone_photos_with_further_jpeg_images_appended_pass():
    """MPF (depth and gain maps) appends whole JPEG images after the first: not trailing junk."""
    first, second = corpus.photo(320, 240), corpus.photo(160, 120, seed=3)
    assert inspect_content("jpg", first + second, ContentLimits()) == []
    assert [f.code for f in inspect_content("jpg", first + second + b"<?php system($_GET[1]);", ContentLimits())] == [
        "trailing_data"]


def test_padding_after_the_end_of_a_file_is_not_trailing_data():
    assert inspect_content("pdf", corpus.pdf_plain() + b"\r\n\x00\x00", ContentLimits()) == []
    assert inspect_content("jpg", corpus.photo(64, 64) + b"\x00" * 16, ContentLimits()) == []


def test_location_metadata_is_a_notice_not_a_rejection():
    findings = inspect_content("jpg", corpus.photo(64, 64, gps=True), ContentLimits())
    assert [(f.code, f.blocking) for f in findings] == [("image_location_metadata", False)]
    assert inspect_content("jpg", corpus.photo(64, 64), ContentLimits()) == []


def test_pages_at_the_limit_pass_and_one_more_is_refused():
    assert inspect_content("pdf", corpus.pdf_plain(3), ContentLimits(max_pages=3)) == []
    findings = inspect_content("pdf", corpus.pdf_plain(4), ContentLimits(max_pages=3))
    assert [(f.code, f.detail) for f in findings] == [("pdf_too_many_pages", {"pages": 4, "max_pages": 3})]


def test_an_image_just_over_the_pixel_limit_is_refused_without_decoding():
    photo = corpus.photo(101, 100, fmt="PNG")
    findings = inspect_content("png", photo, ContentLimits(max_pixels=100 * 100))
    assert [f.code for f in findings] == ["image_too_many_pixels"]
    assert inspect_content("png", photo, ContentLimits(max_pixels=101 * 100)) == []


def test_a_png_that_is_really_a_jpeg_inside_is_a_format_mismatch():
    findings = inspect_content("png", b"\x89PNG\r\n\x1a\n" + corpus.photo(32, 32), ContentLimits())
    assert findings and all(f.blocking for f in findings)


def test_an_ofd_bomb_is_refused_by_its_declared_sizes_before_inflating():
    started = time.perf_counter()
    findings = inspect_content("ofd", SAMPLES["zip-bomb.ofd"].data, ContentLimits())
    assert [f.code for f in findings] == ["ofd_compression_ratio"]
    assert time.perf_counter() - started < 0.5


def test_an_ofd_over_the_total_uncompressed_bound_is_refused():
    ofd = corpus.zip_bytes({"OFD.xml": corpus.OFD_XML, "Doc_0/Document.xml": corpus.DOCUMENT_XML,
                            "Doc_0/Res/a.bin": bytes(range(256)) * 8192})
    findings = inspect_content("ofd", ofd, ContentLimits(max_uncompressed_bytes=1024 * 1024))
    assert [f.code for f in findings] == ["ofd_too_large_uncompressed"]
