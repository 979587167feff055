"""The compressed documents' format (`docz`): zlib with a preset dictionary named in the stream's header,
the documents written before it still read, a dictionary no reader knows refused by name, the shipped
dictionary pinned and free of personal or high-entropy data, and what it saves: a decided joint case
stored in one 1 KB write unit."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest

from bench.awscalls import item_size
from chalicelib.adapters import docz
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.records import compressed_doc, doc
from chalicelib.domain.applications import ApplicationStatus, Outcome
from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.services import cases
from chalicelib.services.applications import create_application
from chalicelib.services.catalogue import publish_item
from chalicelib.services.identities import record_verified_identity
from chalicelib.services.materials import verify_material
from infra.onetrip.seed import REFERENCE_REGISTRY, load_catalogue
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import VALID_ID, citizen, default_answers, officer, upload

ROOT = Path(__file__).resolve().parents[2]
# Pinned: stored documents depend on these exact bytes. Never update this number; add a new version.
V1_ADLER32 = 0x7C012D53
TEXT = json.dumps({"名称": "联办", "status": "decided", "n": list(range(50))}, ensure_ascii=False)


def test_a_document_round_trips_through_the_current_dictionary_whose_id_its_header_carries():
    raw = compressed_doc(TEXT)["docz"]["B"]
    assert raw[1] & 0x20  # FDICT (RFC 1950)
    assert docz.dictionary_id(raw) == docz.DICTIONARIES[docz.WRITING] == int.from_bytes(raw[2:6], "big")
    assert doc({"docz": {"B": raw}}) == json.loads(TEXT)


def test_a_document_written_before_the_dictionaries_still_reads():
    old = zlib.compress(TEXT.encode(), 6)  # what compressed_doc wrote until now
    assert docz.dictionary_id(old) is None
    assert doc({"docz": {"B": old}}) == json.loads(TEXT)
    assert doc({"docz": {"B": base64.b64encode(old).decode()}}) == json.loads(TEXT)


def test_a_document_in_a_lambda_events_json_reads_from_its_base64_text():
    raw = compressed_doc(TEXT)["docz"]["B"]
    assert doc({"docz": {"B": base64.b64encode(raw).decode()}}) == json.loads(TEXT)


def test_a_dictionary_this_version_does_not_know_is_refused_by_its_id():
    newer = b'{"status":"decided","outcome":"approved"}'  # as if a later version had added it
    other = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=newer)
    raw = other.compress(TEXT.encode()) + other.flush()
    with pytest.raises(docz.UnknownDocDictionary, match=f"{zlib.adler32(newer):#010x}") as caught:
        doc({"docz": {"B": raw}})
    assert caught.value.dictid == zlib.adler32(newer)


def test_a_truncated_stream_is_an_error_not_a_shorter_document():
    raw = compressed_doc(TEXT)["docz"]["B"]
    with pytest.raises(zlib.error):
        docz.decompress(raw[:-6])
    with pytest.raises(zlib.error):
        docz.decompress(raw + b"more")


def test_the_shipped_dictionary_is_pinned_by_its_adler32():
    data = docz.dictionary_path("v1").read_bytes()
    assert zlib.adler32(data) == V1_ADLER32 == docz.DICTIONARIES["v1"]
    for name, dictid in docz.DICTIONARIES.items():  # every registered dictionary ships and matches
        assert zlib.adler32(docz.dictionary_path(name).read_bytes()) == dictid, name
    assert docz.WRITING in docz.DICTIONARIES
    assert len(data) <= 8 * 1024  # a few KB: well inside deflate's 32 KB window


def test_an_edited_dictionary_file_fails_loudly_instead_of_misreading(tmp_path, monkeypatch):
    (tmp_path / "docz-v1.zdict").write_bytes(docz.dictionary_path("v1").read_bytes() + b" ")
    monkeypatch.setattr(docz, "DATA_DIR", tmp_path)
    docz.dictionary.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="must never change"):
            compressed_doc(TEXT)
    finally:
        docz.dictionary.cache_clear()


def test_the_shipped_dictionary_holds_no_personal_or_high_entropy_data():
    text = docz.dictionary_path("v1").read_bytes().decode("utf-8")
    forbidden = {
        "digit run (ID number, phone, date)": r"\d{6,}",
        "mobile number": r"1[3-9]\d{9}",
        "ULID": r"[0-9A-HJKMNP-TV-Z]{26}",
        "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "hex digest": r"[0-9a-fA-F]{16,}",
        "date": r"\d{4}-\d{2}-\d{2}",
        "time": r"\d{2}:\d{2}",
        "base64 blob": r"[A-Za-z0-9+/]{32,}",
        "e-mail": r"[\w.]+@[\w.]+",
    }
    for what, pattern in forbidden.items():
        assert not re.search(pattern, text), what
    for person in REFERENCE_REGISTRY.values():
        assert person["name"] not in text and person["name"][0] + "*" not in text
        assert person["id_number"] not in text and person["id_number"][-4:] not in text
    assert VALID_ID not in text


def test_the_dictionary_is_read_on_first_use_not_at_import():
    code = ("import app\nfrom chalicelib.bootstrap import build_deps\nfrom chalicelib.config import Settings\n"
            "build_deps(Settings(), make_client=lambda name: object())\n"
            "from chalicelib.adapters import docz\nprint(docz.dictionary.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def _decided_joint_case():
    """YQ-RE-0010 of the sample catalogue (three uploads, two departments) through the use cases to
    its decision, by an applicant with a Cognito-style subject."""
    deps = fake_deps()
    raw = next(i for i in load_catalogue()["items"] if i["code"] == "YQ-RE-0010")
    service_item = publish_item(deps.store, ServiceItem.model_validate(raw))
    owner = citizen(str(uuid.uuid4()))
    record_verified_identity(deps, owner.sub, "张三", VALID_ID, AssuranceLevel.L2, "test")
    app = create_application(deps, owner, service_item.code, answers=default_answers(service_item))
    for code, slot in app.materials.items():
        if slot.required:
            verify_material(deps, upload(deps, owner, app.id, code))
    cases.submit_application(deps, owner, app.id)
    app = deps.store.get_application(app.id)
    for ref in app.tasks:
        decided, _ = cases.decide_task(deps, officer(ref.department), ref.task_id, Outcome.APPROVED, [])
    assert decided.status is ApplicationStatus.DECIDED and len(decided.tasks) == 2
    return decided


def test_a_decided_joint_case_is_stored_in_one_write_unit_where_plain_zlib_needed_two():
    app = _decided_joint_case()
    item = DynamoStore(None, "t")._app_record(app)
    assert doc(item) == json.loads(app.model_dump_json())
    assert item_size(item) <= 1024, item_size(item)
    before = {**item, "docz": {"B": zlib.compress(app.model_dump_json().encode(), 6)}}  # the format until now
    assert item_size(before) > 1024, item_size(before)
