"""The files the benchmarks upload: a real one-page PDF (the verifier parses what arrives) and a PNG header."""

from infra.onetrip import samples as _files

# Real files built from their specifications: the verifier parses what arrives and rejects stubs.
PDF = _files.pdf()
PNG = _files.png()
SAMPLE = {"application/pdf": PDF, "image/png": PNG}


def answers_for(guide: dict) -> dict:
    """Valid answers to an item's form (first choice, yes, the minimum), so a draft passes its checks;
    the first choice of an enum is the one that brings in no conditional material."""
    answers: dict = {}
    for field in guide.get("form") or []:
        kind = field.get("type")
        if kind == "enum":
            answers[field["name"]] = field["choices"][0]["value"]
        elif kind == "boolean":
            answers[field["name"]] = True
        elif kind == "integer":
            answers[field["name"]] = field.get("minimum") or 1
        elif kind == "date":
            answers[field["name"]] = "2026-01-05"
        else:
            answers[field["name"]] = "bench"
    return answers
