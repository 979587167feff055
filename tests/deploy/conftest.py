"""The packaged stages, built once per session (chalice package + pip download take seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.onetrip.package import STAGES, Package, build


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    dist: Path = tmp_path_factory.mktemp("dist")
    # Linted once, in its own test, over all four templates.
    return {stage: build(stage, dist, lint=False, log=lambda _m: None) for stage in STAGES}
