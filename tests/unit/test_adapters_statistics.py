"""What moto never answers: DynamoDB cancels one of two transactions that touch one item at the
same instant (TransactionConflict). The adapter tries again — nothing was written — and tells a
seen-before event (the marker's condition failed) from every other cancellation. Injected with
botocore's Stubber on a real client."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.ports import Increment


def add_statistics(store, event_id, periods, item_code, deltas) -> bool:
    """One event's increments through the store's batch recorder; True when counted now."""
    return event_id in store.record_projections([Increment(event_id, item_code, tuple(periods), deltas)], []).counted


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr("chalicelib.adapters.dynamodb_projections.time.sleep", lambda _s: None)
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield DynamoStore(client, "t"), stubber
        stubber.assert_no_pending_responses()


def cancelled(stubber: Stubber, *reasons: str) -> None:
    stubber.add_client_error(
        "transact_write_items", service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled", http_status_code=400, expected_params={"TransactItems": ANY},
        response_meta=None, modeled_fields={"CancellationReasons": [{"Code": r} for r in reasons]})


def test_a_transaction_conflict_is_tried_again_and_then_counts(stubbed):
    store, stubber = stubbed
    cancelled(stubber, "None", "TransactionConflict", "None")
    cancelled(stubber, "None", "None", "TransactionConflict")
    stubber.add_response("transact_write_items", {}, {"TransactItems": ANY})
    assert add_statistics(store, "evt_1", ("2031-03", "all"), "A", {"accepted": 1}) is True


def test_a_marker_that_exists_means_the_event_was_counted_before(stubbed):
    store, stubber = stubbed
    cancelled(stubber, "ConditionalCheckFailed", "None", "None")
    assert add_statistics(store, "evt_1", ("2031-03", "all"), "A", {"accepted": 1}) is False


def test_conflicts_that_never_end_and_other_cancellations_are_raised(stubbed):
    store, stubber = stubbed
    for _ in range(6):
        cancelled(stubber, "None", "TransactionConflict", "None")
    with pytest.raises(ClientError):
        add_statistics(store, "evt_1", ("2031-03", "all"), "A", {"accepted": 1})
    cancelled(stubber, "None", "ValidationError", "None")
    with pytest.raises(ClientError):
        add_statistics(store, "evt_2", ("2031-03", "all"), "A", {"accepted": 1})


def test_the_transaction_puts_the_marker_first_and_only_adds_to_counters(stubbed):
    store, stubber = stubbed
    stubber.add_response("transact_write_items", {}, {"TransactItems": ANY})
    sent: list = []
    store._db.meta.events.register("provide-client-params.dynamodb.TransactWriteItems",
                                   lambda params, **_: sent.append(params))
    add_statistics(store, "evt_9", ("2031-03", "all"), "A", {"accepted": 1, "visits_sum": 2})
    [params] = sent
    marker, *updates = params["TransactItems"]
    assert marker["Put"]["Item"]["pk"] == {"S": "PROJ#evt_9"}
    assert marker["Put"]["ConditionExpression"] == "attribute_not_exists(pk)"
    assert [u["Update"]["Key"]["pk"]["S"] for u in updates] == ["STATS#2031-03", "STATS#all"]
    assert all(" ADD " in u["Update"]["UpdateExpression"] and "ConditionExpression" not in u["Update"]
               for u in updates)
