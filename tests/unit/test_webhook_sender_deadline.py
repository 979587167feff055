"""The sender's timeout bounds the whole exchange, not each read: a receiver that answers one byte at a
time (every read well inside the socket timeout) is cut at the deadline, and a caller can ask for a
shorter deadline than the sender's own (what a `deliver` batch has left)."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.adapters.webhook_sender import WebhookSender
from tests.drip_server import DripServer


@pytest.fixture
def drip():
    servers: list[DripServer] = []

    def make(answer: bytes, pause: float) -> DripServer:
        servers.append(DripServer(answer, pause))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _send(sender: WebhookSender, port: int, **kwargs):
    started = time.monotonic()
    result = sender.send(f"http://127.0.0.1:{port}/hook", {"webhook-id": "msg_1"}, b"{}", **kwargs)
    return result, time.monotonic() - started


def test_an_answer_dripped_byte_by_byte_is_cut_at_the_timeout(drip):
    server = drip(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"x" * 1000 + b"\r\n\r\n", pause=0.05)
    result, elapsed = _send(WebhookSender(allow_loopback=True, timeout=0.6), server.port)
    assert result.error == "timeout" and result.status is None
    assert 0.55 <= elapsed < 1.5, elapsed  # the whole answer would drip for 50 s (slack: a busy CI box)


def test_a_body_dripped_after_a_complete_status_line_is_cut_too(drip):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
    server = drip(head + b"y" * 500, pause=0.01)  # headers in 0.4 s, the body would take 5 s more
    result, elapsed = _send(WebhookSender(allow_loopback=True, timeout=1.0), server.port)
    assert result.error == "timeout", result  # a 200 whose answer never completed is not a delivery
    assert elapsed < 2.5, elapsed


def test_a_caller_can_shorten_the_deadline_for_one_send(drip):
    server = drip(b"HTTP/1.1 204 No Content\r\n\r\n", pause=0.1)  # the full answer takes ~2.7 s
    result, elapsed = _send(WebhookSender(allow_loopback=True, timeout=15.0), server.port, timeout=0.4)
    assert result.error == "timeout" and elapsed < 1.5, (result, elapsed)


def test_an_answer_inside_the_deadline_is_unaffected_and_its_connection_kept(drip):
    server = drip(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", pause=0.001)
    sender = WebhookSender(allow_loopback=True, timeout=2.0)
    result, _ = _send(sender, server.port)
    assert result.status == 204 and result.error is None
    time.sleep(0.05)
    assert sender._pool, "a complete answer keeps its connection for the next send"


def test_many_sends_share_one_watchdog_thread(drip):
    server = drip(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", pause=0)
    sender = WebhookSender(allow_loopback=True, timeout=2.0, keep_alive=False)
    before = threading.active_count()
    for _ in range(20):
        assert _send(sender, server.port)[0].status == 204
    assert threading.active_count() <= before + 1 + 2  # the watchdog (once) and the server's live drips
