"""The compressed documents (`docz` with the preset dictionary, issue 9): applications, tasks, delivery
states and access records read back whole from the fake and from the table; on the table they are
stored compressed with the current dictionary (the outbox and audit records stay plain), and records
in the formats written before — plain zlib, and the access log's plain `doc` — still read."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

from chalicelib.adapters import docz
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.records import doc
from chalicelib.domain.access_log import AccessedMaterial, department_read
from chalicelib.domain.deliveries import Delivery, DeliveryStatus
from tests.contract.conftest import TABLE
from tests.unit.catalogue_samples import FRIDAY, accepted, joint_item, officer, ready_application

COMPRESSED = {"application", "task", "delivery_state", "access_record"}


def _write_a_case(store):
    draft = ready_application(joint_item())
    store.create_application(draft)
    app, tasks, events = accepted(joint_item(), app=draft)
    saved = store.accept_application(app, draft.version, tasks, events)
    stamp = FRIDAY.isoformat(timespec="milliseconds")
    delivery = store.save_delivery(Delivery(
        webhook_id=f"msg_{events[0].id}", department=tasks[0].department, endpoint_id="ep_1",
        event_type=events[0].type, status=DeliveryStatus.IN_FLIGHT, attempt=1, created_at=stamp, updated_at=stamp,
        payload=json.dumps({"id": events[0].id, "type": events[0].type})), None)
    record = department_read(f"sub:{saved.owner_sub}",
                             officer(tasks[0].department).actor(), FRIDAY + timedelta(minutes=5),
                             application_id=saved.id, item_code=saved.item_code,
                             case_number=saved.case.case_number if saved.case else None, task_id=tasks[0].id,
                             materials=[AccessedMaterial(code=c, source="upload", sha256=s.sha256)
                                        for c, s in saved.materials.items() if s.sha256])
    store.add_access_record(record)
    return saved, tasks, delivery, record


def _read_back(store, saved, tasks, delivery, record):
    assert store.get_application(saved.id) == saved
    assert [store.get_task(t.id) for t in tasks] == tasks
    assert store.get_delivery(delivery.webhook_id) == delivery
    assert store.list_access_records(record.owner, 10, None).items == [record]


def test_applications_tasks_deliveries_and_access_records_read_back_whole(store):
    _read_back(store, *_write_a_case(store))


def _items(client):
    return client.scan(TableName=TABLE)["Items"]  # a test may Scan; request paths never do


def test_on_the_table_they_are_compressed_with_the_current_dictionary_and_the_outbox_stays_plain(dynamodb_client):
    _write_a_case(DynamoStore(dynamodb_client, TABLE))
    items = _items(dynamodb_client)
    kinds = {i["type"]["S"] for i in items}
    assert COMPRESSED <= kinds and {"event", "audit_entry"} <= kinds
    for item in items:
        if item["type"]["S"] in COMPRESSED:
            assert "doc" not in item, item["type"]
            assert docz.dictionary_id(item["docz"]["B"]) == docz.DICTIONARIES[docz.WRITING], item["type"]
        elif item["type"]["S"] in {"event", "audit_entry"}:
            assert "docz" not in item and json.loads(item["doc"]["S"])


def test_records_written_in_the_earlier_formats_still_read(dynamodb_client):
    store = DynamoStore(dynamodb_client, TABLE)
    written = _write_a_case(store)
    for item in _items(dynamodb_client):
        kind = item["type"]["S"]
        if kind not in COMPRESSED:
            continue
        old = {k: v for k, v in item.items() if k != "docz"}
        if kind == "access_record":  # the access log was plain JSON
            old["doc"] = {"S": json.dumps(doc(item), ensure_ascii=False)}
        else:  # plain zlib, delivery states with json.dumps' default separators
            old["docz"] = {"B": zlib.compress(json.dumps(doc(item)).encode(), 6)}
        dynamodb_client.put_item(TableName=TABLE, Item=old)
    assert not any(docz.dictionary_id(i["docz"]["B"]) for i in _items(dynamodb_client) if "docz" in i)
    _read_back(store, *written)
