"""Checking an uploaded file against its material spec: size, the type its bytes really are, and the
verdict of the deep content checks (file_checks), each reason in Chinese and English.

The verdict lists every reason at once. The magic numbers are read with `filetype` (imported only
when a file is judged, never at the API's cold start), so a refused file is named for what it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import MIME_TYPES, MaterialSpec
from .errors import Problem
from .file_checks import ContentLimits, Finding

# How many leading bytes the verifier reads to sniff a type (filetype looks at most this far).
SNIFF_BYTES = 8192

# filetype's name for a kind → the catalogue's type. An OFD is a ZIP by its magic number; the deep
# check decides whether the ZIP really is an OFD package.
_ACCEPTABLE = {"pdf": "pdf", "png": "png", "jpg": "jpg", "zip": "ofd"}


def detect_type(head: bytes) -> str | None:
    """What the first bytes announce, by magic number, in filetype's names (pdf, png, jpg, zip, exe, gif…)."""
    import filetype

    kind = filetype.guess(head)
    return str(kind.extension) if kind is not None else None


def sniff_type(head: bytes) -> str | None:
    """The accepted type the first bytes announce; None if it is none we accept. A PDF must start with
    the full `%PDF-` header at offset 0 (filetype accepts `%PDF` alone)."""
    kind = _ACCEPTABLE.get(detect_type(head) or "")
    if kind == "pdf" and not head.startswith(b"%PDF-"):
        return None
    return kind


@dataclass(frozen=True)
class ObjectFacts:
    """What the verifier measured about an uploaded object (never its name: keys are generated)."""

    size: int
    head: bytes
    declared_content_type: str
    sha256: str
    # The Content-Type S3 stored with the object. The POST policy pins it in AWS; a local S3 does not
    # enforce policies, so it is checked again here.
    stored_content_type: str | None = None


def judge(spec: MaterialSpec, facts: ObjectFacts) -> list[Problem]:
    """Every reason the object does not satisfy the spec; empty means verified."""
    problems: list[Problem] = []
    target = spec.code
    if facts.size < 1:
        problems.append(Problem("file_empty", "文件为空", "The file is empty", target))
    elif facts.size > spec.max_size_bytes:
        problems.append(Problem(
            "file_too_large",
            f"文件大小 {facts.size} 字节，超过上限 {spec.max_size_bytes} 字节",
            f"The file has {facts.size} bytes; the limit is {spec.max_size_bytes}",
            target, {"size": facts.size, "max_size_bytes": spec.max_size_bytes},
        ))
    actual = sniff_type(facts.head)
    accepted = ", ".join(spec.accepted_types)
    if actual is None or actual not in spec.accepted_types:
        problems.append(Problem(
            "file_type_not_accepted",
            f"文件实际类型不在可接受类型（{accepted}）之内",
            f"The file's content is not one of the accepted types ({accepted})",
            target, {"detected": actual or detect_type(facts.head), "accepted_types": list(spec.accepted_types)},
        ))
    elif MIME_TYPES[actual] != facts.declared_content_type or (
            facts.stored_content_type is not None and facts.stored_content_type != facts.declared_content_type):
        problems.append(Problem(
            "file_type_mismatch",
            "文件内容与声明的类型不一致",
            "The file's content does not match its declared type",
            target, {"detected": actual, "declared": facts.declared_content_type,
                     "stored": facts.stored_content_type},
        ))
    return problems


def deep_check_kind(spec: MaterialSpec, facts: ObjectFacts, problems: list[Problem]) -> str | None:
    """The type whose content checks the file gets next; None when the first checks already refused
    its size or type (there is nothing more to learn by parsing it)."""
    if problems:
        return None
    return sniff_type(facts.head)


# Reason codes of the content checks, with the message the applicant reads.
_CONTENT_MESSAGES: dict[str, tuple[str, str]] = {
    "pdf_encrypted": ("PDF 文件已加密，请上传未加密的文件", "The PDF is encrypted; upload an unencrypted file"),
    "pdf_corrupt": ("PDF 文件已损坏，无法读取", "The PDF is damaged and cannot be read"),
    "pdf_truncated": ("PDF 文件不完整（可能上传中断）", "The PDF is incomplete (the upload may have been cut off)"),
    "pdf_javascript": ("PDF 文件含有脚本（JavaScript），不予接收", "The PDF contains scripts (JavaScript)"),
    "pdf_open_action": ("PDF 文件含有打开时自动执行的动作", "The PDF runs an action when opened"),
    "pdf_additional_actions": ("PDF 文件含有自动触发的动作", "The PDF contains automatically triggered actions"),
    "pdf_launch_action": ("PDF 文件试图启动外部程序", "The PDF tries to launch another program"),
    "pdf_embedded_file": ("PDF 文件内嵌了其他文件", "The PDF carries embedded files"),
    "pdf_too_complex": ("PDF 文件结构过于复杂，无法核验", "The PDF is too complex to verify"),
    "pdf_no_pages": ("PDF 文件没有页面", "The PDF has no pages"),
    "pdf_too_many_pages": ("PDF 页数超过该材料的上限", "The PDF has more pages than this material allows"),
    "image_truncated": ("图片不完整（可能上传中断）", "The image is incomplete (the upload may have been cut off)"),
    "image_corrupt": ("图片已损坏，无法读取", "The image is damaged and cannot be read"),
    "image_format_mismatch": ("图片内容与其格式不符", "The image's content does not match its format"),
    "image_too_many_pixels": ("图片像素过多（疑似解压炸弹），请缩小后上传",
                              "The image has too many pixels (a possible decompression bomb); upload a smaller one"),
    "image_location_metadata": ("图片含有拍摄地点（GPS）信息；如不希望提供，请去除后重新上传",
                                "The photo carries its GPS location; upload a copy without it if you prefer"),
    "trailing_data": ("文件结尾附加了多余数据", "Extra data is appended after the end of the file"),
    "polyglot_zip": ("文件同时是一个压缩包（多重格式文件），不予接收", "The file is also a ZIP archive (a polyglot)"),
    "polyglot_pdf": ("文件同时是一个 PDF（多重格式文件），不予接收", "The file is also a PDF (a polyglot)"),
    "ofd_corrupt": ("OFD 文件已损坏，无法读取", "The OFD file is damaged and cannot be read"),
    "ofd_encrypted": ("OFD 文件已加密", "The OFD file is encrypted"),
    "ofd_too_many_entries": ("OFD 文件包含的条目过多", "The OFD package has too many entries"),
    "ofd_too_large_uncompressed": ("OFD 文件解压后过大（疑似压缩炸弹）",
                                   "The OFD package is too large once decompressed (a possible zip bomb)"),
    "ofd_compression_ratio": ("OFD 文件压缩比异常（疑似压缩炸弹）",
                              "The OFD package's compression ratio is abnormal (a possible zip bomb)"),
    "ofd_unsafe_path": ("OFD 文件含有不安全的路径", "The OFD package contains unsafe paths"),
    "ofd_structure_missing": ("OFD 文件缺少 OFD.xml 入口", "The OFD package has no OFD.xml entry"),
    "ofd_structure_invalid": ("OFD 文件结构无效", "The OFD package's structure is invalid"),
    "file_type_not_accepted": ("文件实际类型不在可接受类型之内", "The file's content is not an accepted type"),
    "verification_budget_exceeded": ("文件核验超出时间或内存上限，请上传更简单的文件",
                                     "Verifying the file exceeded its time or memory budget; upload a simpler file"),
    "verification_failed": ("文件核验失败，请重新上传", "The file could not be verified; upload it again"),
}


def content_problems(spec: MaterialSpec, findings: list[Finding]) -> tuple[list[Problem], list[Problem]]:
    """The content checks' findings as (blocking problems, notices) for the applicant, in both languages."""
    problems: list[Problem] = []
    notices: list[Problem] = []
    for finding in findings:
        zh, en = _CONTENT_MESSAGES.get(finding.code, _CONTENT_MESSAGES["verification_failed"])
        problem = Problem(finding.code, zh, en, spec.code, dict(finding.detail))
        (problems if finding.blocking else notices).append(problem)
    return problems, notices


def content_limits(spec: MaterialSpec) -> ContentLimits:
    return ContentLimits(max_pages=spec.max_pages)
