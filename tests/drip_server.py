"""A loopback server that reads each request whole, then sends `answer` one byte every `pause`
seconds: every read a client makes is far inside its socket timeout while the whole answer takes as
long as the test wants. Used by the sender's deadline tests and the `deliver` batch-budget faults."""

from __future__ import annotations

import socket
import threading
import time


class DripServer:
    def __init__(self, answer: bytes, pause: float) -> None:
        self.answer, self.pause = answer, pause
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                _read_request(conn)
                self.requests += 1
                for byte in self.answer:
                    if self._stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.pause)
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    """Headers and the Content-Length body (http.client may send them in two writes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk
