"""The floor of the mandated stack: one Chalice route, importing boto3, pydantic and a Powertools Logger."""

import boto3  # noqa: F401
from aws_lambda_powertools import Logger
from chalice import Chalice
from pydantic import BaseModel

app = Chalice(app_name="floor", configure_logs=False)
logger = Logger(service="floor")


class Hello(BaseModel):
    hello: str


@app.route("/")
def index() -> dict:
    return Hello(hello="world").model_dump()
