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
    """The department's inbox as one list (the name its page cursors carry); stored across shards."""
    return f"INBOX#{department_code}"


# A department's inbox (gsi1) and event feed (table) are each written across this many partition keys,
# so neither key sees more than a quarter of the department's writes (DynamoDB allows 1,000 write
# units/s per key, per index too; a task write is ~2 units on the inbox). A page reads every shard in
# parallel (adapters/sharded.py). Changing it re-homes every stored task and feed entry: a migration.
INBOX_SHARDS = 4
FEED_SHARDS = 4


def shard_of(item_id: str, shards: int) -> int:
    import zlib

    return zlib.crc32(item_id.encode()) % shards


def inbox_shard(department_code: str, task_id: str) -> str:
    return f"INBOX#{department_code}#{shard_of(task_id, INBOX_SHARDS)}"


def inbox_shards(department_code: str) -> list[str]:
    return [f"INBOX#{department_code}#{n}" for n in range(INBOX_SHARDS)]


# The inbox sort key starts with a rank per task status, so `?status=` is a begins_with on one key and
# the whole inbox (descending) shows open work first, newest first within each status.
# Open work to do ranks highest, then work waiting on the applicant, then what is done.
INBOX_RANK = {"assigned": "4", "supplement_requested": "3", "decided": "2", "cancelled": "1"}


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
    """A department's copy of an event addressed to it (the missed-events pull), written with the event,
    in one of the department's feed shards."""
    return {"pk": f"FEED#{department_code}#{shard_of(event_id, FEED_SHARDS)}", "sk": event_id}


def feed_shards(department_code: str) -> list[str]:
    return [f"FEED#{department_code}#{n}" for n in range(FEED_SHARDS)]


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


def stats(period: str, item_code: str) -> dict[str, str]:
    """Statistics aggregate of one item in one period (`YYYY-MM` or `all`): a period's items are one
    partition, so the report reads them with one Query (bounded by the catalogue, ~1–2k items)."""
    return {"pk": f"STATS#{period}", "sk": f"ITEM#{item_code}"}


STATS_ITEM_PREFIX = "ITEM#"


def stats_applied(event_id: str) -> dict[str, str]:
    """Marker: this event was added to the statistics (a redelivered event adds nothing)."""
    return {"pk": f"PROJ#{event_id}", "sk": "STATS"}


def rate_counter(subject: str, rate_class: str, window_start: int) -> dict[str, str]:
    """One principal's request counter for one window of one route class (subject: `sub:`/`client:` id)."""
    return {"pk": f"RATE#{subject}", "sk": f"{rate_class}#{window_start:010d}"}


def deadline_watch(day: str, task_id: str) -> dict[str, str]:
    """An open task watched by the deadline sweep, under its deadline date: the sweep reads a few days'
    partitions, never the whole inbox."""
    return {"pk": f"DEADLINE#{day}", "sk": task_id}


# The case's audit trail (issue 4), under the application's partition: entry n (the chain's head is
# kept on the application record itself, moved in the same transaction).
def audit_entry(app_id: str, seq: int) -> dict[str, str]:
    return {"pk": f"APP#{app_id}", "sk": f"AUDIT#E#{seq:010d}"}


AUDIT_ENTRY_PREFIX = "AUDIT#E#"


def notification(app_id: str, position: str) -> dict[str, str]:
    """The applicant's notification of one event at its position (time, lifecycle rank, event id): the
    newest-first list is one Query."""
    return {"pk": f"APP#{app_id}", "sk": f"NTF#{position}"}


NOTIFICATION_PREFIX = "NTF#"


# -- once-only (issue 7): vault, e-certificates, access log. `owner` is `sub:<subject>` or `ent:<id>`.
def vault_entry(owner: str, material: str, sha256: str) -> dict[str, str]:
    """One verified content of one material in its owner's vault: the whole vault is one Query."""
    return {"pk": f"VAULT#{owner}", "sk": f"MAT#{material}#{sha256}"}


VAULT_PREFIX = "MAT#"


def certificate(certificate_id: str) -> dict[str, str]:
    return {"pk": f"CERT#{certificate_id}", "sk": "CERT"}


def certificate_holder_index(holder_index: str) -> str:
    """gsi1 partition of a holder's certificates (the blind index of the ID number or credit code)."""
    return f"HOLDER#{holder_index}"


def certificate_number(number_index: str) -> dict[str, str]:
    """Claim of one certificate number at one issuer for one type (the key is an HMAC, never the number)."""
    return {"pk": f"CERTNO#{number_index}", "sk": "CERTNO"}


def access_record(owner: str, at: str, record_id: str) -> dict[str, str]:
    """Consent receipts and access records of one owner by time (UTC ISO) and id: newest first is one Query."""
    return {"pk": f"ACCESS#{owner}", "sk": f"REC#{at}#{record_id}"}


ACCESS_PREFIX = "REC#"


def alert_contact(contact_key: str) -> dict[str, str]:
    """A contact subscribed to the delivery alerts (the key is a hash of the address, never the address)."""
    return {"pk": f"ALERTS#{contact_key}", "sk": "CONTACT"}
