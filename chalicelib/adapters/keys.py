"""Every key of the single table, built in one place. Keys carry ids and codes, never personal data."""

from __future__ import annotations

CATALOGUE_INDEX = "CATALOGUE"


def item_latest(code: str) -> dict[str, str]:
    return {"pk": f"ITEM#{code}", "sk": "LATEST"}


def item_version(code: str, version: int) -> dict[str, str]:
    return {"pk": f"ITEM#{code}", "sk": f"V#{version:06d}"}


def department(code: str) -> dict[str, str]:
    return {"pk": f"DEPT#{code}", "sk": "PROFILE"}


def endpoint(department_code: str, endpoint_id: str) -> dict[str, str]:
    return {"pk": f"DEPT#{department_code}", "sk": f"EP#{endpoint_id}"}


ENDPOINT_PREFIX = "EP#"


def identity(sub: str) -> dict[str, str]:
    return {"pk": f"USER#{sub}", "sk": "IDENTITY"}


def application(app_id: str) -> dict[str, str]:
    return {"pk": f"APP#{app_id}", "sk": "APP"}


def owner_index(owner_sub: str) -> str:
    return f"OWNER#{owner_sub}"


def task(task_id: str) -> dict[str, str]:
    return {"pk": f"TASK#{task_id}", "sk": "TASK"}


def inbox_index(department_code: str) -> str:
    return f"INBOX#{department_code}"


def outbox_event(app_id: str, event_id: str) -> dict[str, str]:
    return {"pk": f"APP#{app_id}", "sk": f"EVT#{event_id}"}


OUTBOX_PREFIX = "EVT#"


def delivery(webhook_id: str) -> dict[str, str]:
    return {"pk": f"DLV#{webhook_id}", "sk": "DLV"}
