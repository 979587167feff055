"""`verify_material`: S3 ObjectCreated notifications (via the upload queue) → verification verdicts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalice import Blueprint

from .. import metrics
from ..bootstrap import deps
from ..lazy import deferred
from ..observability import logger
from .batch import sqs_batch

if TYPE_CHECKING:
    from ..domain import applications
    from ..services import materials
else:
    applications = deferred("chalicelib.domain.applications")
    materials = deferred("chalicelib.services.materials")

uploads = Blueprint(__name__)


def _keys(body: str) -> list[str]:
    """Object keys in an S3 notification; the `s3:TestEvent` sent on configuration has none."""
    message = json.loads(body)
    return [unquote_plus(r["s3"]["object"]["key"]) for r in message.get("Records", [])
            if r.get("eventName", "").startswith("ObjectCreated")]


def _handle(record: Any) -> bool:
    for key in _keys(record.body):
        parsed = applications.parse_material_key(key)
        if parsed:
            logger.append_keys(application_id=parsed[0])
        result = materials.verify_material(deps(), key)
        if result.outcome == "rejected":
            for reason in result.problem_codes or ("unspecified",):
                metrics.count("MaterialsRejected", reason=reason)
        logger.info("material_checked", extra={"outcome": result.outcome, "reason": result.reason,
                                               "problems": list(result.problem_codes),
                                               "notices": list(result.notice_codes),
                                               "verdict_reused_from": result.reused_from})
    return True


# The queue name is a placeholder: the packaged template binds the real upload queue's ARN.
@uploads.on_sqs_message(queue="onetrip-uploads", batch_size=10)
def verify_material(event: Any) -> dict[str, Any]:
    return sqs_batch(event, _handle, "uploads")
