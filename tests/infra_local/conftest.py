"""Fixtures for the local-stack tests: moto servers on free ports, always stopped by pid."""

from __future__ import annotations

import pytest

from infra.onetrip import moto_stack, users


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in moto_stack.FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def deployed(moto_url: str) -> dict:
    """The template deployed to moto plus what moto skipped, and the demo users."""
    outputs = moto_stack.deploy(moto_url)  # clients carry fake credentials themselves
    return {"outputs": outputs, "users": users.create_users(outputs)}
