"""DemoReceiver over real HTTP on loopback, driven by the real WebhookSender."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from chalicelib.adapters.webhook_sender import WebhookSender
from chalicelib.domain.webhooks import cloud_event, generate_secret, sign, webhook_headers
from infra.onetrip.receiver import DemoReceiver

SECRET = generate_secret()


def event_body(event_id: str = "evt_1", **data) -> bytes:
    return cloud_event(
        event_id=event_id,
        event_type="gov.onetrip.case.task_assigned",
        source="/onetrip/cases",
        subject="case/c1",
        time_iso="2024-06-01T08:00:00Z",
        data=data or {"case_id": "c1"},
    )


def signed(msg_id: str, body: bytes, secrets=(SECRET,), ts: int | None = None) -> dict[str, str]:
    return webhook_headers(list(secrets), msg_id, int(time.time()) if ts is None else ts, body)


def raw_post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Decisions:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        with self.lock:
            self.events.append(event)


@pytest.fixture
def decisions():
    return Decisions()


@pytest.fixture
def receiver(decisions):
    with DemoReceiver("tax", [SECRET], decisions) as r:
        yield r


@pytest.fixture
def sender():
    return WebhookSender(allow_loopback=True, timeout=5)


def test_url_is_loopback_and_department_scoped(receiver):
    assert receiver.url.startswith("http://127.0.0.1:")
    assert receiver.url.endswith("/webhooks/tax")


def test_signed_request_gets_204_and_decide_called_once(receiver, decisions, sender):
    body = event_body(case_id="c42")
    result = sender.send(receiver.url, signed("msg_a", body), body)
    assert result.ok and result.status == 204
    assert receiver.wait_idle(5)
    assert [e["data"] for e in decisions.events] == [{"case_id": "c42"}]
    assert decisions.events[0]["type"] == "gov.onetrip.case.task_assigned"
    (entry,) = receiver.received
    assert entry["webhook_id"] == "msg_a"
    assert entry["event_type"] == "gov.onetrip.case.task_assigned"
    assert entry["signature_ok"] is True and entry["duplicate"] is False
    assert entry["status"] == 204 and isinstance(entry["time"], float)


def test_same_webhook_id_twice_decides_once(receiver, decisions, sender):
    body = event_body()
    first = sender.send(receiver.url, signed("msg_dup", body), body)
    # A retry: same id and body, new timestamp and signature.
    second = sender.send(receiver.url, signed("msg_dup", body, ts=int(time.time()) + 1), body)
    assert first.status == 204
    assert second.status == 200
    assert receiver.wait_idle(5)
    assert len(decisions.events) == 1
    assert [(r["status"], r["duplicate"]) for r in receiver.received] == [(204, False), (200, True)]


def test_duplicate_answer_body(receiver):
    body = event_body()
    raw_post(receiver.url, signed("msg_d2", body), body)
    status, answer = raw_post(receiver.url, signed("msg_d2", body), body)
    assert status == 200 and json.loads(answer) == {"duplicate": True}


def test_concurrent_duplicates_decide_once(receiver, decisions):
    body = event_body()
    headers = signed("msg_race", body)
    statuses: list[int] = []

    def post() -> None:
        statuses.append(raw_post(receiver.url, headers, body)[0])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert receiver.wait_idle(5)
    assert sorted(statuses) == [200] * 7 + [204]
    assert len(decisions.events) == 1


def test_tampered_body_gets_401_and_is_not_acted_on(receiver, decisions):
    body = event_body(case_id="c1")
    headers = signed("msg_t", body)
    status, answer = raw_post(receiver.url, headers, event_body(case_id="c2"))
    assert status == 401
    assert json.loads(answer) == {"error": "no_matching_signature"}
    assert receiver.wait_idle(5) and decisions.events == []
    (entry,) = receiver.received
    assert entry["signature_ok"] is False and entry["status"] == 401


def test_tampered_request_does_not_burn_the_id(receiver, decisions):
    body = event_body()
    raw_post(receiver.url, signed("msg_x", body), body + b" ")
    status, _ = raw_post(receiver.url, signed("msg_x", body), body)
    assert status == 204
    assert receiver.wait_idle(5) and len(decisions.events) == 1


@pytest.mark.parametrize(
    "mutate,code",
    [
        (lambda h: h.pop("webhook-signature"), "missing_header"),
        (lambda h: h.update({"webhook-signature": "garbage"}), "malformed_signature"),
        (lambda h: h.update({"webhook-signature": "v1,a,b"}), "malformed_signature"),
        (lambda h: h.update({"webhook-signature": "v2,abc"}), "no_matching_signature"),
        (lambda h: h.update({"webhook-timestamp": "yesterday"}), "bad_timestamp"),
        (
            lambda h: h.update({"webhook-timestamp": str(int(time.time()) - 3600)}),
            "timestamp_out_of_tolerance",
        ),
    ],
)
def test_bad_requests_get_4xx_never_5xx(receiver, decisions, mutate, code):
    body = event_body()
    headers = signed("msg_bad", body)
    mutate(headers)
    status, answer = raw_post(receiver.url, headers, body)
    assert 400 <= status < 500
    assert json.loads(answer) == {"error": code}
    assert decisions.events == []


def test_fail_first_two_then_success(decisions, sender):
    body = event_body()
    with DemoReceiver("police", [SECRET], decisions, fail_first=2) as r:
        results = [sender.send(r.url, signed("msg_f", body), body) for _ in range(3)]
        assert r.wait_idle(5)
        log = r.received
    assert [x.status for x in results] == [503, 503, 204]
    assert results[0].retry_after == 1 and results[0].retryable
    assert len(decisions.events) == 1
    assert [e["status"] for e in log] == [503, 503, 204]
    assert [e["signature_ok"] for e in log] == [False, False, True]


def test_fail_first_happens_before_verification(decisions):
    with DemoReceiver("police", [SECRET], decisions, fail_first=1) as r:
        assert raw_post(r.url, {"webhook-id": "x"}, b"not json")[0] == 503
        assert raw_post(r.url, {"webhook-id": "x"}, b"not json")[0] == 401


def test_rotation_either_secret_verifies(decisions, sender):
    old, new = generate_secret(), generate_secret()
    body = event_body()
    with DemoReceiver("health", [old, new], decisions) as r:
        only_new = {**signed("msg_r1", body, secrets=[new])}
        assert sender.send(r.url, only_new, body).status == 204
        only_old = signed("msg_r2", body, secrets=[old])
        assert sender.send(r.url, only_old, body).status == 204
        unrelated = signed("msg_r3", body, secrets=[generate_secret()])
        assert sender.send(r.url, unrelated, body).status == 401
        assert r.wait_idle(5)
    assert len(decisions.events) == 2


def test_signed_non_json_body_is_400(receiver, decisions):
    body = b"\xff\xfe not json"
    status, _ = raw_post(receiver.url, signed("msg_nj", body), body)
    assert status == 400 and decisions.events == []


def test_wrong_path_and_method(receiver):
    base = receiver.url.rsplit("/webhooks/", 1)[0]
    assert raw_post(base + "/webhooks/other", {}, b"{}")[0] == 404
    parts = urlsplit(receiver.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", parts.path)
        assert conn.getresponse().status == 405
    finally:
        conn.close()


def test_decide_failure_does_not_break_the_receiver(sender):
    calls: list[str] = []

    def decide(event: dict) -> None:
        calls.append(event["id"])
        if len(calls) == 1:
            raise RuntimeError("department API down")

    with DemoReceiver("tax", [SECRET], decide) as r:
        for i in range(2):
            body = event_body(event_id=f"evt_{i}")
            assert sender.send(r.url, signed(f"msg_{i}", body), body).status == 204
        assert r.wait_idle(5)
        assert calls == ["evt_0", "evt_1"]
        assert len(r.decide_errors) == 1


def test_decide_runs_in_background(sender):
    gate = threading.Event()
    done = threading.Event()

    def slow_decide(event: dict) -> None:
        gate.wait(5)
        done.set()

    with DemoReceiver("tax", [SECRET], slow_decide) as r:
        body = event_body()
        result = sender.send(r.url, signed("msg_bg", body), body)
        assert result.status == 204 and not done.is_set()
        gate.set()
        assert r.wait_idle(5) and done.is_set()


def test_stop_is_idempotent_and_frees_the_port(decisions, sender):
    r = DemoReceiver("tax", [SECRET], decisions).start()
    url = r.url
    r.stop()
    r.stop()
    assert sender.send(url, {}, b"{}").error == "connection_error"
    with pytest.raises(RuntimeError):
        _ = r.url


def test_requires_a_secret():
    with pytest.raises(ValueError):
        DemoReceiver("tax", [])


def test_known_answer_secret_works_end_to_end(decisions):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = event_body()
    ts = int(time.time())
    headers = {
        "webhook-id": "msg_ka",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, "msg_ka", ts, body),
    }
    with DemoReceiver("tax", [secret], decisions) as r:
        assert raw_post(r.url, headers, body)[0] == 204
