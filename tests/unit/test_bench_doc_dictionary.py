"""The `docz` dictionary builder on small inputs: skeletons keep structure and codes and drop everything
personal or random, the result does not depend on the order documents were written in, the most
written shape goes last, the budget holds, and no dictionary file is ever replaced."""

from __future__ import annotations

import json
import random
import zlib

import pytest

from bench import doc_dictionary as builder
from chalicelib.adapters import docz

APPLICATION = {
    "id": "app_01M8ENCYGNYSDZH0XTV2XVNH8C", "owner_sub": "5de342db-38cf-4e2b-97df-9fff1b81d877",
    "status": "decided", "version": 12, "answers": {"marital_status": "single", "buyer_first_home": True},
    "materials": {code: {"code": code, "status": "verified", "upload_id": "upl_01M8ENCYJEBZEGXVXVZNDD9GZ3",
                         "key": f"materials/app_01M8ENCYGNYSDZH0XTV2XVNH8C/{code}/upl_01M8ENCYJEBZEGXVXVZNDD9GZ3",
                         "sha256": "24e1c6692bad98fa72472d106cdc7999d6e9552ffa0711885fe48d7a2c563eca", "size": 595}
                  for code in ("sale-contract", "tax-declaration", "property-certificate")},
    "case": {"case_number": "YQ-RE-0010-20261127-E8181BC2", "accepted_at": "2026-11-27T14:08:57.265+00:00",
             "applicant": {"name_masked": "张*", "id_number_masked": "110105********002X", "kind": "citizen",
                           "phone": "13800138000"}},
    "tasks": [{"task_id": f"tsk_01M8ENCZDHZM9N5Y74T6GXD7{n}A", "department": "yq-tax"} for n in range(5)],
    "note": "the applicant called twice",
    "purpose_zh": "部门 yq-amr 审查办件 YQ-RE-0010-20261127-E8181BC2 的材料（任务 tsk_01M8ENCZDHN666SFXG9DV81GAJ）",
    "payload": json.dumps({"id": "evt_01M8END0CNY7Z4M4K0MGVK7KFW", "type": "onetrip.case.decided",
                           "time": "2026-11-27T14:08:58.261+00:00"}, separators=(",", ":")),
}


def test_a_skeleton_keeps_keys_and_codes_and_blanks_what_is_personal_or_random():
    sk = builder.skeleton(APPLICATION)
    text = builder.compact(sk)
    assert sk["id"] == "app_" and sk["owner_sub"] == "" and sk["status"] == "decided" and sk["version"] == 0
    assert sk["answers"] == {"marital_status": "single", "buyer_first_home": True}
    assert list(sk["materials"]) == ["sale-contract", "tax-declaration"]  # a map by code, cut to two
    assert sk["materials"]["sale-contract"]["key"] == "materials/app_/sale-contract/upl_"
    assert sk["case"]["case_number"] == "YQ-RE-0010--" and sk["case"]["accepted_at"] == ""
    assert sk["case"]["applicant"] == {"name_masked": "", "id_number_masked": "", "kind": "citizen", "phone": ""}
    assert len(sk["tasks"]) == 2 and sk["note"] == ""
    assert sk["purpose_zh"] == "部门 yq-amr 审查办件 YQ-RE-0010-- 的材料（任务 tsk_）"
    assert json.loads(sk["payload"]) == {"id": "evt_", "type": "onetrip.case.decided", "time": ""}
    for leaked in ("01M8", "5de342db", "24e1c669", "2026", "张", "138", "called"):
        assert leaked not in text, leaked


def _variants(n: int) -> list[str]:
    """Documents of two shapes: many task-like ones, a few application-like ones, random ids each."""
    rng = random.Random(n)

    def ulid() -> str:
        return "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26))

    tasks = [json.dumps({"id": f"tsk_{ulid()}", "department": "yq-tax", "status": s, "deadline": "2026-12-04"})
             for s in ("assigned", "decided") * 4]
    apps = [json.dumps({"id": f"app_{ulid()}", "materials": {"form": {"status": s}}, "tasks": []})
            for s in ("missing", "verified")]
    return tasks + apps


def test_the_dictionary_does_not_depend_on_write_order_or_ids_and_ends_with_the_most_written_shape():
    texts = _variants(1)
    built = builder.assemble(texts)
    shuffled = _variants(2)
    random.Random(3).shuffle(shuffled)
    assert builder.assemble(shuffled) == built
    assert built.rindex(b'"materials"') < built.index(b'"department":"yq-tax"')  # 8 tasks after 2 applications
    assert 0 < len(builder.assemble(texts, budget=80)) <= 80


def test_the_dictionary_saves_bytes_on_the_documents_it_was_built_from():
    texts = _variants(4)
    built = builder.assemble(texts)
    assert sum(builder.deflated(t.encode(), built) for t in texts) < sum(builder.deflated(t.encode(), None)
                                                                           for t in texts)


def test_a_new_dictionary_takes_the_next_version_and_never_replaces_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(docz, "DICTIONARIES", {"v1": 1})
    (tmp_path / "docz-v1.zdict").write_bytes(b"one")
    (tmp_path / "docz-v2.zdict").write_bytes(b"two")  # written, not yet registered: still taken
    path = builder.write_new(b"three", tmp_path)
    assert path.name == "docz-v3.zdict" and path.read_bytes() == b"three"
    assert (tmp_path / "docz-v2.zdict").read_bytes() == b"two"
    monkeypatch.setattr(docz, "DICTIONARIES", {"v1": zlib.adler32(b"four")})
    with pytest.raises(SystemExit, match="registered already"):
        builder.write_new(b"four", tmp_path)
