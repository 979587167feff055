"""The floor of the mandated stack: one Chalice app importing boto3, pydantic and a Powertools Logger.

`/` answers without AWS (the floor of an import plus a response); `/item` builds a DynamoDB client on
first use and reads one item (the floor of any function's first AWS-backed response); `/clients` first
builds a client for each service named in BENCH_SERVICES (the ones a function of ours used in its first
response), then reads the same item: the floor of a function that needs those clients.
"""

import os

import boto3
from aws_lambda_powertools import Logger
from chalice import Chalice
from pydantic import BaseModel

app = Chalice(app_name="floor", configure_logs=False)
logger = Logger(service="floor")
_clients: dict[str, object] = {}


class Hello(BaseModel):
    hello: str


@app.route("/")
def index() -> dict:
    return Hello(hello="world").model_dump()


@app.route("/item")
def item() -> dict:
    if "dynamodb" not in _clients:
        _clients["dynamodb"] = boto3.client("dynamodb")
    found = _clients["dynamodb"].get_item(  # type: ignore[attr-defined]
        TableName=os.environ["ONETRIP_TABLE"], Key={"pk": {"S": "ITEM#YQ-AMR-0001"}, "sk": {"S": "LATEST"}})
    return Hello(hello=str("Item" in found)).model_dump()


@app.route("/clients")
def clients() -> dict:
    for service in os.environ.get("BENCH_SERVICES", "dynamodb").split(","):
        if service not in _clients:
            _clients[service] = boto3.client(service)
    return item()
