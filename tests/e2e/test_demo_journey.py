"""The scripted demo journey (`make demo`) as a test, on the shared stack instead of its own.

`demo.journey` is given this directory's stack and fresh receivers/desks (yq-tax down for its first
two attempts, as in the demo); every row of its timeline must be a success.
"""

from __future__ import annotations

import pytest

from infra.onetrip import demo


@pytest.mark.e2e
def test_demo_journey_passes_on_the_shared_stack(e2e, departments):
    receivers, desks = departments.open("yq-realestate", "yq-tax", fail_first={"yq-tax": 2})
    timeline = demo.Timeline()

    demo.journey(e2e.stack, timeline, receivers, desks)

    failed = [row for row in timeline.rows if not row[4]]
    assert timeline.ok and timeline.rows, f"failed demo steps: {failed}"
    outcome = next(row for row in timeline.rows if row[2] == "case outcome")
    assert outcome[3].startswith("decided / approved")
