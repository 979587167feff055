"""A department's inbox and event feed are written across shards and read back as one list — against
the fake and the DynamoDB adapter: every task and event exactly once, open work first and newest first
(tasks), oldest first (events), `?status=` narrowing, cursors bound to their list; and on DynamoDB,
the writes really spread over the shards while a page costs one Query per shard, whatever the size."""

from __future__ import annotations

import pytest

from chalicelib.adapters import keys
from chalicelib.adapters.dynamodb import DynamoStore
from chalicelib.domain.applications import TaskStatus
from chalicelib.domain.errors import ValidationFailed
from tests.contract.conftest import TABLE
from tests.unit.catalogue_samples import accepted, joint_item, ready_application

CASES = 12  # each joint case gives dept-a and dept-b one task each
STATUS_CYCLE = [s for s in TaskStatus if s.value in keys.INBOX_RANK]


def _accept(store, cases: int = CASES):
    tasks, events = [], []
    for _ in range(cases):
        draft = ready_application(joint_item())
        store.create_application(draft)
        app, new_tasks, new_events = accepted(joint_item(), app=draft)
        store.accept_application(app, draft.version, new_tasks, new_events)
        tasks += new_tasks
        events += new_events
    return tasks, events


def _with_statuses(store, tasks):
    """dept-a's tasks take every inbox status in turn (what the case lifecycle moves them through)."""
    out = []
    for n, task in enumerate(t for t in tasks if t.department == "dept-a"):
        status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
        if status is not task.status:
            task = store.save_task(task.model_copy(update={"status": status}), task.version)
        out.append(task)
    return out


def walk(fetch, limit):
    found, cursor, pages = [], None, 0
    while True:
        page = fetch(limit, cursor)
        found += page.items
        pages += 1
        cursor = page.cursor
        if cursor is None or pages > 100:
            return found, pages


def _inbox_order(tasks):
    return [t.id for t in sorted(tasks, key=lambda t: keys.inbox_sort(t.status.value, t.id), reverse=True)]


@pytest.mark.parametrize("limit", [1, 5, 50])
def test_the_inbox_pages_through_every_task_once_open_first_newest_first(store, limit):
    tasks, _ = _accept(store)
    mine = _with_statuses(store, tasks)
    found, pages = walk(lambda n, c: store.list_tasks("dept-a", n, c), limit)
    assert [t.id for t in found] == _inbox_order(mine)
    assert pages <= len(mine) // limit + 2
    assert {t.department for t in walk(lambda n, c: store.list_tasks("dept-b", n, c), limit)[0]} == {"dept-b"}


@pytest.mark.parametrize("status", STATUS_CYCLE)
def test_a_status_narrows_the_inbox_across_every_shard(store, status):
    tasks, _ = _accept(store)
    mine = _with_statuses(store, tasks)
    found, _ = walk(lambda n, c: store.list_tasks("dept-a", n, c, status.value), 3)
    assert [t.id for t in found] == _inbox_order([t for t in mine if t.status is status])


def test_an_inbox_cursor_works_only_for_its_own_department(store):
    _accept(store, 4)
    page = store.list_tasks("dept-a", 1, None)
    assert page.cursor is not None
    with pytest.raises(ValidationFailed):
        store.list_tasks("dept-b", 1, page.cursor)
    with pytest.raises(ValidationFailed):
        store.list_tasks("dept-a", 1, page.cursor[:-2] + "xx")


def test_the_feed_pages_through_every_event_once_oldest_first(store):
    _, events = _accept(store)
    ids = sorted(e.id for e in events if "dept-a" in e.recipients)
    found, after = [], None
    while True:
        page = store.list_department_events("dept-a", after, "evt_~", 5)
        if not page:
            break
        found += [e.id for e in page]
        after = page[-1].id
    assert found == ids
    middle = ids[len(ids) // 2]
    assert [e.id for e in store.list_department_events("dept-a", None, middle, 100)] == ids[:len(ids) // 2]
    assert [e.id for e in store.list_department_events("dept-a", middle, "evt_~", 100)] == ids[len(ids) // 2 + 1:]


class _CountingClient:
    def __init__(self, inner):
        self.inner, self.queries = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def query(self, **kwargs):
        self.queries.append(kwargs)
        return self.inner.query(**kwargs)


def test_on_dynamodb_writes_spread_over_the_shards_and_a_page_costs_one_query_per_shard(dynamodb_client):
    counting = _CountingClient(dynamodb_client)
    store = DynamoStore(counting, TABLE)
    tasks, events = _accept(store)
    stored = dynamodb_client.scan(TableName=TABLE)["Items"]  # a test's look at the whole table
    inbox = {i["pk"]["S"].removeprefix("TASK#"): i["gsi1pk"]["S"] for i in stored
             if i.get("type", {}).get("S") == "task" and i["gsi1pk"]["S"].startswith("INBOX#dept-a#")}
    assert inbox == {t.id: keys.inbox_shard("dept-a", t.id) for t in tasks if t.department == "dept-a"}
    feed = {i["sk"]["S"]: i["pk"]["S"] for i in stored if i["pk"]["S"].startswith("FEED#dept-a#")}
    assert feed == {e.id: keys.feed("dept-a", e.id)["pk"] for e in events if "dept-a" in e.recipients}
    assert len(set(inbox.values())) > 1 and len(set(feed.values())) > 1  # 12 ids: spread, not one hot key
    counting.queries.clear()
    page = store.list_tasks("dept-a", 5, None)
    assert len(page.items) == 5 and len(counting.queries) == keys.INBOX_SHARDS
    assert all(q["Limit"] == 5 for q in counting.queries)  # each shard reads at most a page
    counting.queries.clear()
    store.list_tasks("dept-a", 5, page.cursor)
    assert len(counting.queries) == keys.INBOX_SHARDS and all(q["Limit"] == 6 for q in counting.queries)
