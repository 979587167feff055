"""The table's records in DynamoDB's attribute-value shape, shared by the adapter and its mixins, and
read as the stream carries them (no boto3 needed: the dispatcher's cold start stays light)."""

from __future__ import annotations

import base64
import json
from typing import Any

from ..domain.errors import Problem, ValidationFailed
from ..domain.events import DomainEvent
from . import docz


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def key_of(key: dict[str, str]) -> dict[str, Any]:
    """A key built in `keys` as DynamoDB attribute values."""
    return {k: s(v) for k, v in key.items()}


def bad_cursor() -> ValidationFailed:
    return ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid",
                                              "cursor")])


def compressed_doc(text: str) -> dict[str, Any]:
    """The entity's JSON as `docz`, zlib-compressed binary with our preset dictionary (see `docz`):
    applications, tasks, delivery states and access records are the table's largest records (1–5 KB
    of JSON), written on every change and most again into the index, and DynamoDB bills writes per
    started KB (issue 9)."""
    return {"docz": {"B": docz.compress(text.encode())}}


def doc(item: dict[str, Any]) -> dict[str, Any]:
    """An item's document, plain (`doc`) or compressed (`docz`: bytes from boto3, base64 text in a
    Lambda event's JSON)."""
    if "docz" in item:
        raw = item["docz"]["B"]
        parsed: dict[str, Any] = json.loads(docz.decompress(base64.b64decode(raw) if isinstance(raw, str) else raw))
        return parsed
    parsed = json.loads(item["doc"]["S"])
    return parsed


def event_from_stream_image(image: dict[str, Any]) -> DomainEvent | None:
    """The outbox event in a stream record's NewImage, or None for any other record type."""
    if image.get("type", {}).get("S") != "event":
        return None
    return DomainEvent.model_validate(doc(image))
