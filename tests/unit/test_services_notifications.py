"""The applicant-notification projection on fakes: one notification per applicant event, recorded
locally or sent through the notifier (again after a failed send), listed newest first to the owner only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from chalicelib.domain.applications import with_events
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from chalicelib.domain.notifications import Notification, notification_position
from chalicelib.services.applicant_notifications import compose_notification, list_own_notifications
from chalicelib.services.catalogue import publish_item
from chalicelib.services.projections import project
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import FRIDAY, citizen, officer, ready_application, single_item


@dataclass
class FakeApplicantNotifier:
    sent: list[Notification] = field(default_factory=list)
    fail_next: int = 0

    def send(self, notification: Notification) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("sns unavailable")
        self.sent.append(notification)


@pytest.fixture
def case():
    deps = fake_deps()
    publish_item(deps.store, single_item())
    app = ready_application(single_item())
    deps.store.create_application(app)
    return deps, app


def raised(app_id: str, type_: str = "onetrip.case.accepted", n: int = 0, **data) -> DomainEvent:
    return DomainEvent.raised(type_, FRIDAY + timedelta(seconds=n), application_id=app_id,
                              subject=f"applications/{app_id}", recipients=[], actor=citizen().actor(),
                              data={"application_id": app_id, "item_code": "T-SINGLE", "item_version": 1,
                                    "case_number": "T-SINGLE-20261127-00000001", "committed_days": 1,
                                    "deadline": "2026-11-30", **data})


def test_a_batch_of_events_is_recorded_in_one_store_call(case, monkeypatch):
    deps, app = case
    calls = []
    record = deps.store.record_projections
    monkeypatch.setattr(deps.store, "record_projections", lambda i, n: calls.append((i, n)) or record(i, n))
    project(deps, [raised(app.id, "onetrip.application.submitted"), raised(app.id, "onetrip.task.assigned", 1),
                   raised(app.id, "onetrip.case.accepted", 2)])
    assert len(calls) == 1
    assert [n.type for n in calls[0][1]] == ["onetrip.application.submitted", "onetrip.case.accepted"]
    assert len(deps.store.list_notifications(app.id, 10, None).items) == 2


def test_an_event_with_its_case_context_needs_no_application_read(case, monkeypatch):
    deps, app = case
    [stamped] = with_events(app, app.version + 1, [raised(app.id, "onetrip.case.closed")])[1]
    assert stamped.context.owner_sub == app.owner_sub
    monkeypatch.setattr(deps.store, "get_application", lambda _id: pytest.fail("the application was read"))
    notification = compose_notification(deps, stamped)
    assert (notification.recipient_sub, notification.event_id) == (app.owner_sub, stamped.id)


def test_an_applicant_event_is_recorded_once_with_the_catalogue_text(case):
    deps, app = case
    event = raised(app.id)
    project(deps, [event])
    project(deps, [event])  # redelivered
    page = deps.store.list_notifications(app.id, 10, None)
    [notification] = page.items
    assert (notification.event_id, notification.recipient_sub, notification.delivery) == (event.id, "citizen-1",
                                                                                         "recorded")
    assert notification.case_number == "T-SINGLE-20261127-00000001"
    assert "事项T-SINGLE" in notification.text_zh and "2026-11-30" in notification.text_en


def test_department_events_notify_nobody(case):
    deps, app = case
    assert compose_notification(deps, raised(app.id, "onetrip.task.assigned")) is None
    assert compose_notification(deps, raised(app.id, "onetrip.task.deadline_breached")) is None
    project(deps, [raised(app.id, "onetrip.task.assigned"), raised(app.id, "onetrip.task.deadline_breached", 1)])
    assert deps.store.list_notifications(app.id, 10, None).items == []


def test_with_a_notifier_it_is_sent_once_and_marked_sent(case):
    deps, app = case
    deps.applicant_notifier = notifier = FakeApplicantNotifier()
    event = raised(app.id, "onetrip.case.closed")
    project(deps, [event])
    project(deps, [event])  # redelivered: already sent
    assert [n.event_id for n in notifier.sent] == [event.id]
    stored = deps.store.get_notification(app.id, notification_position(event))
    assert stored.delivery == "sent" and stored.sent_at is not None


def test_a_failed_send_is_retried_when_the_stream_redelivers(case):
    deps, app = case
    deps.applicant_notifier = notifier = FakeApplicantNotifier(fail_next=1)
    event = raised(app.id, "onetrip.case.decided", outcome="approved")
    with pytest.raises(ConnectionError):
        project(deps, [event])
    assert deps.store.get_notification(app.id, notification_position(event)).delivery == "pending"
    project(deps, [event])
    assert [n.id for n in notifier.sent] == [deps.store.get_notification(app.id, notification_position(event)).id]
    assert deps.store.get_notification(app.id, notification_position(event)).delivery == "sent"


def test_an_event_of_an_unknown_application_records_nothing(case):
    deps, _ = case
    ghost = new_id("app_")
    assert compose_notification(deps, raised(ghost)) is None
    project(deps, [raised(ghost)])
    assert deps.store.list_notifications(ghost, 10, None).items == []


def test_the_owner_lists_them_newest_first_page_by_page(case):
    deps, app = case
    events = [raised(app.id, t, n) for n, t in enumerate(
        ["onetrip.application.submitted", "onetrip.case.accepted", "onetrip.case.decided", "onetrip.case.closed"])]
    for e in events:
        project(deps, [e])
    seen, cursor = [], None
    while True:
        page = list_own_notifications(deps, citizen(), app.id, 3, cursor)
        seen += [n.type for n in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == ["onetrip.case.closed", "onetrip.case.decided", "onetrip.case.accepted",
                    "onetrip.application.submitted"]


def test_someone_elses_or_a_missing_application_is_not_found(case):
    deps, app = case
    project(deps, [raised(app.id)])
    for principal, app_id in ((citizen("citizen-2"), app.id), (citizen(), new_id("app_")), (citizen(), "x")):
        with pytest.raises(NotFound):
            list_own_notifications(deps, principal, app_id, 10, None)
    with pytest.raises(NotFound):
        list_own_notifications(deps, officer("dept-a"), app.id, 10, None)


def test_a_cursor_of_another_list_is_refused(case):
    deps, app = case
    other = ready_application(single_item())
    deps.store.create_application(other)
    for n in range(3):
        project(deps, [raised(other.id, n=n, type_="onetrip.case.closed")])
    cursor = deps.store.list_notifications(other.id, 1, None).cursor
    assert cursor is not None
    with pytest.raises(ValidationFailed):
        list_own_notifications(deps, citizen(), app.id, 1, cursor)


def test_events_of_one_instant_are_listed_in_lifecycle_order(case):
    deps, app = case
    # Items that need no visit: submission and acceptance are one write, at one instant.
    accepted, submitted = raised(app.id, "onetrip.case.accepted"), raised(app.id, "onetrip.application.submitted")
    for e in (accepted, submitted):
        project(deps, [e])
    assert [n.type for n in list_own_notifications(deps, citizen(), app.id, 10, None).items] == [
        "onetrip.case.accepted", "onetrip.application.submitted"]
