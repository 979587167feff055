"""The event types OneTrip sends to departments, each with the JSON schema of its `data`.

Bodies are CloudEvents 1.0 in structured JSON mode and thin: ids, the item code and links to fetch
the details over the API with the department's own token (personal data never travels in a webhook).
This table feeds the OpenAPI document's `webhooks` section, so what is documented is what is sent.
"""

from __future__ import annotations

from typing import Any

_ID = {"type": "string", "maxLength": 64}
_LINK = {"type": "string", "description": "path under the API base URL", "maxLength": 256}
_CODE = {"type": "string", "maxLength": 64, "description": "the provincial base code (基本编码)"}
# The deadline sweep's two events carry the same data: the task, its case and the deadline.
_DEADLINE_DATA: dict[str, Any] = {
    "type": "object", "required": ["task_id", "application_id", "deadline"],
    "properties": {"task_id": _ID, "application_id": _ID, "case_number": _ID, "item_code": _ID,
                   "deadline": {"type": "string", "format": "date"},
                   "links": {"type": "object", "properties": {"task": _LINK}}}}

EVENT_TYPES: dict[str, dict[str, Any]] = {
    "onetrip.task.assigned": {
        "summary": "A task for this department: its share of an accepted case (受理), or a rectification (整改) "
                   "after a dissatisfied rating",
        "data": {"type": "object", "required": ["task_id", "application_id", "case_number", "item_code",
                                                "department", "deadline", "kind", "links"],
                 "properties": {"task_id": _ID, "application_id": _ID, "case_number": _ID, "item_code": _ID,
                                "item_version": {"type": "integer"}, "department": _ID, "base_code": _CODE,
                                "office": {"type": ["string", "null"], "description": "the town office holding it"},
                                "kind": {"enum": ["review", "rectification"]},
                                "deadline": {"type": "string", "format": "date"},
                                "links": {"type": "object", "properties": {"task": _LINK}}}},
    },
    "onetrip.task.supplemented": {
        "summary": "The applicant supplied what was asked for (补正); the clock resumes with the new deadline",
        "data": {"type": "object", "required": ["task_id", "application_id", "item_code", "round", "deadline"],
                 "properties": {"task_id": _ID, "application_id": _ID, "case_number": _ID, "item_code": _ID,
                                "round": {"type": "integer"}, "paused_working_days": {"type": "integer"},
                                "deadline": {"type": "string", "format": "date"},
                                "links": {"type": "object", "properties": {"task": _LINK}}}},
    },
    "onetrip.case.withdrawn": {
        "summary": "The applicant withdrew the case; stop working on its task",
        "data": {"type": "object", "required": ["application_id", "case_number", "item_code"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID}},
    },
    "onetrip.case.decided": {
        "summary": "Every department has decided; the case has its outcome",
        "data": {"type": "object", "required": ["application_id", "case_number", "item_code", "outcome"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID, "base_code": _CODE,
                                "outcome": {"enum": ["approved", "rejected"]},
                                "committed_days": {"type": "integer"}, "working_days_used": {"type": "integer"},
                                "on_time": {"type": "boolean"}, "supplement_rounds": {"type": "integer"},
                                "visits": {"type": "integer"}}},
    },
    "onetrip.case.accepted": {
        "summary": "A case was accepted (受理); sent to the provincial platform, under the item's base code",
        "data": {"type": "object", "required": ["application_id", "case_number", "item_code", "base_code"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID, "base_code": _CODE,
                                "committed_days": {"type": "integer"},
                                "deadline": {"type": "string", "format": "date"},
                                "departments": {"type": "array", "items": _ID}}},
    },
    "onetrip.case.result_issued": {
        "summary": "The case's result reached the applicant (download, mail or pick-up)",
        "data": {"type": "object", "required": ["application_id", "case_number", "method"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID, "base_code": _CODE,
                                "method": {"enum": ["download", "mail", "pickup"]}}},
    },
    "onetrip.case.closed": {
        "summary": "The case is closed (办结); sent to the provincial platform",
        "data": {"type": "object", "required": ["application_id", "case_number"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID, "base_code": _CODE}},
    },
    "onetrip.case.rated": {
        "summary": "The applicant rated the case (好差评), 5 = very satisfied; sent to the provincial platform",
        "data": {"type": "object", "required": ["application_id", "case_number", "level"],
                 "properties": {"application_id": _ID, "case_number": _ID, "item_code": _ID, "base_code": _CODE,
                                "level": {"type": "integer", "minimum": 1, "maximum": 5},
                                "rectification_task_id": {"type": ["string", "null"]}}},
    },
    "onetrip.task.deadline_warning": {
        "summary": "The task's deadline is the next working day",
        "data": _DEADLINE_DATA,
    },
    "onetrip.task.deadline_breached": {
        "summary": "The task's deadline has passed; the supervising admins are told too",
        "data": _DEADLINE_DATA,
    },
    "onetrip.endpoint.verification": {
        "summary": "Sent once when an endpoint is registered; answer 2xx to activate the endpoint",
        "data": {"type": "object", "required": ["endpoint_id", "department", "challenge"],
                 "properties": {"endpoint_id": _ID, "department": _ID, "challenge": {"type": "string"}}},
    },
}


def cloud_event_schema(event_type: str) -> dict[str, Any]:
    """The whole body of one webhook of this type (CloudEvents 1.0 structured JSON)."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "event id; the same in the pull API (`GET /v1/events`)"},
            "source": {"type": "string", "example": "/onetrip/prod"},
            "type": {"const": event_type},
            "subject": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "data": EVENT_TYPES[event_type]["data"],
        },
    }


WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` object: one POST per event type, signed as Standard Webhooks v1/v1a."""
    headers = [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}} for h in WEBHOOK_HEADERS]
    return {
        event_type: {"post": {
            "operationId": f"webhook_{event_type.replace('.', '_')}",
            "summary": spec["summary"],
            "description": "Verify `webhook-signature` over the raw body (Standard Webhooks v1 HMAC-SHA256, "
                           "or v1a ed25519 with the endpoint's public key); deduplicate on `webhook-id`. "
                           "2xx acknowledges; 408/409/429/5xx and timeouts (15 s) are retried for about "
                           "three days; 410 disables the endpoint; other 3xx/4xx are permanent failures.",
            "parameters": headers,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": cloud_event_schema(event_type)}}},
            "responses": {"2XX": {"description": "Received"}},
        }}
        for event_type, spec in EVENT_TYPES.items()
    }
