"""moto's DynamoDB is not safe for concurrent requests: a transaction copies the whole table and can
fail with "dictionary changed size during iteration", and two conditional transactions on the same
item can both pass their checks. DynamoDB makes each request atomic, so the faithful model for
concurrency tests is one whole request at a time: threads still interleave BETWEEN requests, which is
where a read-decide-write race (a lost update, a double acceptance) would show."""

from __future__ import annotations

import threading
from typing import Any


class OneRequestAtATime:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if not callable(call):
            return call

        def serialized(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return call(*args, **kwargs)

        return serialized
