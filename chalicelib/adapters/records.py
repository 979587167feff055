"""Reading the table's records as the stream carries them (no boto3 needed: the dispatcher's cold
start stays light)."""

from __future__ import annotations

import json
from typing import Any

from ..domain.events import DomainEvent


def doc(item: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(item["doc"]["S"])
    return parsed


def event_from_stream_image(image: dict[str, Any]) -> DomainEvent | None:
    """The outbox event in a stream record's NewImage, or None for any other record type."""
    if image.get("type", {}).get("S") != "event":
        return None
    return DomainEvent.model_validate(doc(image))
