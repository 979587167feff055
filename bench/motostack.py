"""The in-process bench stack: a moto server on a free 127.0.0.1 port with the real template, demo users
and seed (the same code the integration tests use), and the app's environment pointed at it.

Used by the journey counter, the cold-start probes (which only need its data) and the query-scale
check. Everything it starts is stopped by `close()`; the environment it changed is restored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from infra.onetrip import moto_stack, users
from infra.onetrip.moto_stack import endpoint_for, free_port, start_moto, stop_process
from infra.onetrip.seed import seed
from infra.onetrip.stack import app_env


def reset_app_caches() -> None:
    """Settings, boto3 clients and the composition root are built once per process: rebuild them."""
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    aws.client.cache_clear()
    bootstrap.override(None, None)


class MotoStack:
    def __init__(self, receiver_urls: Mapping[str, str] | None = None) -> None:
        self._saved_env = dict(os.environ)
        self.port = free_port()
        self.proc = start_moto(self.port)
        try:
            self.outputs = moto_stack.deploy(endpoint_for(self.port))
            self.users = users.create_users(self.outputs)
            self.env = app_env(self.outputs, api_port=0)
            os.environ.update(self.env)
            reset_app_caches()
            self.seeded: dict[str, Any] = seed(self.outputs, self.users, receiver_urls)
        except BaseException:
            self.close()
            raise
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        """One access token per user for the whole run (they live an hour; the bench takes minutes)."""
        if username not in self._tokens:
            self._tokens[username] = users.token(self.outputs, username)
        return self._tokens[username]

    def aws(self, service: str) -> Any:
        """A client of the bench itself (not the app's): its calls are never counted."""
        return moto_stack.client(service, self.outputs["EndpointUrl"])

    def close(self) -> None:
        stop_process(self.proc)
        os.environ.clear()
        os.environ.update(self._saved_env)
        reset_app_caches()

    def __enter__(self) -> MotoStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
