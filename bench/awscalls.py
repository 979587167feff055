"""Counting every AWS request the app makes, through botocore's event hooks on the app's own clients.

`before-call` fires once per API operation that goes on the wire (presigned URLs and POST policies
never do: they cost nothing), `after-call` when its answer is parsed; the time between them is the
request's round trip (to moto here, to AWS in production). Each call is tagged with the journey step
and the function invocation it belongs to, and with the billing units it consumes, estimated from
the request and response the way the price lists define them (DynamoDB request units from item
sizes, SQS 64 KB chunks). moto's own ReturnConsumedCapacity numbers are constants, so they are not used.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.records import compressed_doc

GSI_KEY = "gsi1pk"  # the table's one index projects ALL attributes: a put of an indexed item writes it twice


@dataclass
class Call:
    service: str
    operation: str
    step: str
    function: str
    ms: float = 0.0
    units: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


# -- DynamoDB sizes and request units --------------------------------------------------------------------
def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one typed attribute value, after DynamoDB's item-size rules (numbers approximated)."""
    (kind, raw), = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "B":
        return len(raw)
    if kind == "N":
        return (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in raw)
    if kind == "NS":
        return sum(attribute_size({"N": v}) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in raw)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(item: dict[str, Any], transactional: bool = False) -> tuple[float, float]:
    """(table units, index units) of one put: 1 KB units, doubled in a transaction, plus the index copy."""
    per_kb = math.ceil(max(item_size(item), 1) / 1024)
    return float(per_kb * (2 if transactional else 1)), float(per_kb if GSI_KEY in item else 0)


def _compressed(item: dict[str, Any]) -> dict[str, Any]:
    """The same item with its plain JSON `doc` stored as the adapter's compressed ones are (a what-if)."""
    if "doc" not in item or "S" not in item["doc"]:
        return item
    plain = {k: v for k, v in item.items() if k != "doc"}
    return {**plain, **compressed_doc(item["doc"]["S"])}


def read_units(total_bytes: int, consistent: bool) -> float:
    per_4kb = max(1, math.ceil(total_bytes / 4096))
    return float(per_4kb) * (1.0 if consistent else 0.5)


def dynamodb_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> dict[str, float]:
    """Request units as billed (estimated from sizes), with three what-ifs: the index's share of the writes
    (`wru_index`: what an index projecting only keys would save), the writes with compressed docs, and
    the same writes with every item under 1 KB and no index copy (`wru_floor`: no trimming, compression
    or projection can go below it while the same items are written the same way)."""
    puts: list[tuple[dict[str, Any], bool]] = []
    other_writes = 0.0
    if operation == "PutItem":
        puts = [(params["Item"], False)]
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            if "Put" in entry:
                puts.append((entry["Put"]["Item"], True))
            elif "Update" in entry or "Delete" in entry:
                other_writes += 2.0  # small counter and marker items: one 1 KB unit, transactional
    if puts or other_writes:
        table = [write_units(item, tx) for item, tx in puts]
        compressed = [write_units(_compressed(item), tx) for item, tx in puts]
        return {"wru": sum(a + b for a, b in table) + other_writes, "wru_index": sum(b for _, b in table),
                "wru_doc_compressed": sum(a + b for a, b in compressed) + other_writes,
                "wru_floor": sum(2.0 if tx else 1.0 for _, tx in puts) + other_writes}
    if operation == "GetItem":
        return {"rru": read_units(item_size(parsed.get("Item") or {}), bool(params.get("ConsistentRead")))}
    if operation == "Query":
        size = sum(item_size(i) for i in parsed.get("Items", []))
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        return {"rru": read_units(size, consistent), "items_read": float(len(parsed.get("Items", [])))}
    return {}


def sqs_units(operation: str, params: dict[str, Any]) -> dict[str, float]:
    """SQS bills every 64 KB chunk of a request's payload as one request."""
    if operation == "SendMessageBatch":
        payload = sum(len(e["MessageBody"].encode()) + len(json.dumps(e.get("MessageAttributes", {})))
                      for e in params["Entries"])
        return {"sqs_requests": float(max(1, math.ceil(payload / 65536)))}
    return {"sqs_requests": 1.0}


class CallRecorder:
    """Attach it to boto3 clients; set `step` and `function` while the code under test runs."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.step = "-"
        self.function = "-"

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-parameter-build", self._params)
        events.register("before-call", self._before)
        events.register("after-call", self._after)
        return client

    @staticmethod
    def _params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        context["bench_call"] = Call(service, model.name, self.step, self.function)
        context["bench_t0"] = time.perf_counter()

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.pop("bench_call", None)
        if call is None:
            return
        call.ms = (time.perf_counter() - context.pop("bench_t0")) * 1000
        params = context.get("bench_params") or {}
        if call.service == "dynamodb":
            call.units = dynamodb_units(call.operation, params, parsed or {})
        elif call.service == "sqs":
            call.units = sqs_units(call.operation, params)
        self.calls.append(call)

    # -- summaries ---------------------------------------------------------------------------------------
    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    @staticmethod
    def by_operation(calls: list[Call]) -> dict[str, int]:
        return dict(sorted(Counter(c.name for c in calls).items()))

    @staticmethod
    def units(calls: list[Call]) -> dict[str, float]:
        total: Counter[str] = Counter()
        for c in calls:
            total.update(c.units)
        return {k: round(v, 2) for k, v in sorted(total.items())}
