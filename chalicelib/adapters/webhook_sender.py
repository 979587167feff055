"""HTTP delivery of one webhook attempt, with an SSRF guard.

Standard library only (``http.client``), so nothing extra enters the Lambda
bundle.

SSRF guard
----------
* The scheme must be ``https``. Plain ``http`` is accepted only when the sender
  was built with ``allow_loopback=True`` (local configuration) *and* every
  address the host resolves to is a loopback address.
* The host is resolved with ``socket.getaddrinfo`` at send time (DNS can change
  after registration). If **any** resolved address is loopback (unless
  allowed), private, link-local (169.254.0.0/16, incl. the instance-metadata
  address), unique-local (fc00::/7), multicast, unspecified, reserved or
  otherwise not globally routable, the URL is refused. IPv4-mapped, 6to4 and
  NAT64 (64:ff9b::/96) IPv6 addresses are judged by the IPv4 address they embed.
* The TCP connection is opened to the vetted IP itself (no second lookup, so
  DNS rebinding between check and connect is impossible) while the request
  carries the original ``Host`` header, and for https the TLS handshake sends
  the original host name as SNI and verifies the certificate against it.
* Redirects are never followed (a 3xx is a permanent failure).
* Connections are kept alive per vetted (host, port, IP) and reused by later sends of the same
  warm function; each send still resolves and vets the host first.

The timeout bounds the whole exchange (connect, request and the complete
answer), enforced by a watchdog that shuts the socket at the deadline; only the
DNS lookup before it is outside (the resolver's own limits apply). At most
64 KiB of a response body is read.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

__all__ = ["MAX_RESPONSE_BYTES", "SendResult", "WebhookSender"]

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "OneTrip-Webhooks/1.0"
_RETRYABLE_4XX = frozenset({408, 409, 429})
_PERMANENT_ERRORS = frozenset({"blocked_address", "invalid_url"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_MAX_IDLE_PER_TARGET = 10

Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class SendResult:
    """Outcome of one attempt. ``error`` is a short code when no usable answer came back.

    Codes: ``timeout``, ``connection_error``, ``tls_error``, ``protocol_error``,
    ``dns_error``, ``redirect_not_followed``, ``blocked_address``, ``invalid_url``.
    """

    status: int | None
    error: str | None
    retry_after: int | None
    elapsed_ms: int
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def permanent(self) -> bool:
        """Do not retry: 410, 4xx other than 408/409/429, any 3xx, a refused URL."""
        if self.error in _PERMANENT_ERRORS:
            return True
        if self.status is None:
            return False
        if 300 <= self.status < 400:
            return True
        return 400 <= self.status < 500 and self.status not in _RETRYABLE_4XX

    @property
    def retryable(self) -> bool:
        return not self.ok and not self.permanent


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = str(sockaddr[0])
        if ip not in seen:
            seen.append(ip)
    return seen


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify_address(ip: IPAddress) -> str | None:
    """Why an address must not be called (``loopback``, ``private``, ...), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return classify_address(embedded)
        if ip in ipaddress.IPv6Network("fc00::/7"):
            return "unique_local"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not_global"
    return None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a vetted IP; ``Host`` stays the original host name."""

    def __init__(self, host: str, port: int, *, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._pinned_ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._pinned_ip, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted IP; SNI, certificate check and ``Host`` use the host name."""

    def __init__(self, host: str, port: int, *, ip: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._pinned_ip = ip
        self._pinned_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._pinned_ip, self.port), self.timeout)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = self._pinned_context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def parse_retry_after(value: str | None, *, now: float | None = None) -> int | None:
    """``Retry-After`` as whole seconds (delta-seconds or HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0, int(when.timestamp() - current + 0.999))


class WebhookSender:
    """Sends one signed webhook attempt; never follows redirects.

    ``resolver`` and ``ssl_context`` exist for tests and local setups; in
    production the defaults (system DNS, system CA store) are used.
    """

    def __init__(
        self,
        allow_loopback: bool = False,
        timeout: float = 15.0,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = True,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._pool: dict[tuple[str, str, int, str], list[http.client.HTTPConnection]] = {}
        self._pool_lock = threading.Lock()
        self._resolve: Resolver = resolver or _default_resolver
        self._ssl_context = ssl_context or ssl.create_default_context()

    # -- vetting ---------------------------------------------------------
    def _parse(self, url: str) -> tuple[str, str, int, str]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _Refused("invalid_url", f"invalid URL: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise _Refused("invalid_url", f"scheme {scheme or '(none)'!r} not allowed; use https")
        if scheme == "http" and not self.allow_loopback:
            raise _Refused("blocked_address", "plain http is not allowed; use https")
        host = parts.hostname
        if not host:
            raise _Refused("invalid_url", "URL has no host")
        if parts.username is not None or parts.password is not None:
            raise _Refused("invalid_url", "credentials in the URL are not allowed")
        if any(c.isspace() or ord(c) < 0x21 for c in url):
            raise _Refused("invalid_url", "URL contains whitespace or control characters")
        if port is None:
            port = 443 if scheme == "https" else 80
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return scheme, host, port, path

    def _vet(self, url: str) -> _Target:
        scheme, host, port, path = self._parse(url)
        try:
            addresses = list(self._resolve(host, port))
        except (OSError, UnicodeError) as exc:
            raise _Refused("dns_error", f"cannot resolve {host!r}: {exc}") from exc
        if not addresses:
            raise _Refused("dns_error", f"cannot resolve {host!r}")
        all_loopback = True
        for raw in addresses:
            try:
                ip = ipaddress.ip_address(raw.split("%", 1)[0])
            except ValueError as exc:
                raise _Refused("blocked_address", f"unparsable address {raw!r}") from exc
            reason = classify_address(ip)
            if reason == "loopback" and self.allow_loopback:
                continue
            all_loopback = False
            if reason is not None:
                raise _Refused("blocked_address", f"{host} resolves to {ip} ({reason})")
        if scheme == "http" and not all_loopback:
            raise _Refused("blocked_address", "plain http is allowed for loopback receivers only")
        return _Target(scheme, host, port, path, tuple(addresses))

    def check_url(self, url: str) -> str | None:
        """Reason the URL is refused (at registration time), or None if it is acceptable."""
        try:
            self._vet(url)
        except _Refused as refused:
            return refused.reason
        return None

    # -- sending ---------------------------------------------------------
    def _connection(self, target: _Target, ip: str) -> http.client.HTTPConnection:
        if target.scheme == "https":
            return _PinnedHTTPSConnection(
                target.host, target.port, ip=ip, timeout=self.timeout, context=self._ssl_context
            )
        return _PinnedHTTPConnection(target.host, target.port, ip=ip, timeout=self.timeout)

    def _checkout(self, key: tuple[str, str, int, str]) -> http.client.HTTPConnection | None:
        with self._pool_lock:
            idle = self._pool.get(key)
            return idle.pop() if idle else None

    def _checkin(self, key: tuple[str, str, int, str], conn: http.client.HTTPConnection) -> None:
        with self._pool_lock:
            idle = self._pool.setdefault(key, [])
            if len(idle) < _MAX_IDLE_PER_TARGET:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every kept-alive connection."""
        with self._pool_lock:
            pools, self._pool = self._pool, {}
        for idle in pools.values():
            for conn in idle:
                conn.close()

    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float | None = None) -> SendResult:
        """One POST. `timeout` (default: the sender's) bounds the whole exchange — connect, request,
        status line, headers and body together — not only each socket operation, so a receiver that
        drips its answer byte by byte is cut off at the deadline like one that never answers."""
        started = time.monotonic()
        deadline = started + (self.timeout if timeout is None else timeout)

        def done(
            status: int | None,
            error: str | None,
            retry_after: int | None = None,
            detail: str | None = None,
        ) -> SendResult:
            elapsed = int((time.monotonic() - started) * 1000)
            return SendResult(status, error, retry_after, elapsed, detail)

        try:
            # Vetted at every send, kept-alive connection or not: DNS can change after registration.
            target = self._vet(url)
        except _Refused as refused:
            return done(None, refused.code, detail=refused.reason)

        request_headers = {"User-Agent": USER_AGENT}
        request_headers.update(headers)
        last_error: tuple[str, str] = ("connection_error", "no address")
        for ip in target.addresses:
            left = deadline - time.monotonic()
            if left <= 0:
                return done(None, "timeout", detail="no answer within timeout")
            key = (target.scheme, target.host, target.port, ip)
            conn = self._checkout(key) if self.keep_alive else None
            reused = conn is not None
            if conn is None:
                conn = self._connection(target, ip)
                conn.timeout = left
                try:
                    conn.connect()
                except (ssl.SSLError, ssl.CertificateError) as exc:
                    conn.close()
                    return done(None, "tls_error", detail=str(exc))
                except TimeoutError:
                    conn.close()
                    last_error = ("timeout", f"connect to {ip} timed out")
                    continue
                except OSError as exc:
                    conn.close()
                    last_error = ("connection_error", f"{ip}: {exc}")
                    continue
            keep = False
            exchange = _Exchange(conn)
            token = _WATCHDOG.arm(deadline, exchange.abort)
            try:
                try:
                    exchange.settimeout(deadline)
                    conn.request("POST", target.path, body=body, headers=request_headers)
                    response = conn.getresponse()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    if not reused or exchange.aborted:
                        raise
                    # The server closed an idle kept-alive connection before reading this request:
                    # nothing reached it, so send once more on a fresh connection.
                    conn.close()
                    conn = exchange.conn = self._connection(target, ip)
                    conn.timeout = max(0.001, deadline - time.monotonic())
                    conn.request("POST", target.path, body=body, headers=request_headers)
                    response = conn.getresponse()
                response.read(MAX_RESPONSE_BYTES)
                keep = self.keep_alive and not response.will_close and response.isclosed() and not exchange.aborted
            except TimeoutError:
                return done(None, "timeout", detail="no answer within timeout")
            except http.client.HTTPException as exc:
                if exchange.aborted:
                    return done(None, "timeout", detail="no complete answer within timeout")
                return done(None, "protocol_error", detail=type(exc).__name__)
            except (ssl.SSLError, ssl.CertificateError) as exc:
                if exchange.aborted:
                    return done(None, "timeout", detail="no complete answer within timeout")
                return done(None, "tls_error", detail=str(exc))
            except OSError as exc:
                if exchange.aborted:
                    return done(None, "timeout", detail="no complete answer within timeout")
                return done(None, "connection_error", detail=str(exc))
            finally:
                _WATCHDOG.disarm(token)
                if keep:
                    self._checkin(key, conn)
                else:
                    conn.close()
            if exchange.aborted:  # the answer ended only because the deadline cut it
                return done(None, "timeout", detail="no complete answer within timeout")
            status = response.status
            retry_after = parse_retry_after(response.getheader("Retry-After"))
            if 300 <= status < 400:
                return done(
                    status, "redirect_not_followed", retry_after, detail=response.getheader("Location")
                )
            return done(status, None, retry_after)
        return done(None, last_error[0], detail=last_error[1])


class _Exchange:
    """One request/response on a connection, which the watchdog may cut at its deadline."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn
        self.aborted = False

    def settimeout(self, deadline: float) -> None:
        if self.conn.sock is not None:  # a kept-alive connection: its socket still has the old timeout
            self.conn.sock.settimeout(max(0.001, deadline - time.monotonic()))

    def abort(self) -> None:
        self.aborted = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it


class _Watchdog:
    """One daemon thread that aborts exchanges still running at their deadline. The socket timeout
    bounds each read, not the whole answer: without this, a receiver sending a byte every few
    seconds could hold a `deliver` function past its own timeout."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._next = 0
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> int:
        with self._cond:
            self._next += 1
            heapq.heappush(self._heap, (deadline, self._next, action))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][1] == self._next:  # sooner than what it sleeps towards: wake it
                self._cond.notify()
            return self._next

    def disarm(self, token: int) -> None:
        with self._cond:
            self._cancelled.add(token)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][1] in self._cancelled:
                        self._cancelled.discard(heapq.heappop(self._heap)[1])
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        action = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            with contextlib.suppress(Exception):  # a failed abort must not stop the watchdog
                action()


_WATCHDOG = _Watchdog()
