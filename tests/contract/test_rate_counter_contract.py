"""Rate counters (`Store.take_rate_slot`), one suite against the fake and the DynamoDB adapter."""

from __future__ import annotations

from chalicelib.adapters import keys
from tests.contract.conftest import TABLE
from tests.fakes import FakeStore

W0 = 1_800_000_000


def test_a_window_admits_exactly_its_limit_and_a_refusal_counts_nothing(store):
    assert [store.take_rate_slot("sub:a", "default", W0, 3, W0 + 360) for _ in range(5)] == [True] * 3 + [False] * 2
    # The refusals did not raise the count: a larger limit in the same window has exactly one slot left.
    assert store.take_rate_slot("sub:a", "default", W0, 4, W0 + 360) is True
    assert store.take_rate_slot("sub:a", "default", W0, 4, W0 + 360) is False


def test_subjects_classes_and_windows_count_separately(store):
    assert store.take_rate_slot("sub:a", "identity", W0, 1, W0 + 3900) is True
    assert store.take_rate_slot("sub:a", "identity", W0, 1, W0 + 3900) is False
    assert store.take_rate_slot("sub:b", "identity", W0, 1, W0 + 3900) is True
    assert store.take_rate_slot("sub:a", "default", W0, 1, W0 + 360) is True
    assert store.take_rate_slot("client:c1", "identity", W0, 1, W0 + 3900) is True
    assert store.take_rate_slot("sub:a", "identity", W0 + 3600, 1, W0 + 7500) is True


def test_the_counter_is_one_small_item_that_expires(store, request):
    store.take_rate_slot("sub:a", "default", W0, 5, W0 + 360)
    store.take_rate_slot("sub:a", "default", W0, 5, W0 + 360)
    if isinstance(store, FakeStore):
        assert store._rate_counters()[("sub:a", "default", W0)] == (2, W0 + 360)
        return
    client = request.getfixturevalue("dynamodb_client")
    key = {k: {"S": v} for k, v in keys.rate_counter("sub:a", "default", W0).items()}
    item = client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert item == {**key, "n": {"N": "2"}, "expires_at": {"N": str(W0 + 360)}}
    ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


# Concurrency is DynamoDB's conditional-write guarantee (one item, one condition); moto's in-process
# backend does not keep it under threads (11 of a limit of 10 admitted in 3 of 5 runs), so it is not
# tested here.


def test_a_windows_count_is_read_back_and_a_window_never_counted_reads_zero(store):
    assert store.rate_slots_taken("sub:a", "identity", W0) == 0
    for _ in range(3):
        store.take_rate_slot("sub:a", "identity", W0, 2, W0 + 7500)
    assert store.rate_slots_taken("sub:a", "identity", W0) == 2  # the refusal counted nothing
    assert store.rate_slots_taken("sub:a", "identity", W0 + 3600) == 0
    assert store.rate_slots_taken("sub:b", "identity", W0) == 0
