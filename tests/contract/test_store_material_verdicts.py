"""Contract of the verdict write: the application and its material events in one transaction, on the
fake and on DynamoDB alike (a lost race writes neither), and the verdict history survives a round trip."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.domain import applications as rules
from chalicelib.domain.applications import MATERIAL_REJECTED, MATERIAL_VERIFIED, MaterialStatus
from chalicelib.domain.errors import ConcurrentUpdate, Problem
from chalicelib.domain.ids import new_id
from chalicelib.domain.materials import ObjectFacts
from tests.unit.catalogue_samples import FRIDAY, PDF, citizen, single_item


def judged_draft(store, *, problems=()):
    service_item = single_item()
    app = rules.new_application(new_id("app_"), citizen(), service_item, FRIDAY)
    store.create_application(app)
    upload_id = new_id("upl_")
    issued, _ = rules.issue_upload(app, service_item, "form", "application/pdf", "a.pdf", upload_id, FRIDAY)
    facts = ObjectFacts(size=len(PDF), head=PDF[:16], declared_content_type="application/pdf",
                        sha256=hashlib.sha256(PDF).hexdigest())
    judged = rules.record_verdict(issued, "form", upload_id, facts, list(problems), FRIDAY)
    return app, judged, rules.verdict_event(judged, "form", FRIDAY)


class TestVerdictWrite:
    def test_the_verdict_and_its_event_are_written_together(self, store, outbox_events):
        draft, judged, event = judged_draft(store)
        saved = store.save_application_with_events(judged, draft.version, [event])
        assert saved.version == draft.version + 1
        stored = store.get_application(draft.id).materials["form"]
        assert stored.status is MaterialStatus.VERIFIED and stored.judged[0].sha256 == stored.sha256
        [written] = outbox_events(draft.id)
        assert (written.id, written.type) == (event.id, MATERIAL_VERIFIED)
        assert written.data == event.data

    def test_a_rejection_event_carries_its_reasons(self, store, outbox_events):
        problem = Problem("pdf_javascript", "含脚本", "Has scripts", "form")
        draft, judged, event = judged_draft(store, problems=[problem])
        store.save_application_with_events(judged, draft.version, [event])
        [written] = outbox_events(draft.id)
        assert written.type == MATERIAL_REJECTED and written.data["reasons"] == ["pdf_javascript"]
        assert store.get_application(draft.id).materials["form"].problems[0]["code"] == "pdf_javascript"

    def test_a_stale_version_writes_neither_the_verdict_nor_the_event(self, store, outbox_events):
        draft, judged, event = judged_draft(store)
        store.save_application(draft, draft.version)  # the applicant changed the draft meanwhile
        with pytest.raises(ConcurrentUpdate):
            store.save_application_with_events(judged, draft.version, [event])
        assert store.get_application(draft.id).materials["form"].status is MaterialStatus.MISSING
        assert outbox_events(draft.id) == []

    def test_without_events_it_is_a_plain_conditional_save(self, store, outbox_events):
        draft, judged, _ = judged_draft(store)
        store.save_application_with_events(judged, draft.version, [])
        assert store.get_application(draft.id).version == draft.version + 1
        assert outbox_events(draft.id) == []
        with pytest.raises(ConcurrentUpdate):
            store.save_application_with_events(judged, draft.version, [])
