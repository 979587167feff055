"""Verification of uploaded materials: the hostile-corpus table and the verifier's throughput.

Measures what `verify_material` does per file after S3 hands it over — SHA-256, size and magic-byte
judgement, then the deep content checks in their sandbox (a forked child under the time and memory
budget) — on the corpus of tests/hostile_corpus.py, on realistic scanned PDFs (1–20 pages, one
JPEG page image per page at 150 dpi) and on phone-like photos (3–12 MP JPEG) generated with Pillow.
S3 transfer time is not included (it depends on the region, not on this code).

`run()` returns a dict, `table(result)` renders it; `python -m bench.verification` prints both.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from chalicelib.adapters.sandbox import Budget, SandboxedInspector
from chalicelib.domain.catalogue import MaterialSpec
from chalicelib.domain.materials import (
    SNIFF_BYTES,
    ObjectFacts,
    content_limits,
    content_problems,
    deep_check_kind,
    judge,
)
from tests import hostile_corpus as corpus

MIB = 1024 * 1024
PDF_PAGES = (1, 5, 10, 20)
PHOTO_SIZES = ((2000, 1500), (3000, 2000), (3264, 2448), (4000, 3000))  # 3, 6, 8, 12 MP
REPEAT = 3


def _verify(data: bytes, kind: str, content_type: str, inspector: SandboxedInspector, *,
            max_size: int = 100 * MIB, max_pages: int | None = None) -> tuple[str, list[str], list[str]]:
    """The verifier's per-file work, as services/materials.py does it (without the S3 round trip)."""
    spec = MaterialSpec(code="m", name_zh="材料", name_en="Material", accepted_types=(kind,),
                        max_size_bytes=max_size, max_pages=max_pages)
    facts = ObjectFacts(size=len(data), head=data[:SNIFF_BYTES], declared_content_type=content_type,
                        sha256=hashlib.sha256(data).hexdigest())
    problems = judge(spec, facts)
    notices = []
    deep = deep_check_kind(spec, facts, problems)
    if deep is not None:
        problems, notices = content_problems(spec, inspector.inspect(deep, data, content_limits(spec)))
    return ("rejected" if problems else "verified"), [p.code for p in problems], [n.code for n in notices]


def hostile_table(inspector: SandboxedInspector) -> list[dict[str, Any]]:
    rows = []
    for sample in (*corpus.good_samples(), *corpus.hostile_samples()):
        started = time.perf_counter()
        verdict, reasons, notices = _verify(sample.data, sample.kind, sample.content_type, inspector,
                                            max_size=sample.max_size, max_pages=sample.max_pages)
        ms = (time.perf_counter() - started) * 1000
        rows.append({"file": sample.name, "bytes": len(sample.data), "expected": sample.verdict,
                     "verdict": verdict, "reasons": reasons, "notices": notices, "ms": round(ms, 1),
                     "as_expected": verdict == sample.verdict and set(sample.reasons) <= set(reasons)})
    return rows


def _throughput(label: str, files: list[tuple[str, bytes]], kind: str, content_type: str,
                inspector: SandboxedInspector) -> list[dict[str, Any]]:
    rows = []
    for name, data in files:
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            verdict, reasons, _ = _verify(data, kind, content_type, inspector)
            times.append(time.perf_counter() - started)
            assert verdict == "verified", (name, reasons)
        median = statistics.median(times)
        rows.append({"group": label, "file": name, "mb": round(len(data) / MIB, 2),
                     "ms": round(median * 1000, 1), "mb_per_s": round(len(data) / MIB / median, 1),
                     "files_per_s": round(1 / median, 1)})
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total_mb = sum(r["mb"] for r in rows)
    total_s = sum(r["ms"] for r in rows) / 1000
    return {"files": len(rows), "mb": round(total_mb, 2), "mb_per_s": round(total_mb / total_s, 1),
            "files_per_s": round(len(rows) / total_s, 1)}


def run() -> dict[str, Any]:
    inspector = SandboxedInspector(Budget())
    hostile = hostile_table(inspector)
    pdfs = [(f"scan-{n}p.pdf", corpus.scanned_pdf(n, dpi=150, seed=n)) for n in PDF_PAGES]
    photos = [(f"photo-{w * h / 1e6:.0f}mp.jpg", corpus.photo(w, h, seed=i)) for i, (w, h) in enumerate(PHOTO_SIZES)]
    pdf_rows = _throughput("pdf", pdfs, "pdf", "application/pdf", inspector)
    photo_rows = _throughput("photo", photos, "jpg", "image/jpeg", inspector)
    return {
        "budget": {"seconds": inspector.budget.seconds, "memory_mb": inspector.budget.memory_bytes // MIB},
        "cpus": os.cpu_count(),
        "hostile_corpus": hostile,
        "all_as_expected": all(r["as_expected"] for r in hostile),
        "throughput": pdf_rows + photo_rows,
        "summary": {"pdf": _summary(pdf_rows), "photo": _summary(photo_rows)},
        "note": "one process, files one after another; per file: sha256 + magic bytes + sandboxed deep checks "
                "(fork, rlimits); S3 transfer excluded; median of 3 runs per file",
    }


def table(result: dict[str, Any]) -> str:
    lines = ["Hostile corpus (budget {seconds:.0f} s, {memory_mb} MiB per file)".format(**result["budget"]),
             f"{'file':30} {'bytes':>10} {'verdict':9} {'ms':>7}  reasons / notices"]
    for r in result["hostile_corpus"]:
        flag = "" if r["as_expected"] else "  << UNEXPECTED"
        why = ", ".join(r["reasons"] + [f"notice:{n}" for n in r["notices"]]) or "-"
        lines.append(f"{r['file']:30} {r['bytes']:>10} {r['verdict']:9} {r['ms']:>7.1f}  {why}{flag}")
    lines += ["", f"Throughput ({result['cpus']} CPUs, {result['note']})",
              f"{'file':22} {'MB':>7} {'ms':>8} {'MB/s':>7} {'files/s':>8}"]
    for r in result["throughput"]:
        lines.append(f"{r['file']:22} {r['mb']:>7.2f} {r['ms']:>8.1f} {r['mb_per_s']:>7.1f} {r['files_per_s']:>8.1f}")
    for group, s in result["summary"].items():
        lines.append(f"{group + ' (all)':22} {s['mb']:>7.2f} {'':>8} {s['mb_per_s']:>7.1f} {s['files_per_s']:>8.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    outcome = run()
    out = Path(__file__).resolve().parent / "results" / "verification.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(outcome, indent=2, ensure_ascii=False))
    print(table(outcome))
    print(f"\nwritten: {out}")
