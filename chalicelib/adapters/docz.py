"""The `docz` attribute's bytes: a zlib stream (RFC 1950) written with a preset dictionary built from
our own documents' skeletons, so a record costs fewer of DynamoDB's 1 KB write units (issue 9).

A stream with a preset dictionary sets FDICT and names the dictionary by its Adler-32 (DICTID) in its
header; the reader looks that id up here. Streams without FDICT (every doc written before the
dictionaries) read as plain zlib. A registered dictionary never changes and is never removed: stored
documents depend on its exact bytes. A new one (`python -m bench.doc_dictionary`) is added beside it
in two releases: first registered (every function can read it), then named in `WRITING` — so no
function still running the older release meets a document it cannot read while a deploy rolls out.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# name → Adler-32 of the file's bytes (the DICTID its streams carry). Append only.
DICTIONARIES: dict[str, int] = {
    "v1": 0x7C012D53,
}
WRITING = "v1"  # the dictionary new documents are written with

_LEVEL = 9  # documents are a few KB: the strongest level costs microseconds more, and bytes are billed
_MEM_LEVEL = 9
_FDICT = 0x20


class UnknownDocDictionary(ValueError):
    """A stored document names a dictionary this code does not know (written by a newer version)."""

    def __init__(self, dictid: int) -> None:
        super().__init__(f"docz stream needs preset dictionary with Adler-32 {dictid:#010x}, which this "
                         f"version does not know (known: {', '.join(DICTIONARIES)}); deploy the version that "
                         "added it")
        self.dictid = dictid


def dictionary_path(name: str) -> Path:
    return DATA_DIR / f"docz-{name}.zdict"


@functools.cache
def dictionary(name: str) -> bytes:
    """A registered dictionary's bytes, read on first use (nothing at import: cold start) and checked
    against its registered Adler-32, so an edited or damaged file fails loudly instead of misreading."""
    data = dictionary_path(name).read_bytes()
    if zlib.adler32(data) != DICTIONARIES[name]:
        raise RuntimeError(f"docz dictionary {name} does not match its registered Adler-32: "
                           "a dictionary must never change once documents use it")
    return data


def compress(data: bytes) -> bytes:
    return deflate(data, dictionary(WRITING))


def deflate(data: bytes, zdict: bytes | None) -> bytes:
    """`data` as a zlib stream at our level, with `zdict` as its preset dictionary (None: without)."""
    if not zdict:
        return zlib.compress(data, _LEVEL)
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, 15, _MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, zdict=zdict)
    return compressor.compress(data) + compressor.flush()


def dictionary_id(raw: bytes) -> int | None:
    """The DICTID of a well-formed zlib header with FDICT set (RFC 1950 §2.2), else None."""
    if len(raw) < 6 or raw[0] & 0x0F != zlib.DEFLATED or (raw[0] << 8 | raw[1]) % 31 or not raw[1] & _FDICT:
        return None
    return int.from_bytes(raw[2:6], "big")


def decompress(raw: bytes) -> bytes:
    dictid = dictionary_id(raw)
    if dictid is None:
        return zlib.decompress(raw)  # written before the dictionaries, or not a zlib stream at all (zlib.error)
    name = next((name for name, known in DICTIONARIES.items() if known == dictid), None)
    if name is None:
        raise UnknownDocDictionary(dictid)
    inflater = zlib.decompressobj(15, zdict=dictionary(name))
    out = inflater.decompress(raw) + inflater.flush()
    if not inflater.eof or inflater.unused_data:
        raise zlib.error("docz stream is truncated or has trailing bytes")
    return out
