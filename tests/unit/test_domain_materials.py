"""The verifier judges a file by its size and its magic bytes, and lists every reason at once."""

from __future__ import annotations

import pytest

from chalicelib.domain.materials import judge, sniff_type
from tests.unit.catalogue_samples import JPG, PDF, PNG, facts, material


@pytest.mark.parametrize("head,kind", [
    (PDF, "pdf"), (PNG, "png"), (JPG, "jpg"),
    (b"PK\x03\x04" + b"\x00" * 26, "ofd"), (b"GIF89a", None), (b"", None), (b"%PDF", None), (b" %PDF-1.7", None),
])
def test_sniff_type_reads_the_magic_number(head, kind):
    assert sniff_type(head) == kind


def codes(problems):
    return [p.code for p in problems]


def test_a_matching_file_has_no_problems():
    assert judge(material("form"), facts(PDF, "application/pdf")) == []
    assert judge(material("photo", types=("jpg", "png")), facts(PNG, "image/png")) == []


def test_a_file_over_the_limit_is_too_large():
    spec = material("form", max_size=10)
    problems = judge(spec, facts(PDF, "application/pdf"))
    assert codes(problems) == ["file_too_large"]
    assert problems[0].target == "form"
    assert problems[0].detail == {"size": len(PDF), "max_size_bytes": 10}


def test_a_file_exactly_at_the_limit_passes():
    assert judge(material("form", max_size=len(PDF)), facts(PDF, "application/pdf")) == []


def test_an_empty_file_is_refused():
    assert "file_empty" in codes(judge(material("form"), facts(b"", "application/pdf")))


def test_a_pdf_declared_file_that_is_a_png_is_refused_by_its_bytes():
    problems = judge(material("form"), facts(PNG, "application/pdf"))
    assert codes(problems) == ["file_type_not_accepted"]
    assert problems[0].detail["detected"] == "png"


def test_a_program_is_refused_and_named_for_what_it_is():
    problems = judge(material("form"), facts(b"MZ\x90\x00" + b"\x00" * 20, "application/pdf"))
    assert codes(problems) == ["file_type_not_accepted"]
    assert problems[0].detail["detected"] == "exe"


def test_bytes_of_no_known_type_are_refused():
    problems = judge(material("form"), facts(b"just some text, not a document", "application/pdf"))
    assert codes(problems) == ["file_type_not_accepted"]
    assert problems[0].detail["detected"] is None


def test_a_zip_is_an_ofd_candidate_only_where_ofd_is_accepted():
    zip_head = b"PK\x03\x04" + b"\x00" * 26
    assert codes(judge(material("form"), facts(zip_head, "application/pdf"))) == ["file_type_not_accepted"]
    assert judge(material("licence", types=("ofd",)), facts(zip_head, "application/ofd")) == []


def test_a_declared_type_other_than_the_content_is_a_mismatch():
    problems = judge(material("photo", types=("pdf", "png")), facts(PNG, "application/pdf"))
    assert codes(problems) == ["file_type_mismatch"]
    assert problems[0].detail == {"detected": "png", "declared": "application/pdf", "stored": None}


def test_a_stored_content_type_other_than_the_declared_one_is_a_mismatch():
    """Locally S3 does not enforce the POST policy's Content-Type; the verifier catches it."""
    sample = facts(PNG, "image/png")
    tampered = type(sample)(**{**sample.__dict__, "stored_content_type": "text/html"})
    problems = judge(material("photo", types=("png",)), tampered)
    assert codes(problems) == ["file_type_mismatch"]
    assert problems[0].detail["stored"] == "text/html"


def test_every_reason_is_listed_at_once():
    spec = material("form", max_size=10)
    problems = judge(spec, facts(PNG, "application/pdf"))
    assert codes(problems) == ["file_too_large", "file_type_not_accepted"]
    assert {p.target for p in problems} == {"form"}
    assert all(p.message_zh and p.message_en for p in problems)
