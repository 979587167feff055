"""Delivery of one queued webhook on fakes: signed, recorded once, retried by the schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from chalicelib.domain.departments import EndpointState
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.webhooks import verify
from chalicelib.services.delivery import deliver
from chalicelib.services.departments import add_endpoint
from chalicelib.services.dispatch import dispatch_event
from tests.fakes import FakeSendResult, FakeWebhooks, FixedClock, fake_deps
from tests.unit.catalogue_samples import FRIDAY

BACKOFF = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


@dataclass
class ScriptedWebhooks:
    """Answers with the scripted results in order (then 204), recording every request."""

    results: list[FakeSendResult] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def send(self, url, headers, body):
        self.requests.append({"url": url, "headers": headers, "body": body})
        return self.results.pop(0) if self.results else FakeSendResult(204)


@pytest.fixture
def deps():
    d = fake_deps()
    d.now = FixedClock(FRIDAY)
    return d


@pytest.fixture
def registered(deps):
    endpoint, secret = add_endpoint(deps, "dept-a", "https://dept-a.example/hooks",
                                    ("onetrip.task.assigned",))
    evt = DomainEvent.raised("onetrip.task.assigned", FRIDAY, application_id="app_1", subject="tasks/tsk_1",
                             recipients=["dept-a"], data={"task_id": "tsk_1"})
    dispatch_event(deps, evt)
    (message,) = deps.queue.sent
    return endpoint, secret, message


def test_a_delivered_webhook_is_recorded(deps, registered):
    endpoint, _, message = registered
    result = deliver(deps, message.body, 1)
    assert (result.outcome, result.status) == ("delivered", 204)
    assert deps.store.deliveries[message.id]["status"] == "delivered"
    assert [r["url"] for r in deps.webhooks.requests] == [endpoint.url]


def test_the_same_message_again_is_a_duplicate_and_sends_nothing(deps, registered):
    _, _, message = registered
    deliver(deps, message.body, 1)
    assert deliver(deps, message.body, 2).outcome == "duplicate"
    assert len(deps.webhooks.requests) == 1


@pytest.mark.parametrize("receive_count", [1, 2, 3, 4, 5, 6])
def test_a_503_is_retried_after_the_schedule_entry_for_the_receive_count(deps, registered, receive_count):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[503])
    result = deliver(deps, message.body, receive_count)
    assert result.should_retry and result.status == 503
    assert result.retry_in == BACKOFF[receive_count - 1]
    assert message.id not in deps.store.deliveries or not deps.store.delivery_done(message.id)


def test_a_network_error_is_retried(deps, registered):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[None])
    result = deliver(deps, message.body, 1)
    assert result.outcome == "retry" and result.retry_in == 5 and result.error == "connection_error"


def test_a_retry_is_delivered_under_the_same_webhook_id_with_the_same_body(deps, registered):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[503])
    deliver(deps, message.body, 1)
    deps.now = FixedClock(FRIDAY + timedelta(seconds=5))
    assert deliver(deps, message.body, 2).outcome == "delivered"
    first, second = deps.webhooks.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == message.id
    assert first["body"] == second["body"]
    assert int(second["headers"]["webhook-timestamp"]) == int(first["headers"]["webhook-timestamp"]) + 5


def test_a_retry_after_longer_than_the_backoff_is_honoured(deps, registered):
    _, _, message = registered
    deps.webhooks = ScriptedWebhooks([FakeSendResult(429, retry_after=600)])
    assert deliver(deps, message.body, 1).retry_in == 600


def test_a_retry_after_shorter_than_the_backoff_does_not_shorten_it(deps, registered):
    _, _, message = registered
    deps.webhooks = ScriptedWebhooks([FakeSendResult(503, retry_after=1)])
    assert deliver(deps, message.body, 2).retry_in == 300


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_4xx_is_a_permanent_failure_recorded_once(deps, registered, status):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[status])
    result = deliver(deps, message.body, 1)
    assert (result.outcome, result.status) == ("failed_permanently", status)
    assert deps.store.deliveries[message.id]["status"] == "failed_permanently"
    assert deliver(deps, message.body, 2).outcome == "duplicate"
    assert len(deps.webhooks.requests) == 1


@pytest.mark.parametrize("status", [408, 409, 429])
def test_retryable_4xx_are_retried(deps, registered, status):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[status])
    assert deliver(deps, message.body, 1).outcome == "retry"


def test_a_410_gone_disables_the_endpoint(deps, registered):
    endpoint, _, message = registered
    deps.webhooks = FakeWebhooks(script=[410])
    deliver(deps, message.body, 1)
    stored = deps.store.get_endpoint("dept-a", endpoint.id)
    assert stored is not None and stored.state is EndpointState.DISABLED


@pytest.mark.parametrize("state", [EndpointState.DISABLED, EndpointState.PENDING])
def test_a_message_for_an_inactive_endpoint_is_dropped_without_a_request(deps, registered, state):
    endpoint, _, message = registered
    deps.store.put_endpoint(endpoint.model_copy(update={"state": state}))
    assert deliver(deps, message.body, 1).outcome == "dropped"
    assert deps.store.deliveries[message.id]["status"] == "dropped"
    assert deps.webhooks.requests == []


def test_a_message_for_a_removed_endpoint_is_dropped(deps, registered):
    endpoint, _, message = registered
    del deps.store.endpoints[("dept-a", endpoint.id)]
    assert deliver(deps, message.body, 1).outcome == "dropped"
    assert deps.webhooks.requests == []


def test_the_request_verifies_with_the_endpoint_secret(deps, registered):
    _, secret, message = registered
    deliver(deps, message.body, 1)
    (request,) = deps.webhooks.requests
    headers = request["headers"]
    assert headers["webhook-id"] == message.id
    assert int(headers["webhook-timestamp"]) == int(FRIDAY.timestamp())
    assert request["body"] == json.loads(message.body)["payload"].encode()
    verify(secret, headers, request["body"], now=int(FRIDAY.timestamp()))


def test_a_request_signed_for_one_endpoint_does_not_verify_with_another_secret(deps, registered):
    _, _, message = registered
    _, other_secret = add_endpoint(deps, "dept-b", "https://dept-b.example/hooks", ("onetrip.task.assigned",))
    deliver(deps, message.body, 1)
    (request,) = deps.webhooks.requests
    with pytest.raises(ValueError):
        verify(other_secret, request["headers"], request["body"], now=int(FRIDAY.timestamp()))


def test_the_secret_is_stored_only_encrypted(deps, registered):
    endpoint, secret, _ = registered
    stored = deps.store.get_endpoint("dept-a", endpoint.id)
    assert secret not in stored.model_dump_json()
    assert secret.startswith("whsec_")


def test_a_2xx_answer_is_reported_delivered(deps, registered):
    _, _, message = registered
    result = deliver(deps, message.body, 1)
    assert (result.outcome, result.status, result.should_retry) == ("delivered", 204, False)
    assert message.id in deps.store.deliveries


@pytest.mark.parametrize("status", [400, 404])
def test_a_4xx_answer_is_reported_permanent_and_not_retried(deps, registered, status):
    _, _, message = registered
    deps.webhooks = FakeWebhooks(script=[status])
    result = deliver(deps, message.body, 1)
    assert (result.outcome, result.should_retry) == ("failed_permanently", False)


def test_the_delay_never_exceeds_the_12_hour_visibility_limit_of_sqs(deps, registered):
    _, _, message = registered
    deps.webhooks = ScriptedWebhooks([FakeSendResult(503, retry_after=10**6)])
    assert deliver(deps, message.body, 30).retry_in == 43200
