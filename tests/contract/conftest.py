"""The `store` fixture: one contract suite, run against the in-memory fake and the DynamoDB adapter on moto.

The table is created from infra/template.yaml's `Table` resource, so the adapter is tested against
the keys and index the deployment really has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.adapters.records import doc
from chalicelib.domain.events import DomainEvent
from tests.fakes import FakeStore

TABLE = "onetrip-contract"
TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
_CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


def table_properties() -> dict[str, Any]:
    from infra.onetrip.template import load_template

    return load_template(TEMPLATE)["Resources"]["Table"]["Properties"]


def create_table(client: Any, name: str) -> None:
    props = table_properties()
    kwargs: dict[str, Any] = {k: props[k] for k in _CREATE_TABLE_KEYS if k in props}
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **stream}
    client.create_table(TableName=name, **kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


@pytest.fixture
def dynamodb_client(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        yield client


@pytest.fixture(params=["fake", "dynamodb"])
def store(request):
    if request.param == "fake":
        return FakeStore()
    return DynamoStore(request.getfixturevalue("dynamodb_client"), TABLE)


@pytest.fixture
def outbox_events(store, request):
    """The outbox events stored for one application: FakeStore.outbox, or the EVT# records in the table."""
    if isinstance(store, FakeStore):
        return lambda app_id: [e for e in store.outbox if e.application_id == app_id]
    client = request.getfixturevalue("dynamodb_client")

    def read(app_id: str) -> list[DomainEvent]:
        resp = client.query(TableName=TABLE, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                            ExpressionAttributeValues={":p": {"S": f"APP#{app_id}"}, ":s": {"S": "EVT#"}},
                            ConsistentRead=True)
        return [DomainEvent.model_validate(doc(i)) for i in resp["Items"]]

    return read
