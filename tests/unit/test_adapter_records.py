"""The table's documents as stored: applications and tasks compressed (`docz`), outbox events plain,
and both read back alike — from boto3 (bytes) and from a Lambda event's JSON (base64 text)."""

from __future__ import annotations

import base64
import json

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.records import compressed_doc, doc
from chalicelib.domain.events import DomainEvent
from tests.unit.catalogue_samples import FRIDAY, ready_application, single_item


def test_an_application_is_stored_compressed_and_read_back_whole():
    store = DynamoStore(None, "t")
    app = ready_application(single_item())
    record = store._app_record(app)
    assert "doc" not in record and set(record["docz"]) == {"B"}
    plain = app.model_dump_json().encode()
    assert len(record["docz"]["B"]) < len(plain) / 2  # what the write units are billed on
    assert doc(record) == json.loads(plain)
    as_in_a_lambda_event = {**record, "docz": {"B": base64.b64encode(record["docz"]["B"]).decode()}}
    assert doc(as_in_a_lambda_event) == json.loads(plain)


def test_outbox_events_stay_plain_for_the_stream_and_its_readers():
    store = DynamoStore(None, "t")
    event = DomainEvent.raised("onetrip.case.accepted", FRIDAY, application_id="app_1", subject="cases/x",
                               recipients=[], data={"n": 1})
    record = store._event_record(event)
    assert "docz" not in record and json.loads(record["doc"]["S"])["id"] == event.id
    assert doc(record)["id"] == event.id


def test_compressed_doc_round_trips_any_text():
    text = json.dumps({"名称": "联办", "n": list(range(50))}, ensure_ascii=False)
    assert doc(compressed_doc(text)) == json.loads(text)
