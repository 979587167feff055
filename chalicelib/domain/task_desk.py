"""A department's work on its task (办理): claiming it and commenting on it.

Claiming records who in the department took the task; a task taken by someone else cannot be taken
again (409), the same claimant claiming twice changes nothing. Comments are the department's own
notes on the task, visible only to that department.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .applications import DepartmentTask, TaskStatus
from .errors import Conflict
from .ids import new_id

TASK_STATUSES = tuple(s.value for s in TaskStatus)
MAX_COMMENT_CHARS = 2000


class TaskComment(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    task_id: str
    department: str
    author: str
    text: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)
    created_at: str


def claim(task: DepartmentTask, claimant: str, now: datetime) -> DepartmentTask | None:
    """The claimed task, or None when `claimant` already holds it (nothing to write)."""
    if task.status is not TaskStatus.ASSIGNED:
        raise Conflict("该任务已作出决定，不能再认领", "This task has been decided and cannot be claimed",
                       code="task_already_decided")
    if task.claimed_by == claimant:
        return None
    if task.claimed_by is not None:
        raise Conflict("该任务已被他人认领", "Someone else has claimed this task", code="task_claimed_by_other")
    return task.model_copy(update={"claimed_by": claimant, "claimed_at": now.isoformat(timespec="milliseconds")})


def comment(task: DepartmentTask, author: str, text: str, now: datetime) -> TaskComment:
    return TaskComment(id=new_id("cmt_"), task_id=task.id, department=task.department, author=author,
                       text=text, created_at=now.isoformat(timespec="milliseconds"))
