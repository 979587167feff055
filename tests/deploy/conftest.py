"""The packaged stages, built once per session (chalice package + pip download take seconds each)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.onetrip.package import STAGES, Package, build


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    dist: Path = tmp_path_factory.mktemp("dist")
    # Linted once, in its own test, over all four templates.
    return {stage: build(stage, dist, lint=False, log=lambda _m: None) for stage in STAGES}


@pytest.fixture
def without_local_stack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployed function's environment: none of the local stack's settings (the integration suite's
    session-wide stack exports them, e.g. the loopback webhooks and its own service name)."""
    for name in list(os.environ):
        if name.startswith(("ONETRIP_", "POWERTOOLS_")):
            monkeypatch.delenv(name)
