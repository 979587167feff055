"""Demo department webhook receiver (local only, never deployed).

A small ``ThreadingHTTPServer`` on 127.0.0.1 that behaves like a well-written
department endpoint:

* verifies the Standard Webhooks signature over the raw body (401 + JSON error
  on failure, never a 5xx for a bad request);
* deduplicates on ``webhook-id`` (a repeat gets ``200 {"duplicate": true}`` and
  is not acted on again);
* answers ``204`` at once and hands the CloudEvent to ``decide`` in a
  background worker thread;
* can simulate an outage with ``fail_first`` (503 to the first N requests,
  before any verification), and any other fault through ``fault`` (tests):
  ``fault(n)`` for the n-th request returns None (behave) or a ``Fault``:
  answer a status (with headers, e.g. ``Retry-After`` or ``Location``) before
  verifying, sleep before answering (slower than the sender's timeout), or act
  and then drop the connection without an answer (a crash after acting).
* keeps connections alive (HTTP/1.1), so a sender can reuse them.

Every request is recorded in ``received`` for the demo timeline and tests.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from chalicelib.domain.webhooks import WebhookVerificationError, verify

__all__ = ["DemoReceiver", "Fault"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_STOP = object()


@dataclass(frozen=True)
class Fault:
    """What the receiver does wrong on one request (tests and demos of the delivery guarantees)."""

    status: int | None = None  # answer this before verifying (e.g. 500, 429, 301, 410)
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0  # wait this long before handling (a receiver slower than the timeout)
    drop_after_acting: bool = False  # act on the event, then close the connection without answering


_DROP = -1


class DemoReceiver:
    """A department endpoint on ``http://127.0.0.1:<port>/webhooks/<department>``."""

    def __init__(
        self,
        department: str,
        secrets: list[str],
        decide: Callable[[dict[str, Any]], None] | None = None,
        fail_first: int = 0,
        *,
        port: int = 0,
        tolerance: int = 300,
        fault: Callable[[int], Fault | None] | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("at least one webhook secret is required")
        self.department = department
        self.secrets = list(secrets)
        self.decide = decide
        self.fail_first = fail_first
        self.fault = fault
        self.tolerance = tolerance
        # Webhook ids acted on, in order: each must appear once however often it was delivered.
        self.acted: list[str] = []
        self.path = f"/webhooks/{quote(department, safe='')}"
        self.decide_errors: list[str] = []
        self._port = port
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._seen_ids: set[str] = set()
        self._request_count = 0
        self._connections: set[socket.socket] = set()
        self._work: queue.Queue[Any] = queue.Queue()
        self._server: ThreadingHTTPServer | None = None
        self._server_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("receiver is not started")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.path}"

    def start(self) -> DemoReceiver:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._worker_thread = threading.Thread(
            target=self._worker, name=f"receiver-{self.department}-worker", daemon=True
        )
        self._worker_thread.start()
        self._server_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"receiver-{self.department}-http",
            daemon=True,
        )
        self._server_thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Kept-alive connections outlive the listening socket: close them too, or a sender that
        # reuses one would still be answered by this stopped receiver.
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
        self._work.put(_STOP)
        if self._worker_thread is not None:
            self._worker_thread.join(timeout=5)

    def __enter__(self) -> DemoReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- observation ---------------------------------------------------------
    @property
    def received(self) -> list[dict[str, Any]]:
        """A snapshot of every request seen so far, oldest first."""
        with self._lock:
            return [dict(r) for r in self._received]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every accepted event has been passed to ``decide``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._work.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return self._work.unfinished_tasks == 0

    # -- internals -----------------------------------------------------------
    def _worker(self) -> None:
        while True:
            item = self._work.get()
            try:
                if item is _STOP:
                    return
                if self.decide is not None:
                    self.decide(item)
            except Exception as exc:  # the demo must keep running
                logger.exception("decide failed for %s", self.department)
                with self._lock:
                    self.decide_errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                self._work.task_done()

    def _record(self, **entry: Any) -> None:
        entry.setdefault("time", time.time())
        entry["department"] = self.department
        with self._lock:
            self._received.append(entry)

    def handle(self, headers: Any, body: bytes | None) -> tuple[int, dict[str, Any] | None]:
        """Decide the answer to one POST; ``body`` is None when it could not be read."""
        status, payload, _extra = self.handle_with_headers(headers, body)
        return status, payload

    def handle_with_headers(self, headers: Any, body: bytes | None) -> tuple[int, dict[str, Any] | None,
                                                                              dict[str, str]]:
        """Like ``handle``, plus extra response headers; status ``-1`` means: drop the connection."""
        webhook_id = headers.get("webhook-id")
        with self._lock:
            self._request_count += 1
            number = self._request_count
            failing = number <= self.fail_first
        fault = self.fault(number) if self.fault is not None else None
        record: dict[str, Any] = {
            "webhook_id": webhook_id,
            "event_type": None,
            "signature_ok": False,
            "duplicate": False,
        }
        if failing:
            self._record(**record, status=503)
            return 503, {"error": "simulated_outage"}, {"Retry-After": "1"}
        if fault is not None and fault.sleep:
            time.sleep(fault.sleep)
        if fault is not None and fault.status is not None:
            self._record(**record, status=fault.status)
            return fault.status, {"error": "simulated_fault"}, dict(fault.headers)
        status, payload = self._verify_and_act(headers, body, record)
        if fault is not None and fault.drop_after_acting:
            with self._lock:  # the request was handled (and acted on) but is never answered
                for i in range(len(self._received) - 1, -1, -1):
                    if self._received[i]["webhook_id"] == record["webhook_id"]:
                        self._received[i] = {**self._received[i], "status": _DROP}
                        break
            return _DROP, None, {}
        return status, payload, {}

    def _verify_and_act(self, headers: Any, body: bytes | None,
                        record: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        webhook_id = record["webhook_id"]
        if body is None:
            self._record(**record, status=413)
            return 413, {"error": "body_too_large_or_missing"}

        code = None
        for secret in self.secrets:
            try:
                verify(secret, headers, body, tolerance=self.tolerance)
            except WebhookVerificationError as exc:
                code = code or exc.code
                continue
            code = None
            break
        if code is not None:
            self._record(**record, status=401)
            return 401, {"error": code}
        record["signature_ok"] = True

        try:
            event = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            event = None
        if not isinstance(event, dict):
            self._record(**record, status=400)
            return 400, {"error": "body_is_not_a_json_object"}
        record["event_type"] = event.get("type")

        with self._lock:
            duplicate = webhook_id in self._seen_ids
            if not duplicate:
                self._seen_ids.add(webhook_id)
                self.acted.append(webhook_id)
                # Enqueue under the lock so concurrent duplicates act once.
                self._work.put(event)
        if duplicate:
            record["duplicate"] = True
            self._record(**record, status=200)
            return 200, {"duplicate": True}
        self._record(**record, status=204)
        return 204, None


def _make_handler(receiver: DemoReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "OneTripDemoReceiver/1.0"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with receiver._lock:
                receiver._connections.add(self.connection)

        def finish(self) -> None:
            with receiver._lock:
                receiver._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", self.address_string(), format % args)

        def _answer(self, status: int, payload: dict[str, Any] | None,
                    headers: dict[str, str] | None = None, close: bool = False) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if data:
                self.wfile.write(data)

        def _read_body(self) -> bytes | None:
            raw_length = self.headers.get("Content-Length")
            if raw_length is None or not raw_length.strip().isdigit():
                return None
            length = int(raw_length)
            if length > MAX_BODY_BYTES:
                return None
            return self.rfile.read(length)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != receiver.path:
                self._answer(404, {"error": "not_found"}, close=True)
                return
            body = self._read_body()
            try:
                status, payload, headers = receiver.handle_with_headers(self.headers, body)
            except Exception:
                logger.exception("receiver failed")
                status, payload, headers = 500, {"error": "internal"}, {}
            if status == _DROP:  # the "crash": no answer at all
                self.close_connection = True
                self.connection.shutdown(2)
                return
            # An unread (too large) body would corrupt the next request on this connection.
            self._answer(status, payload, headers, close=body is None)

        def _not_allowed(self) -> None:
            self._answer(405, {"error": "method_not_allowed"}, close=True)

        do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed

    return Handler
