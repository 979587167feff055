"""`onetrip stats` on the local stack: a case accepted over HTTP reaches the statistics through the
outbox, moto's stream, the event pump and the projection, and the admin command shows it."""

from __future__ import annotations

import json

import pytest

from infra.onetrip import cli

from .conftest import AMR_ITEM, wait_for

pytestmark = pytest.mark.e2e


def test_onetrip_stats_counts_a_case_accepted_on_the_local_stack(e2e, capsys):
    admin = ["--api", e2e.api, "--token", e2e.stack.token("admin")]

    def accepted() -> int:
        capsys.readouterr()
        assert cli.main(["stats", "--month", "all", "--item", AMR_ITEM, "--json", *admin]) == 0
        return int(json.loads(capsys.readouterr().out)["cases"]["accepted"])

    before = accepted()
    app = e2e.complete_amr_application()
    case = e2e.ok("POST", f"/v1/applications/{app['id']}/submit")
    assert case["status"] == "accepted", case
    wait_for(lambda: accepted() == before + 1, what="the statistics to count the accepted case")

    assert cli.main(["stats", "--item", AMR_ITEM, *admin]) == 0
    table = capsys.readouterr().out
    assert f"OneTrip statistics — {AMR_ITEM}" in table and "受理 accepted" in table and "Top " in table
    assert cli.main(["stats", "--month", "March", *admin]) == 1  # refused with the API's problems
    assert "month_invalid" in capsys.readouterr().out
