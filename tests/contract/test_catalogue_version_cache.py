"""The DynamoDB adapter reads a pinned catalogue version once per warm container: published versions are
immutable, and every upload ticket, verification and submission of a case needs the same one."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import DynamoStore
from tests.contract.conftest import TABLE
from tests.unit.catalogue_samples import single_item


def _count_get_item(client):
    calls = []
    client.meta.events.register("before-call.dynamodb.GetItem", lambda **_: calls.append(1))
    return calls


def test_a_pinned_catalogue_version_is_read_from_the_table_once(dynamodb_client):
    store = DynamoStore(dynamodb_client, TABLE)
    store.put_item(single_item(version=1))
    calls = _count_get_item(dynamodb_client)
    first = store.get_item_version("T-SINGLE", 1)
    again = store.get_item_version("T-SINGLE", 1)
    assert first == again == single_item(version=1)
    assert len(calls) == 1


def test_a_missing_version_is_not_cached_so_it_is_found_once_published(dynamodb_client):
    store = DynamoStore(dynamodb_client, TABLE)
    assert store.get_item_version("T-SINGLE", 2) is None
    DynamoStore(dynamodb_client, TABLE).put_item(single_item(version=2))
    assert store.get_item_version("T-SINGLE", 2) == single_item(version=2)
