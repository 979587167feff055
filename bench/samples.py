"""The files the benchmarks upload: a real one-page PDF (the verifier parses what arrives) and a PNG header."""

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
       b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
       b"startxref\n164\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
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
