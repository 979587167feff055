"""Sample catalogue entries, principals, identities and file bytes shared by the unit and contract tests.

Built with the domain's own constructors so a sample can never be something the catalogue refuses.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import Application, DepartmentTask
from chalicelib.domain.catalogue import MaterialSpec, ServiceItem
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.identity import AssuranceLevel, VerifiedIdentity
from chalicelib.domain.ids import new_id
from chalicelib.domain.materials import ObjectFacts
from chalicelib.domain.principals import Principal, PrincipalKind

# A Friday: acceptance on it shows whether deadlines skip the weekend.
FRIDAY = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

VALID_ID = "11010519491231002X"
VALID_ID_MASKED = "110105********002X"

# Real, minimal files: the verifier parses them (a one-page PDF, an 8×8 PNG and JPEG).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
       b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
       b"startxref\n164\n%%EOF\n")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x08\x00\x00\x00\x08\x08\x02\x00\x00\x00Km)\xdc\x00\x00\x00"
       b"\x14IDATx\x9cc<!'\xc7\x80\r0a\x15\x1d\xb4\x12\x00\xd0\xca\x01\x14>c\xa8\x99\x00\x00\x00\x00IEND\xaeB`\x82")


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "JPEG", quality=50)
    return buf.getvalue()


JPG = _tiny_jpeg()


def material(code: str, *, required: bool = True, types: tuple[str, ...] = ("pdf",),
             max_size: int = 1024 * 1024) -> MaterialSpec:
    return MaterialSpec(code=code, name_zh=f"材料{code}", name_en=f"Material {code}", required=required,
                        accepted_types=types, max_size_bytes=max_size)


def item(code: str = "T-SINGLE", *, version: int = 1, lead: str = "dept-a", joint: tuple[str, ...] = (),
         committed_days: int = 1, statutory_days: int = 15,
         materials: tuple[MaterialSpec, ...] | None = None, **extra: Any) -> ServiceItem:
    return ServiceItem(
        code=code, version=version, name_zh=f"事项{code}", name_en=f"Item {code}", lead_department=lead,
        joint_departments=joint, statutory_days=statutory_days, committed_days=committed_days,
        materials=materials or (
            material("form", max_size=1000),
            material("photo", types=("jpg", "png")),
            material("extra", required=False),
        ),
        **extra,
    )


def single_item(**kw: Any) -> ServiceItem:
    return item("T-SINGLE", **kw)


def joint_item(**kw: Any) -> ServiceItem:
    return item("T-JOINT", lead="dept-a", joint=("dept-b",), **kw)


def citizen(sub: str = "citizen-1") -> Principal:
    return Principal(sub=sub, kind=PrincipalKind.CITIZEN, client_id="web")


def officer(department: str, sub: str | None = None) -> Principal:
    return Principal(sub=sub or f"officer-{department}", kind=PrincipalKind.DEPARTMENT, department=department,
                     client_id="console")


def identity(sub: str = "citizen-1", level: AssuranceLevel = AssuranceLevel.L2) -> VerifiedIdentity:
    # The ciphertext deliberately contains the plaintext: any leak of it into a case is then visible.
    return VerifiedIdentity(sub=sub, name_masked="张*", id_number_masked=VALID_ID_MASKED,
                            id_number_ciphertext=f"plain:{VALID_ID}", assurance_level=level, method="test",
                            verified_at="2026-11-01T00:00:00+00:00")


def facts(data: bytes, content_type: str) -> ObjectFacts:
    return ObjectFacts(size=len(data), head=data[:16], declared_content_type=content_type,
                       sha256=hashlib.sha256(data).hexdigest())


BYTES_FOR = {"application/pdf": PDF, "image/png": PNG, "image/jpeg": JPG}


def with_material(app: Application, service_item: ServiceItem, code: str, *, verified: bool = True,
                  now: datetime = FRIDAY) -> Application:
    """The application with one upload of `code` issued and, unless `verified=False`, verified."""
    spec = service_item.material(code)
    assert spec is not None
    content_type = spec.accepted_mime_types[0]
    upload_id = new_id("upl_")
    app, _ = rules.issue_upload(app, service_item, code, content_type, "scan.pdf", upload_id, now)
    if not verified:
        return app
    arrived = facts(BYTES_FOR[content_type], content_type)
    updated = rules.record_verdict(app, code, upload_id, arrived, [], now)
    assert updated is not None
    return updated


def default_answers(service_item: ServiceItem) -> dict[str, Any]:
    """A valid answer for every required form field (the first choice, false, the minimum, ...)."""
    first = {"enum": lambda f: f.choices[0].value, "boolean": lambda f: False,
             "integer": lambda f: f.minimum if f.minimum is not None else 0, "string": lambda f: "x",
             "date": lambda f: "2000-01-01"}
    return {f.name: first[f.type.value](f) for f in service_item.form if f.required}


def ready_application(service_item: ServiceItem, owner: Principal | None = None, *,
                      app_id: str | None = None, now: datetime = FRIDAY) -> Application:
    """A draft with every required form field answered and its required materials verified."""
    owner = owner or citizen()
    answers = default_answers(service_item)
    app = rules.new_application(app_id or new_id("app_"), owner, service_item, now, answers,
                                rules.draft_answers(service_item, answers))
    for code, slot in app.materials.items():
        if slot.required:
            app = with_material(app, service_item, code, now=now)
    return app


def accepted(service_item: ServiceItem, owner: Principal | None = None, *, app: Application | None = None,
             now: datetime = FRIDAY) -> tuple[Application, list[DepartmentTask], list[DomainEvent]]:
    owner = owner or citizen()
    app = app or ready_application(service_item, owner, now=now)
    return rules.accept(app, service_item, identity(owner.sub), owner, now)


def seeded_deps(**settings: Any) -> Any:
    """fake_deps with the two sample items published and citizen-1 real-name verified (L2)."""
    from chalicelib.services.catalogue import publish_item
    from chalicelib.services.identities import record_verified_identity
    from tests.fakes import fake_deps

    deps = fake_deps(**settings)
    publish_item(deps.store, single_item())
    publish_item(deps.store, joint_item())
    record_verified_identity(deps, "citizen-1", "张三", VALID_ID, AssuranceLevel.L2, "test")
    return deps


def upload(deps: Any, owner: Principal, app_id: str, code: str, data: bytes | None = None,
           content_type: str | None = None) -> str:
    """Request an upload, put the bytes where the presigned POST points and return the key."""
    from chalicelib.services.applications import request_upload

    app = deps.store.get_application(app_id)
    spec = deps.store.get_item_version(app.item_code, app.item_version).material(code)
    content_type = content_type or spec.accepted_mime_types[0]
    _, post = request_upload(deps, owner, app_id, code, content_type, f"{code}.bin")
    deps.files.put(post.key, BYTES_FOR[content_type] if data is None else data, content_type)
    return post.key
