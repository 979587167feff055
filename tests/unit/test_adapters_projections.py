"""The projections' transactions as DynamoDB receives them (botocore's Stubber on a real client): never
more than 100 items, a cancellation's reasons naming which parts were recorded before, the rest tried
again without them."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.ports import Increment
from tests.contract.test_projections_contract import notification


@pytest.fixture
def stubbed():
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    sent: list = []
    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems",
                                lambda params, **_: sent.append(params["TransactItems"]))
    with Stubber(client) as stubber:
        yield DynamoStore(client, "t"), stubber, sent
        stubber.assert_no_pending_responses()


def test_a_large_batch_is_cut_into_transactions_of_at_most_100_items(stubbed):
    store, stubber, sent = stubbed
    incs = [Increment(f"evt_{n}", f"ITEM-{n % 30}", ("2031-03", "all"), {"accepted": 1}) for n in range(90)]
    notes = [notification("app_1", n) for n in range(60)]
    for _ in range(3):
        stubber.add_response("transact_write_items", {}, {"TransactItems": ANY})
    recorded = store.record_projections(incs, notes)
    assert len(recorded.counted) == 90 and len(recorded.notified) == 60
    assert len(sent) == 3 and all(len(items) <= 100 for items in sent)
    puts = [(i["Put"]["Item"]["pk"]["S"], i["Put"]["Item"]["sk"]["S"]) for items in sent for i in items if "Put" in i]
    assert len(puts) == 150 and len(set(puts)) == 150  # every part once
    for items in sent:  # an aggregate appears once per transaction (DynamoDB refuses two operations on one item)
        keys = [(u["Update"]["Key"]["pk"]["S"], u["Update"]["Key"]["sk"]["S"]) for u in items if "Update" in u]
        assert len(keys) == len(set(keys))


def test_parts_recorded_before_leave_the_batch_and_the_rest_is_written(stubbed):
    store, stubber, sent = stubbed
    incs = [Increment(f"evt_{n}", "A", ("2031-03", "all"), {"accepted": 1}) for n in range(3)]
    note = notification("app_1", 0)
    stubber.add_client_error(
        "transact_write_items", service_error_code="TransactionCanceledException", http_status_code=400,
        service_message="cancelled", expected_params={"TransactItems": ANY},
        modeled_fields={"CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"},
                                                {"Code": "None"}, {"Code": "ConditionalCheckFailed"},
                                                {"Code": "None"}, {"Code": "None"}]})
    stubber.add_response("transact_write_items", {}, {"TransactItems": ANY})
    recorded = store.record_projections(incs, [note])
    assert recorded.counted == {"evt_0", "evt_2"} and recorded.notified == frozenset()
    retried = sent[1]
    assert [i["Put"]["Item"]["pk"]["S"] for i in retried if "Put" in i] == ["PROJ#evt_0", "PROJ#evt_2"]
    [month, _all] = [u["Update"] for u in retried if "Update" in u]
    assert month["ExpressionAttributeValues"][":c0"] == {"N": "2"}  # the two left, summed
