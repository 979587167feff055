"""Deep checks of an uploaded file's content: what its bytes really are and whether it is safe to hand on.

A pure function of the bytes and the limits (no I/O): PDF structure and active content (pypdf),
images against decompression bombs, truncation and location metadata (Pillow), OFD as a bounded ZIP
of XML, and polyglots (a second format hidden in or after the first). Every finding is reported at
once. The parsers are imported lazily: only the verifier pays for them, never the API's cold start.
The time and memory budget around these checks is the caller's (chalicelib/adapters/sandbox.py).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class ContentLimits:
    max_pages: int | None = None
    # 50 MP covers the full-resolution mode of current phone sensors (48/50 MP); decoding one is
    # ~150 MB of RGB, inside the verifier's memory budget. Larger images are refused undecoded.
    max_pixels: int = 50_000_000
    # OFD (a ZIP of XML): bounds against zip bombs, checked on the declared sizes before anything is
    # inflated and enforced again while inflating (a lying header fails its CRC).
    max_entries: int = 2000
    max_uncompressed_bytes: int = 256 * MIB
    max_ratio: int = 200  # XML compresses ~5-30:1; bombs compress 1000:1 and more


@dataclass(frozen=True)
class Finding:
    code: str
    detail: dict[str, Any] = field(default_factory=dict)
    # A notice is told to the applicant and the department but does not reject the file.
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "blocking": self.blocking}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        return cls(str(raw["code"]), dict(raw.get("detail") or {}), bool(raw.get("blocking", True)))


BUDGET_EXCEEDED = "verification_budget_exceeded"
# Names that make a PDF act on its own when opened or interacted with, or carry other files.
_PDF_ACTIVE_NAMES = {
    "/JavaScript": "pdf_javascript", "/JS": "pdf_javascript", "/OpenAction": "pdf_open_action",
    "/AA": "pdf_additional_actions", "/Launch": "pdf_launch_action", "/EmbeddedFile": "pdf_embedded_file",
    "/EmbeddedFiles": "pdf_embedded_file",
}
_MAX_PDF_OBJECTS = 200_000
_PADDING = b"\x00\t\n\f\r "


def preload(kind: str) -> None:
    """Import the parser a kind needs, once per process (the verifier forks its sandboxes after this,
    so each file does not pay the import again)."""
    if kind == "pdf":
        import pypdf  # noqa: F401
    elif kind in ("png", "jpg"):
        from PIL import Image  # noqa: F401
    elif kind == "ofd":
        import defusedxml.ElementTree  # noqa: F401


def inspect_content(kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
    checks: dict[str, Callable[[bytes, ContentLimits], list[Finding]]] = {
        "pdf": _check_pdf, "png": _check_png, "jpg": _check_jpeg, "ofd": _check_ofd,
    }
    check = checks.get(kind)
    if check is None:
        return [Finding("file_type_not_accepted", {"detected": kind})]
    return _unique(check(data, limits))


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for f in findings:
        if f.code not in seen:
            seen.add(f.code)
            out.append(f)
    return out


# -- polyglots ------------------------------------------------------------------------------------
def _zip_inside(data: bytes) -> bool:
    """A ZIP central directory that a ZIP reader would open (how a PDF or an image doubles as an archive)."""
    if b"PK\x05\x06" not in data[-(65536 + 22):]:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return len(zf.infolist()) > 0
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False


def _trailing(data: bytes, end: int) -> Finding | None:
    rest = data[end:]
    if rest.strip(_PADDING):
        return Finding("trailing_data", {"bytes": len(rest)})
    return None


# -- PDF ------------------------------------------------------------------------------------------
def _check_pdf(data: bytes, limits: ContentLimits) -> list[Finding]:
    findings: list[Finding] = []
    eof = data.rfind(b"%%EOF")
    if eof < 0:
        findings.append(Finding("pdf_truncated"))
    elif (tail := _trailing(data, eof + 5)) is not None:
        findings.append(tail)
    if _zip_inside(data):
        findings.append(Finding("polyglot_zip"))
    findings += _pdf_structure(data, limits)
    return findings


def _pdf_structure(data: bytes, limits: ContentLimits) -> list[Finding]:
    import logging

    from pypdf import PdfReader

    # pypdf logs what it repairs; the verdict is ours to give, and hostile files would flood the log.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    findings: list[Finding] = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return [Finding("pdf_encrypted")]
        pages = len(reader.pages)
        active = _pdf_active_content(reader)
    except MemoryError:
        raise
    except Exception as exc:  # any parser failure on hostile input means: not a readable PDF
        return [Finding("pdf_corrupt", {"error": type(exc).__name__})]
    if active is None:
        findings.append(Finding("pdf_too_complex", {"max_objects": _MAX_PDF_OBJECTS}))
    else:
        findings += [Finding(code, {"names": sorted(names)}) for code, names in sorted(active.items())]
    if pages < 1:
        findings.append(Finding("pdf_no_pages"))
    elif limits.max_pages is not None and pages > limits.max_pages:
        findings.append(Finding("pdf_too_many_pages", {"pages": pages, "max_pages": limits.max_pages}))
    return findings


def _pdf_active_content(reader: Any) -> dict[str, set[str]] | None:
    """Every active-content name in every object of the file, referenced or not (a reader may follow
    what the page tree does not), including objects inside object streams. Names are compared after
    pypdf has decoded `#xx` escapes, so `/J#61vaScript` is `/JavaScript`. None when too many objects."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

    refs: list[tuple[int, int]] = [(num, gen) for gen, table in reader.xref.items() for num in table]
    refs += [(num, 0) for num in reader.xref_objStm]
    if len(refs) > _MAX_PDF_OBJECTS:
        return None
    found: dict[str, set[str]] = {}

    def note(name: str) -> None:
        code = _PDF_ACTIVE_NAMES.get(name)
        if code:
            found.setdefault(code, set()).add(name)

    roots: list[Any] = [reader.trailer]
    for num, gen in refs:
        try:
            roots.append(reader.get_object(IndirectObject(num, gen, reader)))
        except MemoryError:
            raise
        except Exception:  # noqa: S112 - an unreadable object cannot act; the xref itself was read
            continue
    for root in roots:
        stack = [root]
        while stack:
            obj = stack.pop()
            if isinstance(obj, IndirectObject):
                continue  # visited as its own entry of the xref
            if isinstance(obj, DictionaryObject | StreamObject):
                for key, value in obj.items():
                    note(str(key))
                    stack.append(value)
            elif isinstance(obj, ArrayObject):
                stack.extend(obj)
            elif isinstance(obj, NameObject):
                note(str(obj))
    return found


# -- images ---------------------------------------------------------------------------------------
def _jpeg_end(data: bytes, start: int = 0) -> int | None:
    """Offset just after the EOI of the JPEG stream starting at `start`, walking its segments (the
    entropy-coded data after each SOS up to the next real marker); None if the stream never ends."""
    n = len(data)
    if data[start:start + 2] != b"\xff\xd8":
        return None
    i = start + 2
    while i < n:
        if data[i] != 0xFF:
            return None
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if i + 2 > n:
            return None
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2:
            return None
        i += length
        if marker == 0xDA:
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    return None
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    j += 1
                    continue
                break
            i = j
    return None


def _png_end(data: bytes) -> int | None:
    """Offset just after the IEND chunk; None if the chunks run past the end of the file."""
    i = 8
    n = len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        i += 12 + length
        if i > n:
            return None
        if kind == b"IEND":
            return i
    return None


def _check_jpeg(data: bytes, limits: ContentLimits) -> list[Finding]:
    findings: list[Finding] = []
    end = _jpeg_end(data)
    if end is None:
        findings.append(Finding("image_truncated"))
    else:
        # Phones append further JPEG images after the first (MPF: depth maps, gain maps); those are
        # allowed, anything else (a script, an archive, a video) is not.
        while data[end:end + 3] == b"\xff\xd8\xff" and (nxt := _jpeg_end(data, end)) is not None:
            end = nxt
        if (tail := _trailing(data, end)) is not None:
            findings.append(tail)
    if _zip_inside(data):
        findings.append(Finding("polyglot_zip"))
    return findings + _decode_image(data, "JPEG", limits)


def _check_png(data: bytes, limits: ContentLimits) -> list[Finding]:
    findings: list[Finding] = []
    end = _png_end(data)
    if end is None:
        findings.append(Finding("image_truncated"))
    elif (tail := _trailing(data, end)) is not None:
        findings.append(tail)
    if _zip_inside(data):
        findings.append(Finding("polyglot_zip"))
    return findings + _decode_image(data, "PNG", limits)


_GPS_IFD = 0x8825


def _decode_image(data: bytes, expected_format: str, limits: ContentLimits) -> list[Finding]:
    import warnings

    from PIL import Image, UnidentifiedImageError

    findings: list[Finding] = []
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it; ours is checked explicitly below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        with img:
            if img.format != expected_format:
                return [Finding("image_format_mismatch", {"format": img.format})]
            pixels = img.width * img.height
            if pixels > limits.max_pixels:
                # Refused from the header alone: a decompression bomb is never decoded.
                return [*findings, Finding("image_too_many_pixels", {
                    "width": img.width, "height": img.height, "max_pixels": limits.max_pixels})]
            img.verify()  # PNG: every chunk's CRC (must come straight after open)
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # full decode: a truncated image fails here
            # Flagged, not stripped: the file stays byte-identical to what the applicant submitted
            # (its SHA-256 is its identity), and stripping means re-encoding; the applicant is told.
            if img.getexif().get_ifd(_GPS_IFD):
                findings.append(Finding("image_location_metadata", blocking=False))
    except Image.DecompressionBombError as exc:
        return [*findings, Finding("image_too_many_pixels", {"max_pixels": limits.max_pixels,
                                                             "error": type(exc).__name__})]
    except MemoryError:
        raise
    except (UnidentifiedImageError, SyntaxError) as exc:
        findings.append(Finding("image_corrupt", {"error": type(exc).__name__}))
    except OSError as exc:
        code = "image_truncated" if "truncated" in str(exc) else "image_corrupt"
        findings.append(Finding(code, {"error": type(exc).__name__}))
    except Exception as exc:
        findings.append(Finding("image_corrupt", {"error": type(exc).__name__}))
    return findings


# -- OFD (GB/T 33190: a ZIP package of XML with OFD.xml at its root) --------------------------------
_OFD_NS_ROOT = "OFD"
_INFLATE_CHUNK = 64 * 1024


def _check_ofd(data: bytes, limits: ContentLimits) -> list[Finding]:
    findings: list[Finding] = []
    if b"%PDF-" in data[:1024]:
        findings.append(Finding("polyglot_pdf"))
    eocd = data.rfind(b"PK\x05\x06")
    if eocd >= 0 and len(data) >= eocd + 22:
        comment = int.from_bytes(data[eocd + 20:eocd + 22], "little")
        if (tail := _trailing(data, eocd + 22 + comment)) is not None:
            findings.append(tail)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return [*findings, Finding("ofd_corrupt", {"error": type(exc).__name__})]
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            return [*findings, Finding("ofd_too_many_entries", {"entries": len(infos),
                                                                "max_entries": limits.max_entries})]
        bomb = _ofd_declared_bomb(infos, limits)
        if bomb:
            return findings + bomb
        unsafe = sorted(i.filename for i in infos if _unsafe_member(i.filename))
        if unsafe:
            findings.append(Finding("ofd_unsafe_path", {"entries": len(unsafe)}))
        if any(i.flag_bits & 0x1 for i in infos):
            return [*findings, Finding("ofd_encrypted")]
        contents, problem = _inflate_all(zf, infos, limits)
        if problem is not None:
            return [*findings, problem]
    return findings + _ofd_structure(contents)


def _unsafe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":") or "\x00" in name


def _ofd_declared_bomb(infos: list[zipfile.ZipInfo], limits: ContentLimits) -> list[Finding]:
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        return [Finding("ofd_too_large_uncompressed", {"uncompressed_bytes": total,
                                                       "max_uncompressed_bytes": limits.max_uncompressed_bytes})]
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos if i.file_size > _INFLATE_CHUNK),
                default=0.0)
    if worst > limits.max_ratio:
        return [Finding("ofd_compression_ratio", {"ratio": round(worst), "max_ratio": limits.max_ratio})]
    return []


def _inflate_all(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo],
                 limits: ContentLimits) -> tuple[dict[str, bytes], Finding | None]:
    """Inflate every entry in chunks, counting real bytes (a header may lie about sizes); keep the
    XML at the root of the package for the structure check. CRCs are checked by zipfile."""
    contents: dict[str, bytes] = {}
    total = 0
    try:
        for info in infos:
            if info.is_dir():
                continue
            keep = info.filename.lower().endswith(".xml") and info.file_size <= 8 * MIB
            chunks = []
            with zf.open(info) as member:
                while chunk := member.read(_INFLATE_CHUNK):
                    total += len(chunk)
                    if total > limits.max_uncompressed_bytes:
                        return contents, Finding("ofd_too_large_uncompressed", {
                            "max_uncompressed_bytes": limits.max_uncompressed_bytes})
                    if keep:
                        chunks.append(chunk)
            if keep:
                contents[info.filename] = b"".join(chunks)
    except MemoryError:
        raise
    except Exception as exc:
        return contents, Finding("ofd_corrupt", {"error": type(exc).__name__})
    return contents, None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ofd_structure(contents: dict[str, bytes]) -> list[Finding]:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    entry = contents.get("OFD.xml")
    if entry is None:
        return [Finding("ofd_structure_missing", {"missing": "OFD.xml"})]
    try:
        # No DTDs at all: entity expansion (billion laughs) and external entities are refused.
        root = fromstring(entry, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        return [Finding("ofd_structure_invalid", {"error": type(exc).__name__})]
    if _local(root.tag) != _OFD_NS_ROOT:
        return [Finding("ofd_structure_invalid", {"root": _local(root.tag)[:64]})]
    doc_roots = [el.text.strip().lstrip("/") for el in root.iter() if _local(el.tag) == "DocRoot" and el.text]
    if not doc_roots:
        return [Finding("ofd_structure_invalid", {"missing": "DocRoot"})]
    names = {name.lower() for name in contents}
    missing = [r for r in doc_roots if r.lower() not in names]
    if missing:
        return [Finding("ofd_structure_invalid", {"missing": "document", "documents": len(missing)})]
    return []
