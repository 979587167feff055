"""Checking an uploaded file against its material spec: size, and the type its bytes really are.

The verdict lists every reason at once. Deeper checks (PDF actions, image bombs, OFD) come with
the materials issue; this module already refuses a file whose magic bytes are not an accepted type.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import MIME_TYPES, MaterialSpec
from .errors import Problem

# How many leading bytes the verifier needs to read to sniff a type.
SNIFF_BYTES = 16


def sniff_type(head: bytes) -> str | None:
    """The file type the first bytes announce, by magic number; None if it is none we accept."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


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
            target, {"detected": actual, "accepted_types": list(spec.accepted_types)},
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
