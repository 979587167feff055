"""AWS clients, built on first use and shared by a warm container (never at import: cold start).

Every client of a process comes from one botocore session: a session's loader lists the SDK's data
directory and parses the endpoint and partition files once, where a session per client paid that
again for each further client (~20–30 ms each in a cold function that uses two or three services).
The clients are botocore's, which is what `boto3.client()` returns as well: the app uses no boto3
resource or S3 transfer helper, so it does not import boto3 (and s3transfer, ~15 ms) just to get one.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ..collector import paused_then_frozen


class _Clients:
    """`client(service)`: one client per service and process; `cache_clear()` drops them and the
    session (tests and the bench point the app at another endpoint or account between runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a botocore session is not thread-safe; its clients are
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        built = self._clients.get(service)
        if built is not None:
            return built
        # A client (botocore and the service's parsed model) lives as long as the process: built
        # without collections and frozen after, as the app's imports are (chalicelib/collector.py).
        with self._lock, paused_then_frozen():
            if service not in self._clients:
                if self._session is None:
                    from botocore.session import Session

                    self._session = Session()
                self._clients[service] = self._session.create_client(service, config=_config(service))
            return self._clients[service]

    def cache_clear(self) -> None:
        with self._lock:
            self._session = None
            self._clients.clear()


def _config(service: str) -> Any:
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 4},
        "connect_timeout": 3,
        "read_timeout": 10,
    }
    if service == "s3":
        # Path-style URLs work against both AWS and a local endpoint on 127.0.0.1, and SigV4 is
        # what presigned POST policies with SSE-KMS need.
        options["s3"] = {"addressing_style": "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"}
        options["signature_version"] = "s3v4"
    return Config(**options)


client = _Clients()
