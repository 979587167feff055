"""One contract for every Store: the fake used by the unit tests must behave like DynamoDB."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import ApplicationStatus, Outcome
from chalicelib.domain.departments import Department, Endpoint, EndpointState
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, ValidationFailed
from chalicelib.domain.ids import new_id
from tests.unit.catalogue_samples import (
    FRIDAY,
    accepted,
    citizen,
    identity,
    item,
    joint_item,
    ready_application,
    single_item,
)

LATER = FRIDAY + timedelta(hours=1)


def endpoint(department: str, url: str = "https://x.example/hook") -> Endpoint:
    return Endpoint(id=new_id("ep_"), department=department, url=url, secret_ciphertexts=("c1",))


def walk(list_page, limit: int = 1) -> list:
    items, cursor, pages = [], None, 0
    while True:
        page = list_page(limit, cursor)
        items.extend(page.items)
        pages += 1
        assert pages < 50, "pagination does not end"
        if page.cursor is None:
            return items
        cursor = page.cursor


def sorted_ids(n: int, prefix: str) -> list[str]:
    return sorted(new_id(prefix) for _ in range(n))


class TestStoreContract:
    # -- catalogue --------------------------------------------------------------------------------
    def test_the_latest_version_is_served_and_every_version_is_kept(self, store):
        store.put_item(single_item(version=1))
        store.put_item(single_item(version=2, committed_days=2))
        assert store.get_item("T-SINGLE").version == 2
        assert store.get_item_version("T-SINGLE", 1) == single_item(version=1)
        assert store.get_item_version("T-SINGLE", 2).committed_days == 2
        assert store.get_item("NOPE") is None and store.get_item_version("T-SINGLE", 3) is None

    def test_an_older_version_republished_does_not_replace_the_latest(self, store):
        store.put_item(single_item(version=2, committed_days=2))
        store.put_item(single_item(version=1))
        assert store.get_item("T-SINGLE").version == 2

    def test_list_items_walks_every_item_once_with_page_size_one(self, store):
        for code in ("C-ITEM", "A-ITEM", "B-ITEM"):
            store.put_item(item(code, version=1))
            store.put_item(item(code, version=2))
        listed = walk(store.list_items)
        assert [(i.code, i.version) for i in listed] == [("A-ITEM", 2), ("B-ITEM", 2), ("C-ITEM", 2)]
        assert [i.code for i in store.list_items(10, None).items] == ["A-ITEM", "B-ITEM", "C-ITEM"]

    # -- departments ------------------------------------------------------------------------------
    def test_endpoints_are_listed_per_department(self, store):
        store.put_department(Department(code="dept-a", name_zh="甲", name_en="A"))
        a1, a2, b1 = endpoint("dept-a"), endpoint("dept-a"), endpoint("dept-b")
        for e in (a1, a2, b1):
            store.put_endpoint(e)
        assert sorted(e.id for e in store.list_endpoints("dept-a")) == sorted([a1.id, a2.id])
        assert store.list_endpoints("dept-b") == [b1]
        assert store.list_endpoints("dept-c") == []
        assert store.get_endpoint("dept-a", a1.id) == a1
        assert store.get_endpoint("dept-b", a1.id) is None

    def test_an_endpoint_put_again_is_replaced(self, store):
        e = endpoint("dept-a")
        store.put_endpoint(e)
        store.put_endpoint(e.model_copy(update={"state": EndpointState.DISABLED}))
        assert store.get_endpoint("dept-a", e.id).state is EndpointState.DISABLED
        assert len(store.list_endpoints("dept-a")) == 1

    # -- identities -------------------------------------------------------------------------------
    def test_an_identity_round_trips(self, store):
        store.put_identity(identity("sub-1"))
        assert store.get_identity("sub-1") == identity("sub-1")
        assert store.get_identity("sub-2") is None

    # -- applications -----------------------------------------------------------------------------
    def test_an_application_is_created_once(self, store):
        app = rules.new_application(new_id("app_"), citizen(), single_item(), FRIDAY)
        store.create_application(app)
        assert store.get_application(app.id) == app
        with pytest.raises(Conflict) as exc:
            store.create_application(app)
        assert exc.value.code == "application_exists"

    def test_save_with_the_current_version_bumps_it(self, store):
        app = rules.new_application(new_id("app_"), citizen(), single_item(), FRIDAY)
        store.create_application(app)
        saved = store.save_application(app.model_copy(update={"updated_at": "x"}), 0)
        assert saved.version == 1
        assert store.get_application(app.id) == saved

    def test_save_with_a_stale_version_is_refused(self, store):
        app = rules.new_application(new_id("app_"), citizen(), single_item(), FRIDAY)
        store.create_application(app)
        store.save_application(app, 0)
        with pytest.raises(ConcurrentUpdate):
            store.save_application(app.model_copy(update={"updated_at": "lost"}), 0)
        assert store.get_application(app.id).version == 1
        assert store.get_application(app.id).updated_at != "lost"

    def test_save_of_an_application_that_does_not_exist_is_refused(self, store):
        app = rules.new_application(new_id("app_"), citizen(), single_item(), FRIDAY)
        with pytest.raises(ConcurrentUpdate):
            store.save_application(app, 0)
        assert store.get_application(app.id) is None

    def test_applications_are_listed_newest_first_per_owner(self, store):
        ids = sorted_ids(3, "app_")
        for app_id in ids:
            store.create_application(rules.new_application(app_id, citizen("me"), single_item(), FRIDAY))
        other = rules.new_application(new_id("app_"), citizen("other"), single_item(), FRIDAY)
        store.create_application(other)
        listed = walk(lambda limit, cursor: store.list_applications("me", limit, cursor))
        assert [a.id for a in listed] == list(reversed(ids))
        first = store.list_applications("me", 2, None)
        assert [a.id for a in first.items] == [ids[2], ids[1]] and first.cursor
        assert [a.id for a in store.list_applications("me", 2, first.cursor).items] == [ids[0]]
        assert store.list_applications("nobody", 5, None).items == []

    # -- acceptance -------------------------------------------------------------------------------
    def _created(self, store, service_item):
        app = ready_application(service_item)
        store.create_application(app)
        return app

    def test_accept_writes_the_case_its_tasks_and_its_events_together(self, store, outbox_events):
        draft = self._created(store, joint_item())
        app, tasks, events = accepted(joint_item(), app=draft)
        saved = store.accept_application(app, draft.version, tasks, events)
        assert saved.version == draft.version + 1
        assert store.get_application(app.id).status is ApplicationStatus.ACCEPTED
        assert [store.get_task(t.id) for t in tasks] == tasks
        stored_events = outbox_events(app.id)
        assert sorted(e.id for e in stored_events) == sorted(e.id for e in events)
        assert {e.type for e in stored_events} == {"onetrip.application.submitted", "onetrip.case.accepted",
                                               "onetrip.task.assigned"}

    def test_accept_with_a_stale_version_writes_nothing(self, store, outbox_events):
        draft = self._created(store, joint_item())
        store.save_application(draft, draft.version)  # someone else changed it meanwhile
        app, tasks, events = accepted(joint_item(), app=draft)
        with pytest.raises(ConcurrentUpdate):
            store.accept_application(app, draft.version, tasks, events)
        assert store.get_application(app.id).status is ApplicationStatus.DRAFT
        assert all(store.get_task(t.id) is None for t in tasks)
        assert store.list_tasks("dept-a", 10, None).items == []
        assert outbox_events(app.id) == []

    def test_tasks_are_read_and_listed_per_department(self, store):
        cases = []
        for _ in range(2):
            draft = self._created(store, joint_item())
            app, tasks, events = accepted(joint_item(), app=draft)
            store.accept_application(app, draft.version, tasks, events)
            cases.append(tasks)
        dept_a = [t for tasks in cases for t in tasks if t.department == "dept-a"]
        listed = walk(lambda limit, cursor: store.list_tasks("dept-a", limit, cursor))
        assert [t.id for t in listed] == sorted((t.id for t in dept_a), reverse=True)
        assert {t.department for t in store.list_tasks("dept-b", 10, None).items} == {"dept-b"}
        assert store.list_tasks("dept-c", 10, None).items == []
        assert store.get_task(new_id("tsk_")) is None

    # -- decisions --------------------------------------------------------------------------------
    def _accepted(self, store):
        draft = self._created(store, joint_item())
        app, tasks, events = accepted(joint_item(), app=draft)
        return store.accept_application(app, draft.version, tasks, events), tasks

    def test_decide_task_writes_the_case_the_task_and_the_events_together(self, store, outbox_events):
        app, (task_a, task_b) = self._accepted(store)
        app, task_a = store.decide_task(*self._decision(app, task_a))
        new_app, new_task, events = rules.decide(app, task_b, Outcome.APPROVED, [], LATER)
        saved_app, saved_task = store.decide_task(new_app, app.version, new_task, task_b.version, events)
        assert saved_app.version == app.version + 1 and saved_task.version == task_b.version + 1
        assert store.get_application(app.id).status is ApplicationStatus.DECIDED
        assert store.get_task(task_b.id).outcome is Outcome.APPROVED
        assert [e.type for e in outbox_events(app.id)].count("onetrip.case.decided") == 1

    def _decision(self, app, task):
        new_app, new_task, events = rules.decide(app, task, Outcome.APPROVED, [], LATER)
        return new_app, app.version, new_task, task.version, events

    def test_decide_task_with_a_stale_task_version_writes_nothing(self, store, outbox_events):
        app, (task_a, _) = self._accepted(store)
        before = len(outbox_events(app.id))
        new_app, app_version, new_task, _, events = self._decision(app, task_a)
        with pytest.raises(ConcurrentUpdate):
            store.decide_task(new_app, app_version, new_task, task_a.version + 1, events)
        assert store.get_application(app.id) == app
        assert store.get_task(task_a.id) == task_a
        assert len(outbox_events(app.id)) == before

    def test_decide_task_with_a_stale_application_version_writes_nothing(self, store):
        app, (task_a, _) = self._accepted(store)
        new_app, app_version, new_task, task_version, events = self._decision(app, task_a)
        with pytest.raises(ConcurrentUpdate):
            store.decide_task(new_app, app_version - 1, new_task, task_version, events)
        assert store.get_task(task_a.id) == task_a

    # -- deliveries -------------------------------------------------------------------------------
    @pytest.mark.parametrize("status", ["delivered", "failed_permanently", "dropped"])
    def test_a_finished_delivery_is_done(self, store, status):
        assert store.delivery_done("msg_1") is False
        store.record_delivery("msg_1", status, {"reason": "x"}, FRIDAY)
        assert store.delivery_done("msg_1") is True
        assert store.delivery_done("msg_2") is False

    def test_an_unfinished_delivery_is_not_done(self, store):
        store.record_delivery("msg_1", "retrying", {}, FRIDAY)
        assert store.delivery_done("msg_1") is False

    def test_the_detail_cannot_overwrite_the_delivery_status(self, store):
        store.record_delivery("msg_1", "delivered", {"status": 204, "error": None}, FRIDAY)
        assert store.delivery_done("msg_1") is True

    # -- cursors ----------------------------------------------------------------------------------
    def _two_pages(self, store, owner="me"):
        for app_id in sorted_ids(2, "app_"):
            store.create_application(rules.new_application(app_id, citizen(owner), single_item(), FRIDAY))
        page = store.list_applications(owner, 1, None)
        assert page.cursor
        return page.cursor

    def test_a_garbage_cursor_is_refused(self, store):
        self._two_pages(store)
        with pytest.raises(ValidationFailed):
            store.list_applications("me", 1, "not-a-cursor!!")

    def test_a_tampered_cursor_is_refused(self, store, request):
        cursor = self._two_pages(store)
        tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
        with pytest.raises(ValidationFailed):
            store.list_applications("me", 1, tampered)

    def test_a_cursor_of_another_list_is_refused(self, store, request):
        foreign = self._two_pages(store, owner="other")
        self._two_pages(store, owner="me")
        with pytest.raises(ValidationFailed):
            store.list_applications("me", 1, foreign)
        with pytest.raises(ValidationFailed):
            store.list_tasks("dept-a", 1, foreign)

    def test_a_cursor_of_json_that_is_not_a_key_is_refused(self, store, request):
        self._two_pages(store)
        forged = base64.urlsafe_b64encode(json.dumps({"pk": "APP#x"}).encode()).decode()
        with pytest.raises(ValidationFailed):
            store.list_applications("me", 1, forged)
