"""Structured JSON logs (Powertools). Event names plus keys; never names, ID numbers or phones."""

from __future__ import annotations

from aws_lambda_powertools import Logger

# A service name different from the Chalice app name, so Chalice's own log handler does not
# print every line twice.
logger = Logger(service="onetrip")
