"""The state machine of an application and its case: every allowed and every forbidden transition."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.lifecycle import ALLOWED_FROM, LEADS_TO, OPEN, TERMINAL, Action, ApplicationStatus, can, move
from chalicelib.domain.lifecycle import require as require_transition

S = ApplicationStatus
A = Action
# Written out by hand, independently of the module's table: what the issue asks for, per action.
EXPECTED = {
    A.EDIT: {S.DRAFT},
    A.SUBMIT: {S.DRAFT},
    A.ACCEPT: {S.SUBMITTED},
    A.REFUSE: {S.SUBMITTED},
    A.REVIEW: {S.ACCEPTED, S.IN_REVIEW, S.RESUBMITTED, S.SUPPLEMENT_REQUESTED},
    A.REQUEST_SUPPLEMENT: {S.ACCEPTED, S.IN_REVIEW, S.RESUBMITTED, S.SUPPLEMENT_REQUESTED},
    A.SUPPLEMENT: {S.SUPPLEMENT_REQUESTED},
    A.RESUBMIT: {S.SUPPLEMENT_REQUESTED},
    A.DECIDE: {S.ACCEPTED, S.IN_REVIEW, S.RESUBMITTED},
    A.ISSUE_RESULT: {S.DECIDED},
    A.CLOSE: {S.RESULT_ISSUED},
    A.WITHDRAW: {S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.IN_REVIEW, S.SUPPLEMENT_REQUESTED, S.RESUBMITTED},
    A.RATE: {S.DECIDED, S.RESULT_ISSUED, S.CLOSED},
    A.RECORD_VISIT: set(S) - {S.DRAFT},
}
PAIRS = list(itertools.product(S, A))


def test_every_action_is_in_the_table():
    assert set(ALLOWED_FROM) == set(LEADS_TO) == set(A) == set(EXPECTED)


@pytest.mark.parametrize("status,action", PAIRS, ids=lambda v: str(v))
def test_each_transition_is_allowed_exactly_where_expected(status, action):
    assert can(status, action) is (status in EXPECTED[action])


@pytest.mark.parametrize("status,action", [(s, a) for s, a in PAIRS if s not in EXPECTED[a]], ids=lambda v: str(v))
def test_a_forbidden_transition_is_409_with_the_current_state(status, action):
    with pytest.raises(Conflict) as exc:
        require_transition(status, action)
    assert exc.value.code == "illegal_transition"
    assert exc.value.detail == {"current_state": status.value, "action": action.value}
    assert exc.value.message_zh and exc.value.message_en


@pytest.mark.parametrize("status,action", [(s, a) for s, a in PAIRS if s in EXPECTED[a]], ids=lambda v: str(v))
def test_an_allowed_transition_moves_only_to_a_legal_target(status, action):
    for target in S:
        if target in LEADS_TO[action]:
            assert move(status, action, target) is target
        else:
            with pytest.raises(AssertionError):
                move(status, action, target)


def test_the_terminal_states_allow_only_records_and_a_late_rating():
    for status in TERMINAL:
        allowed = {a for a in A if can(status, a)}
        assert allowed <= {A.RECORD_VISIT, A.RATE}
    assert not can(S.WITHDRAWN, A.RATE) and not can(S.REFUSED, A.RATE)


def test_the_open_states_are_those_before_a_decision():
    assert OPEN == {S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.IN_REVIEW, S.SUPPLEMENT_REQUESTED, S.RESUBMITTED}


def test_every_state_is_reachable_from_a_draft():
    reached, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        status = frontier.pop()
        for action in A:
            if can(status, action):
                for target in LEADS_TO[action] - reached:
                    reached.add(target)
                    frontier.append(target)
    assert reached == set(S)
