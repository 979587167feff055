"""Builds a new preset dictionary for the compressed documents (`docz`, issue 9) from our own records.

    python -m bench.doc_dictionary            # measure, then write chalicelib/data/docz-v<next>.zdict
    python -m bench.doc_dictionary --dry-run  # measure only

It runs the bench journeys (every seeded journey, through the real handlers on the bench's moto, as
`bench.journey` does), keeps every document the adapter writes for the compressed record types, and
reduces each to its skeleton: key names and code-like values stay, every value that is personal or
high-entropy (ids, hashes, timestamps, storage keys, ciphertexts, free text, numbers) is blanked and
lists are cut to two entries. The skeletons most often written go last (deflate reaches recent
bytes with shorter distances) within a budget of a few KB. Same code and catalogue, same bytes.

It lives with the benchmarks because it drives them and reports what the dictionary saves. It never
overwrites a dictionary: documents in tables depend on each one's exact bytes. Registering the new
file in `chalicelib.adapters.docz.DICTIONARIES` (and `WRITING`) is a reviewed edit by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chalicelib.adapters import docz

# The record types stored as `docz` (the adapter's `compressed_doc` callers). Outbox events, audit
# entries, notifications and feed events stay plain JSON (the stream filter and the audit hash read them).
COMPRESSED_TYPES = ("application", "task", "delivery_state", "access_record")
BUDGET = 7 * 1024
LIST_ENTRIES = 2
# Sentences the code itself writes (with ids inside, blanked): the only non-code text kept.
FIXED_TEXT_KEYS = frozenset({"purpose_zh", "purpose_en", "statement_zh", "statement_en", "message_zh",
                             "message_en"})
# Keys whose values are a person's data whatever they look like.
PERSONAL_KEY = re.compile(r"name|id_number|phone|mobile|email|address|contact|ciphertext|secret|token", re.I)
_MAX_CODE = 64

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_HEX = re.compile(r"[0-9A-Fa-f]{8,}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]{20,}")
_DIGITS = re.compile(r"\d{5,}")


def _mixed(match: re.Match[str]) -> str:
    """Blank a run that looks random (letters and digits mixed); keep a plain word."""
    text = match.group()
    return "" if any(c.isdigit() for c in text) and any(c.isalpha() for c in text) else text


def scrub(text: str) -> str:
    """The string with its high-entropy parts removed: timestamps, uuids, ULIDs, hex, base64, digit runs."""
    text = _TIMESTAMP.sub("", text)
    text = _UUID.sub("", text)
    text = _ULID.sub("", text)
    text = _HEX.sub(_mixed, text)
    text = _BASE64.sub(_mixed, text)
    return _DIGITS.sub("", text)


def _string(value: str, key: str) -> str:
    if PERSONAL_KEY.search(key):
        return ""
    if key not in FIXED_TEXT_KEYS and value.startswith("{"):
        try:
            nested = json.loads(value)
        except ValueError:
            nested = None
        if isinstance(nested, dict):  # a JSON payload kept as text (a webhook body): its skeleton
            return compact(skeleton(nested))
    text = scrub(value)
    if key in FIXED_TEXT_KEYS:
        return text
    if not text.isascii() or any(c.isspace() for c in text) or "@" in text or len(text) > _MAX_CODE:
        return ""  # free text (maybe a person's), or something long: nothing to share between documents
    return text


def skeleton(value: Any, key: str = "") -> Any:
    """A document's shape: keys, code-like values and booleans kept; numbers 0; lists cut short."""
    if isinstance(value, dict):
        entries = list(value.items())
        if len(entries) > LIST_ENTRIES and _same_shaped(value.values()):  # a map by code (an item's materials)
            entries = entries[:LIST_ENTRIES]
        return {_string(k, ""): skeleton(v, k) for k, v in entries}
    if isinstance(value, list):
        return [skeleton(v, key) for v in value[:LIST_ENTRIES]]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return 0
    return _string(str(value), key)


def _same_shaped(values: Iterable[Any]) -> bool:
    shapes = {tuple(v) if isinstance(v, dict) else None for v in values}
    return len(shapes) == 1 and None not in shapes


def shape(value: Any) -> Any:
    """The keys alone: what documents of one structure share whatever their values and their length."""
    if isinstance(value, dict):
        if len(value) > 1 and _same_shaped(value.values()):  # a map by code: its shape is one entry's
            return {"*": shape(next(iter(value.values())))}
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return None


def compact(value: Any) -> str:
    """JSON as the adapter writes it (pydantic's `model_dump_json`: no spaces, UTF-8 text)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def assemble(texts: Iterable[str], budget: int = BUDGET) -> bytes:
    """The dictionary for these documents. Candidates are two skeletons of each shape (the shortest
    and the longest: a record as created and as it ends up); they are taken greedily by the bytes
    they save per dictionary byte, compressing every document's skeleton, while the budget lasts; the
    shapes most often written go last. Only skeletons are measured: the documents' ids and times are
    random, and a choice made on them would change from run to run."""
    groups: dict[str, list[bytes]] = {}
    for text in texts:
        sk = skeleton(json.loads(text))
        groups.setdefault(compact(shape(sk)), []).append(compact(sk).encode())
    every = [sk for group in groups.values() for sk in group]
    weight = {sk: len(group) for group in groups.values() for sk in group}
    ends = [sorted(group, key=lambda c: (len(c), c)) for group in groups.values()]
    candidates = sorted({c for group in ends for c in (group[0], group[-1])})

    def layout(chosen: list[bytes]) -> bytes:
        return b"".join(sorted(chosen, key=lambda c: (weight[c], c)))

    def cost(chosen: list[bytes]) -> int:
        zdict = layout(chosen)
        return sum(deflated(sk, zdict) for sk in every)

    chosen: list[bytes] = []
    while True:
        now, room = cost(chosen), budget - sum(map(len, chosen))
        gains = [((now - cost([*chosen, c])) / len(c), c) for c in candidates if c not in chosen and len(c) <= room]
        if not gains or max(gains)[0] <= 0:
            return layout(chosen)
        chosen.append(max(gains)[1])


# -- the documents the journeys write --------------------------------------------------------------------
def journey_documents() -> list[tuple[str, str]]:
    """(record type, JSON text) of every compressed-type document the bench journeys write, in order."""
    from bench.journey import JOURNEYS, journey_bench
    from chalicelib.adapters import aws

    written: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        if "Item" in params:
            written.append(params["Item"])
        written.extend(e["Put"]["Item"] for e in params.get("TransactItems", []) if "Put" in e)

    with journey_bench() as bench:
        aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.PutItem", keep)
        aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", keep)
        for code in JOURNEYS:
            bench.run(code)
    out = []
    for item in written:
        kind = item.get("type", {}).get("S")
        if kind in COMPRESSED_TYPES:
            text = docz.decompress(item["docz"]["B"]).decode() if "docz" in item else item["doc"]["S"]
            out.append((kind, text))
    return out


# -- measuring and writing -------------------------------------------------------------------------------
def deflated(data: bytes, zdict: bytes | None) -> int:
    """Bytes of `data` compressed as the adapter does, with this preset dictionary (None: without)."""
    return len(docz.deflate(data, zdict))


def measure(documents: list[tuple[str, str]], dictionaries: dict[str, bytes | None]) -> dict[str, Any]:
    """Bytes of each record type's documents: plain, and compressed with each dictionary (None: none)."""
    report: dict[str, Any] = {}
    for kind in COMPRESSED_TYPES:
        texts = [t.encode() for k, t in documents if k == kind]
        if not texts:
            continue
        row: dict[str, Any] = {"documents": len(texts), "plain": _stats([len(t) for t in texts])}
        for name, zdict in dictionaries.items():
            row[name] = _stats([deflated(t, zdict) for t in texts])
        report[kind] = row
    return report


def _stats(sizes: list[int]) -> dict[str, int]:
    return {"mean": round(statistics.fmean(sizes)), "max": max(sizes)}


def next_version(directory: Path) -> str:
    taken = [int(m.group(1)) for p in directory.glob("docz-v*.zdict") if (m := re.fullmatch(r"docz-v(\d+)\.zdict",
                                                                                             p.name))]
    return f"v{max([*taken, *(int(n[1:]) for n in docz.DICTIONARIES)], default=0) + 1}"


def write_new(data: bytes, directory: Path = docz.DATA_DIR) -> Path:
    """The dictionary as the next version's file; refuses to replace a file or to reuse a known id."""
    if zlib.adler32(data) in docz.DICTIONARIES.values():
        raise SystemExit("this dictionary's Adler-32 is registered already: nothing new to write")
    path = directory / f"docz-{next_version(directory)}.zdict"
    with path.open("xb") as f:  # "x": never overwrites
        f.write(data)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="measure only, write nothing")
    parser.add_argument("--budget", type=int, default=BUDGET, help="dictionary size limit in bytes")
    args = parser.parse_args(argv)
    documents = journey_documents()
    built = assemble((t for _k, t in documents), args.budget)
    current: dict[str, bytes | None] = {}
    for name in docz.DICTIONARIES:
        try:
            current[f"dictionary {name}"] = docz.dictionary(name)
        except (OSError, RuntimeError):
            continue
    report = measure(documents, {"zlib": None, **current, "new dictionary": built})
    print(json.dumps({"documents": len(documents), "new_dictionary_bytes": len(built),
                      "new_dictionary_adler32": f"{zlib.adler32(built):#010x}", "bytes": report}, indent=1))
    if not args.dry_run:
        path = write_new(built)
        print(f"wrote {path}; register it: DICTIONARIES[{path.stem.removeprefix('docz-')!r}] = "
              f"{zlib.adler32(built):#010x} in chalicelib/adapters/docz.py, then point WRITING at it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
