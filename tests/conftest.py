"""Suite-wide leak guard (PIPL): after every test, the captured logs and output are searched for any
valid citizen ID number (GB 11643) or unified social credit code (GB 32100). One found fails that
test, whatever it was testing — so a log line added anywhere cannot leak them unnoticed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from chalicelib.domain.identity import credit_code_is_valid, id_number_is_valid

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Za-z])")


def personal_identifiers_in(text: str) -> set[str]:
    found = {m for m in _ID_NUMBER.findall(text) if id_number_is_valid(m.upper())}
    found |= {m for m in _CREDIT_CODE.findall(text) if credit_code_is_valid(m) and not id_number_is_valid(m)}
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("leaks_allowed"):
        return
    # Sections accumulate over setup, call and teardown: read only this phase's own captures.
    captured = "\n".join(content for title, content in report.sections if title.endswith(f" {report.when}"))
    leaked = personal_identifiers_in(captured)
    if leaked and report.outcome != "failed":
        masked = sorted(f"{v[:4]}…{v[-2:]}" for v in leaked)
        report.outcome = "failed"
        report.longrepr = f"personal identifiers in captured logs/output: {masked} (PIPL: log masked forms only)"


def pytest_configure(config):
    config.addinivalue_line("markers", "leaks_allowed: the test prints identifiers on purpose (the guard's own test)")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server of the module's own on a free 127.0.0.1 port, stopped by pid afterwards."""
    from infra.onetrip.moto_stack import endpoint_for, free_port, start_moto, stop_process

    port = free_port()
    proc = start_moto(port)
    try:
        yield endpoint_for(port)
    finally:
        stop_process(proc)
