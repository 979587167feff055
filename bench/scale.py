"""Scale of queries: "my applications" and a department's inbox, one page, with 1k, 100k and 1M items.

Two measurements, both through the real `DynamoStore` adapter:

* **Generated partition (1k / 100k / 1M)**: a fake boto3 DynamoDB client under the adapter holds one
  partition of N items of the adapter's own record shape (built by its own record builders), generated
  on demand from their position, and answers `Query` the way DynamoDB's documentation defines it
  (key condition on the partition, sorted by the sort key, `Limit` = items evaluated, `ExclusiveStartKey`).
  Every request the adapter makes is counted with its billing units; the numbers that must stay flat
  are requests per page and items read per page. N items all sit in the queried partition: the worst
  case (one department with a million tasks); other partitions are never touched by a Query.
* **moto (what is feasible)**: the same adapter on an in-process moto table with 1k and 10k items, to
  show the requests and items per page on a real (emulated) DynamoDB and what loading costs: moto's
  Query walks the whole partition in Python (its time grows with N, DynamoDB's does not), and loading
  1M items takes far longer than this benchmark's budget (the measured rate says how long).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.awscalls import CallRecorder, dynamodb_units
from chalicelib.adapters import docz, keys
from chalicelib.adapters.records import compressed_doc

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE_MS = 1_767_225_600_000  # 2026-01-01: generated ids sort by their position
PAGE = 20
SIZES = (1_000, 100_000, 1_000_000)
MOTO_SIZES = (1_000, 10_000)


def generated_id(prefix: str, position: int) -> str:
    value = ((BASE_MS + position) << 80) | 0x5EED_5EED_5EED_5EED_5EED
    return prefix + "".join(_CROCKFORD[(value >> (5 * (25 - i))) & 31] for i in range(26))


def position_of(identifier: str, prefix: str) -> int:
    value = 0
    for char in identifier[len(prefix):len(prefix) + 10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value - BASE_MS  # the first 10 characters carry the top 50 of 130 bits: the 48-bit time


class GeneratedPartition:
    """N records of one kind in one index partition, item i made from a template record with its id.

    A sharded list (a department's inbox) gives `shard_key`, which names the index partition of an id:
    the N records are then spread over those shards exactly as the adapter writes them."""

    def __init__(self, template: dict[str, Any], template_id: str, prefix: str, size: int,
                 shard_key: Callable[[str], str] | None = None, shards: tuple[str, ...] = ()) -> None:
        self.template, self.template_id, self.prefix, self.size = template, template_id, prefix, size
        sort_key = template["gsi1sk"]["S"]
        self.partition = template["gsi1pk"]["S"]
        self.sort_prefix = sort_key[: sort_key.index(template_id)]
        self.shard_key, self.shards = shard_key, shards

    def item(self, position: int) -> dict[str, Any]:
        new = generated_id(self.prefix, position)
        item = {k: {"S": v["S"].replace(self.template_id, new)} if "S" in v else v for k, v in self.template.items()}
        if "docz" in item:  # the compressed document holds the id too
            text = docz.decompress(item["docz"]["B"]).decode().replace(self.template_id, new)
            item.update(compressed_doc(text))
        if self.shard_key is not None:
            item["gsi1pk"] = {"S": self.shard_key(new)}
        return item

    def in_shard(self, position: int, shard: str | None) -> bool:
        return shard is None or self.shard_key is None or self.shard_key(generated_id(self.prefix, position)) == shard

    def position(self, sort_key: str) -> int:
        return position_of(sort_key[len(self.sort_prefix):], self.prefix)


# The sort-key ranges a key condition may add to the partition, and the values each names.
_RANGES = {"": (), " AND gsi1sk <= :hi": (":hi",), " AND gsi1sk >= :lo": (":lo",),
           " AND gsi1sk BETWEEN :lo AND :hi": (":lo", ":hi")}


class FakeDynamoDB:
    """The `query` of boto3's DynamoDB client over generated partitions; nothing else is offered, so an
    adapter that scanned or filtered would fail here instead of looking fast. Key conditions: the
    partition, optionally with a sort-key range (`<=`, `>=`, `BETWEEN`), as DynamoDB defines them."""

    def __init__(self, partitions: list[GeneratedPartition]) -> None:
        self.partitions: dict[str, tuple[GeneratedPartition, str | None]] = {}
        for p in partitions:
            for name in p.shards or (p.partition,):
                self.partitions[name] = (p, name if p.shards else None)
        self.requests: list[dict[str, Any]] = []

    def query(self, **params: Any) -> dict[str, Any]:
        assert params.get("IndexName") == "gsi1" and "FilterExpression" not in params, params
        condition = params["KeyConditionExpression"]
        assert condition.startswith("gsi1pk = :p"), condition
        bounds = _RANGES[condition.removeprefix("gsi1pk = :p")]
        values = params["ExpressionAttributeValues"]
        low = values[":lo"]["S"] if ":lo" in bounds else None
        high = values[":hi"]["S"] if ":hi" in bounds else None
        part, shard = self.partitions[values[":p"]["S"]]
        forward = params.get("ScanIndexForward", True)
        step = 1 if forward else -1
        start = params.get("ExclusiveStartKey")
        if start is not None:
            first = part.position(start["gsi1sk"]["S"]) + step
        else:
            first = 0 if forward else part.size - 1
            # A range bound puts the first position there directly (positions follow sort keys).
            bound = low if forward else high
            if bound is not None and bound.startswith(part.sort_prefix) and len(bound) > len(part.sort_prefix):
                edge = part.position(bound)
                first = max(first, edge) if forward else min(first, edge)

        def matches(p: int) -> bool:
            key = part.sort_prefix + generated_id(part.prefix, p)
            return part.in_shard(p, shard) and (low is None or key >= low) and (high is None or key <= high)

        positions: list[int] = []
        p = first
        while 0 <= p < part.size and len(positions) < params["Limit"]:
            if matches(p):
                positions.append(p)
            p += step
        items = [part.item(q) for q in positions]
        response: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        # DynamoDB hands back a LastEvaluatedKey when the page filled up and the range goes on.
        if len(positions) == params["Limit"] and 0 <= positions[-1] + step < part.size:
            last = items[-1]
            response["LastEvaluatedKey"] = {k: last[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        self.requests.append({"params": params, "units": dynamodb_units("Query", params, response)})
        return response


def templates(store: Any) -> dict[str, tuple[dict[str, Any], str, str]]:
    """One application and one task record, exactly as the adapter writes them."""
    from chalicelib.domain import applications as rules
    from chalicelib.domain.applications import DepartmentTask
    from chalicelib.domain.catalogue import ServiceItem
    from chalicelib.domain.principals import Principal, PrincipalKind
    from infra.onetrip.seed import load_catalogue

    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    item = ServiceItem.model_validate(next(i for i in load_catalogue()["items"] if i["code"] == "YQ-RE-0010"))
    owner = Principal(sub="bench-owner", kind=PrincipalKind.CITIZEN)
    app = rules.new_application(generated_id("app_", 0), owner, item, now)
    task = DepartmentTask(id=generated_id("tsk_", 0), application_id=app.id, case_number="YQ-RE-0010-20260105-BENCH",
                          item_code=item.code, item_version=item.version, department="yq-tax",
                          created_at=now.isoformat(), deadline="2026-01-12")
    # The adapter's own record builders: the generated items are byte for byte what it stores.
    return {"my applications": (store._app_record(app), app.id, "app_"),
            "department inbox": (store._task_record(task), task.id, "tsk_")}


def _page_calls(list_page: Callable[[str | None], Any], fake: FakeDynamoDB, cursor: str | None) -> dict[str, Any]:
    before = len(fake.requests)
    t0 = time.perf_counter()
    page = list_page(cursor)
    ms = (time.perf_counter() - t0) * 1000
    requests = fake.requests[before:]
    return {"requests": len(requests), "items_read": sum(int(r["units"]["items_read"]) for r in requests),
            "rru": sum(r["units"]["rru"] for r in requests), "items": len(page.items), "ms": ms,
            "cursor": page.cursor, "first_id": page.items[0].id if page.items else None}


def cursor_at(query: str, item: dict[str, Any]) -> str:
    """The cursor the API would have handed out with `item` last on its page."""
    from chalicelib.adapters.dynamodb import encode_cursor
    from chalicelib.adapters.sharded import encode_after

    if query == "department inbox":
        return encode_after(keys.inbox_index("yq-tax"), item["gsi1sk"]["S"])
    return encode_cursor({k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")})


def requests_per_page(query: str) -> int:
    """The design's cost of one page: one Query, or one per shard for a sharded list."""
    return keys.INBOX_SHARDS if query == "department inbox" else 1


def generated(sizes: tuple[int, ...] = SIZES, repeats: int = 5) -> list[dict[str, Any]]:
    from chalicelib.adapters.dynamodb import DynamoStore

    rows = []
    shapes = templates(DynamoStore(None, "bench"))
    for size in sizes:
        for name, (template, template_id, prefix) in shapes.items():
            sharding: dict[str, Any] = {}
            if name == "department inbox":  # spread over its shards exactly as the adapter writes it
                sharding = {"shard_key": lambda tid: keys.inbox_shard("yq-tax", tid),
                            "shards": tuple(keys.inbox_shards("yq-tax"))}
            part = GeneratedPartition(template, template_id, prefix, size, **sharding)
            fake = FakeDynamoDB([part])
            store = DynamoStore(fake, "bench")
            owner, department = "bench-owner", "yq-tax"

            def list_page(cursor: str | None, store: Any = store, name: str = name, owner: str = owner,
                          department: str = department) -> Any:
                if name == "my applications":
                    return store.list_applications(owner, PAGE, cursor)
                return store.list_tasks(department, PAGE, cursor)

            first = _page_calls(list_page, fake, None)
            assert first["first_id"] == generated_id(prefix, size - 1), "newest first"
            # A page from the middle: the cursor the API would have handed out after page N/2/PAGE.
            middle = _page_calls(list_page, fake, cursor_at(name, part.item(size // 2)))
            last = _page_calls(list_page, fake, cursor_at(name, part.item(PAGE - 1)))
            times = [_page_calls(list_page, fake, None)["ms"] for _ in range(repeats)]
            rows.append({
                "query": name, "items_in_partition": size,
                "first_page": {k: first[k] for k in ("requests", "items_read", "rru", "items")},
                "middle_page": {k: middle[k] for k in ("requests", "items_read", "rru", "items")},
                "last_page": {k: last[k] for k in ("requests", "items_read", "rru", "items")},
                "last_page_has_next": last["cursor"] is not None,
                "adapter_ms_per_page_median": round(statistics.median(times), 2),
            })
    return rows


def moto_feasible(sizes: tuple[int, ...] = MOTO_SIZES) -> list[dict[str, Any]]:
    """The same adapter on moto (in-process), one partition of N applications, loaded with BatchWriteItem."""
    import boto3
    from moto import mock_aws

    from chalicelib.adapters.dynamodb import DynamoStore
    from infra.onetrip.template import TEMPLATE_PATH, load_template

    props = load_template(TEMPLATE_PATH)["Resources"]["Table"]["Properties"]
    rows = []
    for size in sizes:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="bench",
                                  aws_secret_access_key="bench")  # moto's fake credentials
            client.create_table(TableName="bench", **{k: props[k] for k in (
                "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode") if k in props})
            template, template_id, prefix = templates(DynamoStore(client, "bench"))["my applications"]
            part = GeneratedPartition(template, template_id, prefix, size)
            t0 = time.perf_counter()
            for start in range(0, size, 25):
                batch = [{"PutRequest": {"Item": part.item(p)}} for p in range(start, min(size, start + 25))]
                client.batch_write_item(RequestItems={"bench": batch})
            load_s = time.perf_counter() - t0
            recorder = CallRecorder()
            recorder.attach(client)
            store = DynamoStore(client, "bench")
            times, page = [], None
            for _ in range(3):
                mark = recorder.mark()
                t1 = time.perf_counter()
                page = store.list_applications("bench-owner", PAGE, None)
                times.append((time.perf_counter() - t1) * 1000)
            calls = recorder.since(mark)
            assert page is not None and page.items[0].id == generated_id(prefix, size - 1)
            rows.append({
                "items_in_partition": size, "load_seconds": round(load_s, 2),
                "load_items_per_second": round(size / load_s),
                "requests_per_page": len(calls),
                "items_read_per_page": int(sum(c.units.get("items_read", 0) for c in calls)),
                "moto_ms_per_page_median": round(statistics.median(times), 1),
            })
    rate = rows[-1]["load_items_per_second"] if rows else 1
    return [*rows, {"extrapolated_load_minutes_for_1M": round(1_000_000 / rate / 60, 1)}]


def run(sizes: tuple[int, ...] = SIZES, moto_sizes: tuple[int, ...] = MOTO_SIZES) -> dict[str, Any]:
    t0 = time.perf_counter()
    rows = generated(sizes)
    moto_rows = moto_feasible(moto_sizes) if moto_sizes else []
    flat = all(r[p]["requests"] == requests_per_page(r["query"])
               and r[p]["items_read"] <= requests_per_page(r["query"]) * (PAGE + 1)
               for r in rows for p in ("first_page", "middle_page", "last_page"))
    return {"page_size": PAGE, "generated": rows, "moto": moto_rows, "flat": flat,
            "seconds": round(time.perf_counter() - t0, 1)}


def table(result: dict[str, Any]) -> str:
    lines = [f"Scale of queries (one page of {result['page_size']}, real adapter; generated partition)",
             f"{'query':<18} {'items':>9} {'requests/page':>14} {'items read/page':>16} {'RRU/page':>9} "
             f"{'adapter ms':>11}"]
    for r in result["generated"]:
        lines.append(f"{r['query']:<18} {r['items_in_partition']:>9} {r['middle_page']['requests']:>14} "
                     f"{r['middle_page']['items_read']:>16} {r['middle_page']['rru']:>9} "
                     f"{r['adapter_ms_per_page_median']:>11}")
    for r in result["moto"]:
        if "items_in_partition" in r:
            lines.append(f"moto in-process    {r['items_in_partition']:>9} {r['requests_per_page']:>14} "
                         f"{r['items_read_per_page']:>16} {'':>9} {r['moto_ms_per_page_median']:>11}"
                         f"  (load {r['load_items_per_second']} items/s)")
        else:
            lines.append(f"moto: loading 1M items would take ≈ {r['extrapolated_load_minutes_for_1M']} min: "
                         "not run; moto's Query walks the partition, so its ms grow with N (DynamoDB's do not)")
    lines.append(f"flat (1 request, or 1 per shard of a sharded list, and at most a page read from each, at every "
                 f"size): {result['flat']}")
    return "\n".join(lines)
