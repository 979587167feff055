"""The life of an application and the case it becomes, as one explicit state machine.

    draft ─submit─▶ submitted ─accept─▶ accepted ─review─▶ in_review ─decide─▶ decided
                      └─refuse─▶ refused       │                  ▲
                                               ▼                  │
                              supplement_requested ─resubmit─▶ resubmitted
    decided ─issue result─▶ result_issued ─close─▶ closed        (rating: from decided on)
    draft … resubmitted ─withdraw─▶ withdrawn                     (before any decision)

An item without an acceptance review goes draft → submitted → accepted in one write. Every rule in
`applications` and `cases` asks this table first, so an action in the wrong state is refused the same
way everywhere: 409 with the current state.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Conflict


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for a window officer's acceptance review (受理审查)
    ACCEPTED = "accepted"  # 受理: a case with its tasks; no department has acted yet
    REFUSED = "refused"  # 不予受理
    IN_REVIEW = "in_review"
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 补正: every clock of the case is paused
    RESUBMITTED = "resubmitted"
    DECIDED = "decided"
    RESULT_ISSUED = "result_issued"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    EDIT = "edit"  # answers and uploads of a draft
    SUBMIT = "submit"
    ACCEPT = "accept"
    REFUSE = "refuse"
    REVIEW = "review"  # a department acts on its task: claims it, decides it (not the last one)
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"  # uploads and answers the open supplement request asked for
    RESUBMIT = "resubmit"
    DECIDE = "decide"  # the last department's decision: the case is decided
    ISSUE_RESULT = "issue_result"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    RATE = "rate"  # 好差评: does not change the state
    RECORD_VISIT = "record_visit"  # does not change the state


S = ApplicationStatus
# Where each action may start. A department's actions are the same in accepted, in_review and
# resubmitted: the state records how far the case has come, not who may act.
_UNDER_REVIEW = frozenset({S.ACCEPTED, S.IN_REVIEW, S.RESUBMITTED})
ALLOWED_FROM: dict[Action, frozenset[ApplicationStatus]] = {
    Action.EDIT: frozenset({S.DRAFT}),
    Action.SUBMIT: frozenset({S.DRAFT}),
    Action.ACCEPT: frozenset({S.SUBMITTED}),
    Action.REFUSE: frozenset({S.SUBMITTED}),
    # Departments that did not ask for the supplement may go on reviewing while the applicant supplements.
    Action.REVIEW: _UNDER_REVIEW | {S.SUPPLEMENT_REQUESTED},
    # A second department may join an open round (each asks once per round, for other materials).
    Action.REQUEST_SUPPLEMENT: _UNDER_REVIEW | {S.SUPPLEMENT_REQUESTED},
    Action.SUPPLEMENT: frozenset({S.SUPPLEMENT_REQUESTED}),
    Action.RESUBMIT: frozenset({S.SUPPLEMENT_REQUESTED}),
    Action.DECIDE: _UNDER_REVIEW,
    Action.ISSUE_RESULT: frozenset({S.DECIDED}),
    Action.CLOSE: frozenset({S.RESULT_ISSUED}),
    Action.WITHDRAW: frozenset({S.DRAFT, S.SUBMITTED}) | _UNDER_REVIEW | {S.SUPPLEMENT_REQUESTED},
    Action.RATE: frozenset({S.DECIDED, S.RESULT_ISSUED, S.CLOSED}),
    Action.RECORD_VISIT: frozenset(set(S) - {S.DRAFT}),
}
# Where each action may lead (the rules pick one; the table makes sure it is a legal one).
LEADS_TO: dict[Action, frozenset[ApplicationStatus]] = {
    Action.EDIT: frozenset({S.DRAFT}),
    Action.SUBMIT: frozenset({S.SUBMITTED, S.ACCEPTED}),
    Action.ACCEPT: frozenset({S.ACCEPTED}),
    Action.REFUSE: frozenset({S.REFUSED}),
    Action.REVIEW: frozenset({S.IN_REVIEW}),
    Action.REQUEST_SUPPLEMENT: frozenset({S.SUPPLEMENT_REQUESTED}),
    Action.SUPPLEMENT: frozenset({S.SUPPLEMENT_REQUESTED}),
    Action.RESUBMIT: frozenset({S.RESUBMITTED}),
    Action.DECIDE: frozenset({S.DECIDED}),
    Action.ISSUE_RESULT: frozenset({S.RESULT_ISSUED}),
    Action.CLOSE: frozenset({S.CLOSED}),
    Action.WITHDRAW: frozenset({S.WITHDRAWN}),
    Action.RATE: frozenset({S.DECIDED, S.RESULT_ISSUED, S.CLOSED}),
    Action.RECORD_VISIT: frozenset(set(S) - {S.DRAFT}),
}
TERMINAL = frozenset({S.REFUSED, S.CLOSED, S.WITHDRAWN})
# Still open under its catalogue version (the impact counter of a catalogue change counts these).
OPEN = frozenset(set(S) - {S.DECIDED, S.RESULT_ISSUED, S.CLOSED, S.REFUSED, S.WITHDRAWN})

_ACTION_TEXT = {
    Action.EDIT: ("修改申请", "change the application"),
    Action.SUBMIT: ("提交申请", "submit the application"),
    Action.ACCEPT: ("受理", "accept the application"),
    Action.REFUSE: ("不予受理", "refuse the application"),
    Action.REVIEW: ("审查", "review the case"),
    Action.REQUEST_SUPPLEMENT: ("要求补正", "request a supplement"),
    Action.SUPPLEMENT: ("补正材料", "supplement materials"),
    Action.RESUBMIT: ("补正后重新提交", "resubmit after a supplement"),
    Action.DECIDE: ("作出决定", "decide the case"),
    Action.ISSUE_RESULT: ("领取结果", "issue the result"),
    Action.CLOSE: ("办结", "close the case"),
    Action.WITHDRAW: ("撤回申请", "withdraw the application"),
    Action.RATE: ("评价", "rate the case"),
    Action.RECORD_VISIT: ("登记到场", "record a visit"),
}
_STATUS_TEXT = {
    S.DRAFT: "草稿", S.SUBMITTED: "已提交待受理", S.ACCEPTED: "已受理", S.REFUSED: "不予受理", S.IN_REVIEW: "审查中",
    S.SUPPLEMENT_REQUESTED: "待补正", S.RESUBMITTED: "已补正", S.DECIDED: "已决定", S.RESULT_ISSUED: "结果已送达",
    S.CLOSED: "已办结", S.WITHDRAWN: "已撤回",
}


def can(status: ApplicationStatus, action: Action) -> bool:
    return status in ALLOWED_FROM[action]


def require(status: ApplicationStatus, action: Action) -> None:
    """409 `illegal_transition` naming the current state, when `action` may not start from `status`."""
    if not can(status, action):
        zh, en = _ACTION_TEXT[action]
        raise Conflict(f"当前状态为“{_STATUS_TEXT[status]}”，不能{zh}",
                       f"The case is {status.value.replace('_', ' ')}; cannot {en}",
                       code="illegal_transition", detail={"current_state": status.value, "action": action.value})


def move(status: ApplicationStatus, action: Action, to: ApplicationStatus) -> ApplicationStatus:
    """The state after `action`, checked against both tables (a rule that picks an illegal target is a bug)."""
    require(status, action)
    if to not in LEADS_TO[action]:
        raise AssertionError(f"{action} may not lead from {status} to {to}")
    return to
