"""Every key of the single table, built in one place. Keys carry ids and codes, never personal data."""

from __future__ import annotations

CATALOGUE_INDEX = "CATALOGUE"


def item_latest(code: str) -> dict[str, str]:
    return {"pk": f"ITEM#{code}", "sk": "LATEST"}


def item_version(code: str, version: int) -> dict[str, str]:
    return {"pk": f"ITEM#{code}", "sk": f"V#{version:06d}"}


def item_draft(code: str) -> dict[str, str]:
    return {"pk": f"ITEM#{code}", "sk": "DRAFT"}


DRAFTS_INDEX = "DRAFTS"


def item_open_counter(code: str, version: int) -> dict[str, str]:
    """Aggregate: applications and cases not yet decided under one published version (impact of a change)."""
    return {"pk": f"ITEM#{code}", "sk": f"OPEN#V#{version:06d}"}


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


# The inbox sort key starts with a rank per task status, so `?status=` is a begins_with on one key and
# the whole inbox (descending) shows open work first, newest first within each status.
INBOX_RANK = {"assigned": "2", "decided": "1"}


def inbox_sort(status: str, task_id: str) -> str:
    return f"{INBOX_RANK[status]}#{task_id}"


def task_comment(task_id: str, comment_id: str) -> dict[str, str]:
    return {"pk": f"TASK#{task_id}", "sk": f"CMT#{comment_id}"}


COMMENT_PREFIX = "CMT#"
DEPARTMENTS_INDEX = "DEPARTMENTS"


def delivery_attempt(webhook_id: str, generation: int, attempt: int) -> dict[str, str]:
    # "LOG#…" sorts after the state record's "DLV": the state is the first item of the partition.
    return {"pk": f"DLV#{webhook_id}", "sk": f"LOG#{generation:04d}#{attempt:04d}"}


ATTEMPT_PREFIX = "LOG#"


def deliveries_index(department_code: str) -> str:
    return f"DLVS#{department_code}"


def endpoint_health(endpoint_id: str) -> dict[str, str]:
    return {"pk": f"EPH#{endpoint_id}", "sk": "HEALTH"}


def due_shard(webhook_id: str) -> int:
    import zlib

    from ..domain.deliveries import DUE_SHARDS

    return zlib.crc32(webhook_id.encode()) % DUE_SHARDS


def due(shard: int, token: str) -> dict[str, str]:
    return {"pk": f"DUE#{shard}", "sk": token}


def due_token(due_epoch_ms: int, message_id: str) -> str:
    return f"{due_epoch_ms:013d}#{message_id}"


def feed(department_code: str, event_id: str) -> dict[str, str]:
    """A department's copy of an event addressed to it (the missed-events pull), written with the event."""
    return {"pk": f"FEED#{department_code}", "sk": event_id}


def outbox_event(app_id: str, event_id: str) -> dict[str, str]:
    return {"pk": f"APP#{app_id}", "sk": f"EVT#{event_id}"}


OUTBOX_PREFIX = "EVT#"


def delivery(webhook_id: str) -> dict[str, str]:
    return {"pk": f"DLV#{webhook_id}", "sk": "DLV"}


def identity_index(purpose: str, index: str) -> dict[str, str]:
    """Blind-index claim: which subject holds this ID number (the key is an HMAC, never the number)."""
    return {"pk": f"IDX#{purpose}#{index}", "sk": "IDX"}


def registry_entry(index: str) -> dict[str, str]:
    """Local stage only: the reference registry of demo people, keyed by HMAC of ID number and name."""
    return {"pk": f"REGISTRY#{index}", "sk": "REGISTRY"}


def enterprise(enterprise_id: str) -> dict[str, str]:
    return {"pk": f"ENT#{enterprise_id}", "sk": "PROFILE"}


def authorization(agent_sub: str, enterprise_id: str) -> dict[str, str]:
    """Under the agent's user key: "which enterprises may I act for" is one Query."""
    return {"pk": f"USER#{agent_sub}", "sk": f"AUTH#{enterprise_id}"}


AUTHORIZATION_PREFIX = "AUTH#"
