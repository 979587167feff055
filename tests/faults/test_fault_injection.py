"""Every event arrives, each webhook-id acts once, attempts follow the (compressed) schedule — with
receivers that are down, slow, failing, throttling, redirecting, gone or crashing, with duplicate
queue messages, a pump killed mid-batch, and a dead endpoint next to a live one."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.departments import EndpointState
from infra.onetrip.lifetime import spawn  # own session, and exits if pytest dies
from infra.onetrip.moto_stack import free_port
from infra.onetrip.receiver import DemoReceiver, Fault

from .conftest import BACKOFF, JITTER, env_for, report, wait_for

ROOT = Path(__file__).resolve().parents[2]
# Pump poll + sweep tick + handler time: how late an attempt may be, beyond its jittered wait.
LATE = 2.5


def receiver_for(h, fault=None, fail_first=0, **endpoint_kwargs):
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/{h.department}"
    endpoint_id, secret = h.endpoint(url, **endpoint_kwargs)
    receiver = DemoReceiver(h.department, [secret], fault=fault, fail_first=fail_first, port=port).start()
    return receiver, endpoint_id


def requests_for(receiver, wid):
    return [r for r in receiver.received if r["webhook_id"] == wid]


def assert_schedule(times, waits):
    """Consecutive attempt times follow the expected waits (each ± jitter, plus pump latency)."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == len(waits), (gaps, waits)
    for gap, wait in zip(gaps, waits, strict=True):
        assert wait * (1 - JITTER) - 0.3 <= gap <= wait * (1 + JITTER) + LATE, (gaps, waits)


def assert_once_each(receiver, wids):
    assert sorted(receiver.acted) == sorted(wids)  # every event arrived and acted on exactly once


def test_a_receiver_down_for_three_attempts_gets_each_event_once_on_schedule(harness):
    h = harness()
    receiver, _ = receiver_for(h, fail_first=6)  # two events: three 503s each
    try:
        wids = h.send_events(2)
        h.start_pump()
        wait_for(lambda: len(receiver.acted) == 2, 40, "both events acted on")
        assert_once_each(receiver, wids)
        for wid in wids:
            hits = requests_for(receiver, wid)
            assert [r["status"] for r in hits] == [503, 503, 503, 204]
            # waits 1, 2 (SQS delay) and 3 (beyond the 2 s SQS limit: due-time store + sweep)
            assert_schedule([r["time"] for r in hits], BACKOFF[:3])
            # The receiver acts as soon as it has answered 204; the deliverer records the outcome just
            # after reading that answer, so the record is awaited, not read once (it raced, rarely).
            state = wait_for(lambda wid=wid: (s := h.deps.store.get_delivery(wid)).status
                             is DeliveryStatus.DELIVERED and s, 10, "the delivery recorded")
            assert (state.status, state.attempt) == (DeliveryStatus.DELIVERED, 4)
            assert [a.http_status for a in h.deps.store.list_delivery_attempts(wid)] == [503, 503, 503, 204]
        report("down for 3 attempts (503)", 2, len(receiver.received), len(receiver.acted), "attempts 4 each")
    finally:
        receiver.stop()


def test_a_receiver_slower_than_the_timeout_is_retried_and_acts_once(harness):
    h = harness()
    receiver, _ = receiver_for(h, fault=lambda n: Fault(sleep=2.5) if n == 1 else None)
    try:
        (wid,) = h.send_events(1)
        h.start_pump()
        wait_for(lambda: len(receiver.acted) == 1, 30, "the event acted on")
        wait_for(lambda: h.deps.store.get_delivery(wid).status is DeliveryStatus.DELIVERED, 10, "delivered")
        attempts = h.deps.store.list_delivery_attempts(wid)
        assert attempts[0].error_class == "timeout" and attempts[0].latency_ms < 2000
        assert attempts[-1].http_status in (200, 204)
        wait_for(lambda: len(requests_for(receiver, wid)) == 2, 5, "the slow first request to finish")
        assert_once_each(receiver, [wid])  # the late first request found the id already acted on
        report("slower than the 15 s timeout (compressed: 1 s)", 1, len(receiver.received), len(receiver.acted),
               f"attempts {len(attempts)}")
    finally:
        receiver.stop()


def test_a_500_is_retried_after_the_first_wait(harness):
    h = harness()
    receiver, _ = receiver_for(h, fault=lambda n: Fault(status=500) if n == 1 else None)
    try:
        (wid,) = h.send_events(1)
        h.start_pump()
        wait_for(lambda: len(receiver.acted) == 1, 30, "the event acted on")
        hits = requests_for(receiver, wid)
        assert [r["status"] for r in hits] == [500, 204]
        assert_schedule([r["time"] for r in hits], BACKOFF[:1])
        report("500 once", 1, len(hits), len(receiver.acted))
    finally:
        receiver.stop()


def test_a_429_retry_after_is_honoured_over_the_shorter_schedule(harness):
    h = harness()
    receiver, _ = receiver_for(h, fault=lambda n: Fault(status=429, headers={"Retry-After": "4"}) if n == 1 else None)
    try:
        (wid,) = h.send_events(1)
        h.start_pump()
        wait_for(lambda: len(receiver.acted) == 1, 30, "the event acted on")
        hits = requests_for(receiver, wid)
        assert [r["status"] for r in hits] == [429, 204]
        gap = hits[1]["time"] - hits[0]["time"]
        assert 4 - 0.3 <= gap <= 4 + LATE  # Retry-After 4 s, not the schedule's 1 s
        report("429 with Retry-After: 4", 1, len(hits), len(receiver.acted), f"second attempt after {gap:.1f} s")
    finally:
        receiver.stop()


def test_a_301_is_not_followed_is_a_permanent_failure_and_a_replay_delivers_it_once(harness):
    h = harness()
    redirecting = {"on": True}
    receiver, _ = receiver_for(h, fault=lambda n: Fault(status=301, headers={"Location": "http://169.254.169.254/"})
                               if redirecting["on"] else None)
    try:
        (wid,) = h.send_events(1)
        h.start_pump()
        wait_for(lambda: h.deps.store.get_delivery(wid) and h.deps.store.get_delivery(wid).status
                 is DeliveryStatus.FAILED_PERMANENTLY, 20, "permanent failure")
        time.sleep(1.5)  # no retry follows
        assert [r["status"] for r in receiver.received] == [301] and receiver.acted == []
        redirecting["on"] = False
        from chalicelib.domain.principals import Principal, PrincipalKind
        from chalicelib.services.delivery_log import replay

        replay(h.deps, Principal(sub="admin", kind=PrincipalKind.ADMIN), wid)
        wait_for(lambda: len(receiver.acted) == 1, 20, "the replay acted on")
        assert receiver.received[-1]["webhook_id"] == wid
        report("301 (not followed; replayed after the fix)", 1, len(receiver.received), len(receiver.acted),
               "failed_permanently, then replay")
    finally:
        receiver.stop()


def test_a_410_disables_the_endpoint_and_nothing_more_is_sent_to_it(harness):
    h = harness()
    receiver, endpoint_id = receiver_for(h, fault=lambda n: Fault(status=410))
    try:
        wids = h.send_events(1)
        h.start_pump()
        wait_for(lambda: h.deps.store.get_endpoint(h.department, endpoint_id).state is EndpointState.DISABLED,
                 20, "endpoint disabled")
        assert h.send_events(2) == []  # a disabled endpoint subscribes to nothing
        time.sleep(1.5)
        assert [r["status"] for r in receiver.received] == [410] and receiver.acted == []
        assert h.deps.store.get_delivery(wids[0]).status is DeliveryStatus.FAILED_PERMANENTLY
        report("410 Gone", 3, len(receiver.received), len(receiver.acted), "endpoint disabled after 1 request")
    finally:
        receiver.stop()


def test_a_receiver_that_crashes_after_acting_acts_once_on_the_redelivery(harness):
    h = harness()
    receiver, _ = receiver_for(h, fault=lambda n: Fault(drop_after_acting=True) if n == 1 else None)
    try:
        (wid,) = h.send_events(1)
        h.start_pump()
        wait_for(lambda: h.deps.store.get_delivery(wid) and h.deps.store.get_delivery(wid).status
                 is DeliveryStatus.DELIVERED, 30, "delivered")
        hits = requests_for(receiver, wid)
        assert len(hits) >= 2 and hits[0]["status"] == -1  # no answer to the first
        assert all(h_["duplicate"] for h_ in hits[1:])  # later copies answered 200 without acting
        assert receiver.acted == [wid]
        report("crash after acting, before answering", 1, len(hits), len(receiver.acted), "same webhook-id")
    finally:
        receiver.stop()


def test_duplicate_queue_messages_act_once(harness, outputs):
    h = harness()
    receiver, _ = receiver_for(h)
    try:
        wids = h.send_events(5)
        # Every message a second time (SQS at-least-once), before the pump starts.
        sqs = h.sqs
        messages = []
        while len(messages) < 5:
            got = sqs.receive_message(QueueUrl=outputs["DeliveryQueueUrl"], MaxNumberOfMessages=10,
                                      VisibilityTimeout=0).get("Messages", [])
            messages += [m for m in got if m["MessageId"] not in {x["MessageId"] for x in messages}]
        for m in messages:
            sqs.send_message(QueueUrl=outputs["DeliveryQueueUrl"], MessageBody=m["Body"])
        h.start_pump()
        wait_for(lambda: len(receiver.acted) == 5, 30, "five events acted on")
        time.sleep(2)
        assert_once_each(receiver, wids)
        report("duplicate SQS messages (each twice)", 5, len(receiver.received), len(receiver.acted),
               "10 messages")
    finally:
        receiver.stop()


def test_the_pump_killed_mid_batch_and_restarted_loses_nothing_and_doubles_nothing(harness, outputs, tmp_path):
    h = harness()
    receiver, _ = receiver_for(h, fault=lambda n: Fault(sleep=0.3))  # slow: a batch takes seconds
    h.sqs.set_queue_attributes(QueueUrl=outputs["DeliveryQueueUrl"], Attributes={"VisibilityTimeout": "4"})
    env = {**os.environ, **env_for(outputs), "PYTHONPATH": str(ROOT), "ONETRIP_ENDPOINT_PARALLELISM": "1"}
    (tmp_path / "outputs.json").write_text(__import__("json").dumps(outputs))
    command = [sys.executable, "-m", "infra.onetrip.pump", "--outputs", str(tmp_path / "outputs.json"),
               "--state-dir", str(tmp_path)]
    pump = None
    try:
        wids = h.send_events(10)
        pump = spawn(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(receiver.acted) >= 2, 40, "the batch under way")
        os.kill(pump.pid, signal.SIGKILL)  # mid-batch: some acted, the rest claimed or untouched
        pump.wait(10)
        acted_before_restart = len(receiver.acted)
        assert acted_before_restart < 10
        pump = spawn(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(receiver.acted) == 10, 60, "every event after the restart")
        assert_once_each(receiver, wids)
        report("pump killed (SIGKILL) mid-batch, restarted", 10, len(receiver.received), len(receiver.acted),
               f"{acted_before_restart} acted before the kill")
    finally:
        if pump is not None and pump.poll() is None:
            pump.terminate()
            pump.wait(10)
        h.sqs.set_queue_attributes(QueueUrl=outputs["DeliveryQueueUrl"], Attributes={"VisibilityTimeout": "180"})
        receiver.stop()


class BlackHole:
    """Accepts connections and never answers: a dead endpoint that costs a full timeout per request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._conns:
            conn.close()


def _live_latencies(h, receiver, wids):
    by_wid = {}
    for r in receiver.received:
        by_wid.setdefault(r["webhook_id"], r["time"])
    return [by_wid[w] - h.sent_at[w] for w in wids]


@pytest.mark.parametrize("rounds", [4])
def test_a_dead_endpoint_does_not_slow_the_live_one(harness, rounds):
    # Baseline: the live endpoint alone.
    base = harness()
    live0, _ = receiver_for(base)
    base.start_pump()
    baseline = []
    try:
        for _ in range(rounds):
            wids = base.send_events(5)
            wait_for(lambda w=wids: all(x in live0.acted for x in w), 20, "baseline events")
            baseline += _live_latencies(base, live0, wids)
    finally:
        base.stop_pump()
        live0.stop()
    # The same with a black-hole endpoint of the same department next to it.
    h = harness()
    hole = BlackHole()
    h.endpoint(f"http://127.0.0.1:{hole.port}/webhooks/dead")
    live, live_id = receiver_for(h)
    h.start_pump()
    latencies = []
    try:
        for _ in range(rounds):
            wids = [w for w in h.send_events(5) if w.endswith(live_id.removeprefix("ep_"))]
            wait_for(lambda w=wids: all(x in live.acted for x in w), 30, "live events")
            latencies += _live_latencies(h, live, wids)
        p50, p50_base = statistics.median(latencies), statistics.median(baseline)
        # The dead endpoint's requests time out in parallel with the live ones, and its circuit opens
        # after 3 failures, so the live endpoint's typical latency is what it is alone. The local pump
        # runs one batch at a time (Lambda runs batches concurrently): until the circuit opens, a
        # live message polled in the batch after a dead one waits for that batch's timeout — at most
        # two 1-s timeouts here, never one per retry.
        assert p50 <= p50_base + 0.5, (latencies, baseline)
        assert max(latencies) <= max(baseline) + 2 * 1.0 + 0.5, (latencies, baseline)
        assert hole.accepted <= 3 + 4 + 2  # threshold + in-flight parallelism + probes, not 20 × attempts
        report("two endpoints, one dead (black hole)", 20, len(live.received), len(live.acted),
               f"live p50 {p50 * 1000:.0f} ms (max {max(latencies) * 1000:.0f}) vs {p50_base * 1000:.0f} ms "
               f"(max {max(baseline) * 1000:.0f}) alone; dead endpoint got {hole.accepted} requests")
    finally:
        live.stop()
        hole.close()
