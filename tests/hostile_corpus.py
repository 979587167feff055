"""Good and hostile files, generated here (nothing downloaded): the verifier's test corpus.

Used by tests/unit/test_file_checks.py, tests/unit/test_services_materials_deep.py and
bench/verification.py. Each hostile sample names the verdict and the reason codes it must get.
Good files are made with the real libraries (pypdf, Pillow) so they are what readers produce.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

MIME = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "ofd": "application/ofd"}


# -- PDF built by hand: exact control over every object ------------------------------------------
def raw_pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"", eof: bool = True) -> bytes:
    """A PDF whose objects are numbered 1..n in order, with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n" % (len(objects) + 1, root, trailer_extra, xref)
    if eof:
        out += b"%%EOF\n"
    return bytes(out)


def _page_objects(pages: int, catalog_extra: bytes = b"", page_extra: bytes = b"") -> list[bytes]:
    """Catalog (1), page tree (2), pages (3..), one content stream (last)."""
    content_no = 3 + pages
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    for _ in range(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R " % content_no
                    + page_extra + b">>")
    stream = b"BT /F1 12 Tf 72 720 Td (OneTrip) Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return objs


def pdf_plain(pages: int = 1) -> bytes:
    return raw_pdf(_page_objects(pages))


def pdf_with_javascript() -> bytes:
    objs = _page_objects(1)
    js_no = len(objs) + 1
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript << /Names [(x) %d 0 R] >> >> >>" % js_no
    objs.append(b"<< /S /JavaScript /JS (app.alert\\('pwned'\\);) >>")
    return raw_pdf(objs)


def pdf_with_obfuscated_open_action() -> bytes:
    """`/J#61vaScript` is `/JavaScript` once the name's escapes are decoded, as every reader does."""
    objs = _page_objects(1)
    action_no = len(objs) + 1
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R /OpenAction %d 0 R >>" % action_no
    objs.append(b"<< /S /J#61vaScript /J#53 (app.launchURL\\('http://x'\\);) >>")
    return raw_pdf(objs)


def pdf_with_launch_action() -> bytes:
    objs = _page_objects(1, page_extra=b"/AA << /O << /S /Launch /F (cmd.exe) >> >> ")
    return raw_pdf(objs)


def pdf_with_embedded_file() -> bytes:
    objs = _page_objects(1)
    ef_no = len(objs) + 1
    objs[0] = (b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(a.exe) << /Type /Filespec "
               b"/F (a.exe) /EF << /F %d 0 R >> >>] >> >> >>" % ef_no)
    payload = b"MZ\x90\x00 not really a program"
    objs.append(b"<< /Type /EmbeddedFile /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream")
    return raw_pdf(objs)


def pdf_hidden_unreferenced_javascript() -> bytes:
    """An object no page refers to still sits in the file for any reader that looks for it."""
    objs = _page_objects(1)
    objs.append(b"<< /S /JavaScript /JS (this.exportDataObject\\({cName: 'x'}\\);) >>")
    return raw_pdf(objs)


def pdf_encrypted() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_made_with_pypdf(pages: int = 2) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": "OneTrip sample"})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_truncated() -> bytes:
    good = pdf_plain(3)
    return good[: int(len(good) * 0.6)]


def pdf_garbage_body() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def pdf_zip_polyglot() -> bytes:
    return pdf_plain() + zip_bytes({"payload.js": b"WScript.Shell.Run('calc')"})


def pdf_lying_page_count(real: int, claimed: int) -> bytes:
    objs = _page_objects(real)
    objs[1] = objs[1].replace(b"/Count %d" % real, b"/Count %d" % claimed)
    return raw_pdf(objs)


def scanned_pdf(pages: int, *, dpi: int = 100, seed: int = 0) -> bytes:
    """A realistic scanned document: one JPEG-compressed A4 page image per page (what phones and
    copiers produce), written by Pillow's PDF writer."""
    images = [_paper_image(int(8.27 * dpi), int(11.69 * dpi), seed + i) for i in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi, quality=75)
    return buf.getvalue()


# -- images ---------------------------------------------------------------------------------------
def _paper_image(width: int, height: int, seed: int):  # type: ignore[no-untyped-def]
    """Off-white paper with scanner noise and lines of "text"."""
    from PIL import Image, ImageDraw

    img = Image.effect_noise((width, height), 6).point(lambda v: min(255, v + 118)).convert("RGB")
    draw = ImageDraw.Draw(img)
    rng = seed * 7919 + 17
    for y in range(60, height - 60, max(height // 45, 14)):
        rng = (rng * 1103515245 + 12345) & 0x7FFFFFFF
        draw.line([(60, y), (60 + rng % (width - 120), y)], fill=(35, 35, 35), width=3)
    return img


def photo(width: int, height: int, *, fmt: str = "JPEG", seed: int = 1, gps: bool = False, quality: int = 88) -> bytes:
    """A phone-like photo: gradients plus sensor noise (compresses like a real picture, unlike a flat fill)."""
    from PIL import Image

    noise = Image.effect_noise((width, height), 40 + seed % 5)
    gradient = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))
    buf = io.BytesIO()
    kwargs: dict[str, object] = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 17.0, 0.0), 3: "E", 4: (120.0, 9.0, 0.0)})
        kwargs["exif"] = exif
    if fmt == "JPEG":
        kwargs["quality"] = quality
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 12_000) -> bytes:
    """A 144-megapixel greyscale PNG of about 140 KB: a decompression bomb (1000:1)."""
    row = b"\x00" + b"\x00" * side
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


# -- OFD ------------------------------------------------------------------------------------------
OFD_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
           b'Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0c1d4f7a</ofd:DocID>'
           b'</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
DOCUMENT_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016">'
                b'<ofd:CommonData><ofd:MaxUnitID>2</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297'
                b'</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" '
                b'BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
PAGE_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">'
            b'<ofd:Content><ofd:Layer ID="2"/></ofd:Content></ofd:Page>')


def zip_bytes(entries: dict[str, bytes], *, level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", level) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def ofd_minimal() -> bytes:
    return zip_bytes({"OFD.xml": OFD_XML, "Doc_0/Document.xml": DOCUMENT_XML,
                      "Doc_0/Pages/Page_0/Content.xml": PAGE_XML})


def ofd_zip_bomb(size: int = 128 * 1024 * 1024) -> bytes:
    """OFD.xml plus one entry that inflates to 128 MiB from about 128 KB (1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", OFD_XML)
        zf.writestr("Doc_0/Document.xml", DOCUMENT_XML)
        info = zipfile.ZipInfo("Doc_0/Res/big.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


def ofd_lying_sizes() -> bytes:
    """An entry whose header claims 100 bytes but inflates to 8 MiB: caught when the CRC/size check fails."""
    data = bytearray(zip_bytes({"OFD.xml": OFD_XML, "Doc_0/Document.xml": DOCUMENT_XML,
                                "Doc_0/Res/pad.xml": b"<a>" + b" " * (8 * 1024 * 1024) + b"</a>"}))
    # patch the central directory's uncompressed size of the last entry
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = struct.pack("<I", 100)
    return bytes(data)


def ofd_many_entries(count: int = 3000) -> bytes:
    return zip_bytes({"OFD.xml": OFD_XML, **{f"Doc_0/Res/r{i}.xml": b"<r/>" for i in range(count)}})


def ofd_without_root() -> bytes:
    return zip_bytes({"Doc_0/Document.xml": DOCUMENT_XML})


def ofd_with_entities() -> bytes:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">&lol2;</ofd:OFD>')
    return zip_bytes({"OFD.xml": laughs})


def ofd_zip_slip() -> bytes:
    return zip_bytes({"OFD.xml": OFD_XML, "Doc_0/Document.xml": DOCUMENT_XML, "../../etc/cron.d/x": b"* * * * *"})


# -- the corpus -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    name: str          # the file name an attacker would give it (display text only: keys are generated)
    kind: str          # the accepted type the upload declares (pdf, png, jpg, ofd)
    data: bytes
    verdict: str       # verified | rejected
    reasons: tuple[str, ...] = ()   # blocking reason codes that must be present
    notices: tuple[str, ...] = ()   # non-blocking notices that must be present
    max_pages: int | None = None
    max_size: int = 10 * 1024 * 1024
    declared: str | None = None     # the Content-Type declared, when not the kind's own
    tags: tuple[str, ...] = field(default=())

    @property
    def content_type(self) -> str:
        return self.declared or MIME[self.kind]


@functools.cache
def good_samples() -> tuple[Sample, ...]:
    return (
        Sample("form.pdf", "pdf", pdf_made_with_pypdf(2), "verified", max_pages=5),
        Sample("hand-built.pdf", "pdf", pdf_plain(3), "verified", max_pages=3),
        Sample("scan.pdf", "pdf", scanned_pdf(2), "verified", max_pages=20),
        Sample("photo.jpg", "jpg", photo(640, 480), "verified"),
        Sample("photo.png", "png", photo(320, 240, fmt="PNG"), "verified"),
        Sample("gps.jpg", "jpg", photo(640, 480, gps=True), "verified", notices=("image_location_metadata",)),
        Sample("licence.ofd", "ofd", ofd_minimal(), "verified"),
    )


@functools.cache
def hostile_samples() -> tuple[Sample, ...]:
    jpeg = photo(320, 240)
    png = photo(320, 240, fmt="PNG")
    return (
        Sample("javascript.pdf", "pdf", pdf_with_javascript(), "rejected", ("pdf_javascript",)),
        Sample("open-action-obfuscated.pdf", "pdf", pdf_with_obfuscated_open_action(), "rejected",
               ("pdf_open_action", "pdf_javascript")),
        Sample("launch.pdf", "pdf", pdf_with_launch_action(), "rejected", ("pdf_additional_actions", "pdf_launch_action")),
        Sample("embedded.pdf", "pdf", pdf_with_embedded_file(), "rejected", ("pdf_embedded_file",)),
        Sample("unreferenced-js.pdf", "pdf", pdf_hidden_unreferenced_javascript(), "rejected", ("pdf_javascript",)),
        Sample("encrypted.pdf", "pdf", pdf_encrypted(), "rejected", ("pdf_encrypted",)),
        Sample("truncated.pdf", "pdf", pdf_truncated(), "rejected", ("pdf_truncated",)),
        Sample("garbage.pdf", "pdf", pdf_garbage_body(), "rejected", ("pdf_corrupt",)),
        Sample("too-many-pages.pdf", "pdf", pdf_plain(4), "rejected", ("pdf_too_many_pages",), max_pages=3),
        Sample("lying-count.pdf", "pdf", pdf_lying_page_count(4, 1), "rejected", ("pdf_too_many_pages",), max_pages=3),
        Sample("png-renamed.pdf", "pdf", png, "rejected", ("file_type_not_accepted",), declared="application/pdf"),
        Sample("pdf-zip-polyglot.pdf", "pdf", pdf_zip_polyglot(), "rejected", ("polyglot_zip", "trailing_data")),
        Sample("trailing-script.jpg", "jpg", jpeg + b"<script>alert(1)</script>", "rejected", ("trailing_data",)),
        Sample("jpeg-zip.jpg", "jpg", jpeg + zip_bytes({"a.txt": b"x"}), "rejected", ("trailing_data", "polyglot_zip")),
        Sample("truncated.jpg", "jpg", truncated(jpeg), "rejected", ("image_truncated",)),
        Sample("truncated.png", "png", truncated(png), "rejected", ("image_truncated",)),
        Sample("png-trailing.png", "png", png + b"#!/bin/sh\nrm -rf /\n", "rejected", ("trailing_data",)),
        Sample("bomb.png", "png", png_bomb(), "rejected", ("image_too_many_pixels",)),
        Sample("jpeg-as-png.png", "png", jpeg, "rejected", ("file_type_not_accepted",), declared="image/png"),
        Sample("zip-bomb.ofd", "ofd", ofd_zip_bomb(), "rejected", ("ofd_compression_ratio",)),
        Sample("many-entries.ofd", "ofd", ofd_many_entries(), "rejected", ("ofd_too_many_entries",)),
        Sample("lying-sizes.ofd", "ofd", ofd_lying_sizes(), "rejected", ("ofd_corrupt",)),
        Sample("no-root.ofd", "ofd", ofd_without_root(), "rejected", ("ofd_structure_missing",)),
        Sample("entities.ofd", "ofd", ofd_with_entities(), "rejected", ("ofd_structure_invalid",)),
        Sample("zip-slip.ofd", "ofd", ofd_zip_slip(), "rejected", ("ofd_unsafe_path",)),
        Sample("empty.pdf", "pdf", b"", "rejected", ("file_empty",)),
        Sample("max-plus-one.pdf", "pdf", pdf_plain() + b"\n" * 4096, "rejected", ("file_too_large",),
               max_size=len(pdf_plain()) + 4095),
    )


# File names an applicant might send; none may reach a key, each is sanitized for display.
HOSTILE_NAMES = ("../../etc/passwd.pdf", "..\\..\\boot.ini", "scan%00.pdf.exe", "invoice\u202efdp.exe",
                 "photo.jpg.exe", "a" * 300 + ".pdf", "\x00\x01\x1b[31mred.pdf", "/absolute/path.pdf")
