"""A stand-in Chalice app for the local-stack tests: the real app.py is written elsewhere.

It echoes its environment on the health route and chains stream -> dispatch -> delivery queue
-> deliver -> table, so a test can see the pump subprocess call every handler.
"""

import json
import os

import boto3
from chalice import Chalice

app = Chalice(app_name="onetrip-stub", configure_logs=False)


@app.route("/v1/items")
def items():
    return {
        "table": os.environ.get("ONETRIP_TABLE"),
        "marker": os.environ.get("ONETRIP_TEST_MARKER"),
        "audiences": os.environ.get("ONETRIP_AUDIENCES"),
    }


@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/stub/stream/x")
def dispatch(event):
    sqs = boto3.client("sqs")
    for record in event:
        image = record.new_image or {}
        if record.event_name == "INSERT" and image.get("pk", {}).get("S") == "stub#ping":
            sqs.send_message(QueueUrl=os.environ["ONETRIP_DELIVERY_QUEUE_URL"],
                             MessageBody=json.dumps({"ping": image["sk"]["S"]}))


@app.on_sqs_message(queue="delivery", batch_size=10)
def deliver(event):
    ddb = boto3.client("dynamodb")
    for record in event:
        ping = json.loads(record.body)["ping"]
        ddb.put_item(TableName=os.environ["ONETRIP_TABLE"],
                     Item={"pk": {"S": "stub#delivered"}, "sk": {"S": ping}})
