"""The catalogue's access patterns, fake vs DynamoDB: drafts, immutable versions, the open-cases counter."""

from __future__ import annotations

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import Outcome
from chalicelib.domain.catalogue import MaterialSpec, ServiceItem
from chalicelib.domain.errors import ConcurrentUpdate
from tests.unit.catalogue_samples import FRIDAY, accepted, citizen, item, joint_item, single_item


def walk(list_page) -> list:
    out, cursor = [], None
    while True:
        page = list_page(1, cursor)
        out += page.items
        if page.cursor is None:
            return out
        cursor = page.cursor


class TestCatalogueStoreContract:
    def test_drafts_are_kept_apart_from_published_versions(self, store):
        store.put_draft(item("B-ITEM", status="draft"))
        store.put_draft(item("A-ITEM", status="draft"))
        assert store.get_item("A-ITEM") is None and store.list_items(10, None).items == []
        assert [d.code for d in walk(store.list_drafts)] == ["A-ITEM", "B-ITEM"]
        store.delete_draft("A-ITEM")
        assert store.get_draft("A-ITEM") is None and [d.code for d in walk(store.list_drafts)] == ["B-ITEM"]

    def test_a_draft_keeps_only_what_its_author_set(self, store):
        spec = MaterialSpec(code="m", name_zh="申请表", name_en="Form")  # no types, no size written
        store.put_draft(ServiceItem(code="D-1", name_zh="草稿", name_en="Draft", lead_department="dept-a",
                                    statutory_days=5, committed_days=1, materials=(spec,), status="draft"))
        draft = store.get_draft("D-1")
        assert "accepted_types" not in draft.materials[0].model_fields_set
        assert "max_size_bytes" not in draft.materials[0].model_fields_set

    def test_a_published_version_cannot_be_overwritten_with_other_content(self, store):
        store.put_item(single_item(version=1))
        store.put_item(single_item(version=1))  # the same content again is harmless
        with pytest.raises(ConcurrentUpdate):
            store.put_item(single_item(version=1, committed_days=3))
        assert store.get_item_version("T-SINGLE", 1).committed_days == 1

    def test_open_applications_are_counted_per_version_until_decided(self, store):
        v1, v2 = joint_item(version=1), joint_item(version=2, committed_days=2)
        store.put_item(v1)
        store.put_item(v2)
        drafts = [rules.new_application(f"app_{n}", citizen(), v1, FRIDAY) for n in range(2)]
        for app in drafts:
            store.create_application(app)
        store.create_application(rules.new_application("app_v2", citizen(), v2, FRIDAY))
        case, tasks, events = accepted(v1)
        store.create_application(rules.new_application(case.id, citizen(), v1, FRIDAY))
        case = store.accept_application(case, 0, tasks, events)
        assert (store.open_applications("T-JOINT", 1), store.open_applications("T-JOINT", 2)) == (3, 1)
        for task in tasks:  # the first decision leaves the case open, the last one closes it
            current = store.get_application(case.id)
            decided, decided_task, evts = rules.decide(current, store.get_task(task.id), Outcome.APPROVED, [], FRIDAY)
            store.decide_task(decided, current.version, decided_task, task.version, evts)
            expected = 3 if task is not tasks[-1] else 2
            assert store.open_applications("T-JOINT", 1) == expected
        assert store.open_applications("NOPE", 1) == 0
