"""The case simulation (bench/cases_simulation.py) on a few dozen applications: its invariants hold,
its counts add up, the same seed replays the same story, and its invariant checks do catch a broken
case (so "all hold" in the 10,000-application run means something)."""

from __future__ import annotations

import pytest

from bench import cases_simulation as sim
from chalicelib.domain.applications import TaskStatus


@pytest.fixture(scope="module")
def world() -> tuple[sim.Simulation, dict]:
    simulation = sim.Simulation(50, seed=7)
    return simulation, simulation.run()


def test_a_small_simulation_keeps_every_invariant_and_its_counts_add_up(world):
    simulation, tallies = world
    result = sim.summarize(tallies, wall=1.0, shards=1)
    assert result["invariants"]["holds"], result["invariants"]["violations"]
    assert result["errors"] == []
    assert sum(result["statuses"].values()) == result["applications"] == 50
    assert set(result["statuses"]) <= {"closed", "result_issued", "withdrawn"}  # nothing left half-way
    assert sum(result["supplement_rounds"].values()) == sum(result["visits"].values()) == result["accepted"]
    decided = sum(v for k, v in result["statuses"].items() if k != "withdrawn")
    assert result["decided"] == decided and result["rejected"] <= decided
    m = result["materials"]
    assert m["needed"] == m["upload"] + m["bus"] + m["vault"] > 0
    f = result["first_response"]
    assert f["problems_told_first"] > 0 and 0 < f["share_told_first"] <= 1
    # The only problem a first response cannot tell: the material an answer given later brings in.
    assert all("answer given after the first response" in cause for cause in f["found_later_by_cause"])
    assert result["deep_checks"]["run"] + result["deep_checks"]["cached"] >= m["upload"]
    assert "invariants" in sim.table(result) and "applications/s" in sim.table(result)


def test_the_same_seed_replays_the_same_story(world):
    _, first = world
    again = sim.Simulation(50, seed=7).run()
    for key in ("statuses", "rounds", "visits", "ratings", "found_later", "told_first", "on_time", "sources",
                "calls"):
        assert again[key] == first[key], key


def test_the_invariant_checks_catch_an_open_task_on_a_decided_case_and_a_deadline_moved_back(world):
    simulation, _ = world
    store = simulation.deps.store
    case = next(c for c in simulation.cases if c.accepted and not c.withdrawn)
    task_id = next(iter(case.tasks))
    decided = store.tasks[task_id]
    store.tasks[task_id] = decided.model_copy(update={"status": TaskStatus.ASSIGNED})
    case.deadlines.append("2000-01-01")
    try:
        violations = simulation.tallies(0.0, 0)["invariants"]
    finally:
        store.tasks[task_id] = decided
        case.deadlines.pop()
    assert case.app_id in violations["a decided case has every task decided"]
    assert case.app_id in violations["no deadline moved backwards"]
    assert any(task_id in v for v in violations["no task open at the end"])
