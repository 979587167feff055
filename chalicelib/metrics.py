"""Business metrics as CloudWatch embedded metric format (Powertools), flushed once per invocation.

Counted where the use case's outcome is known (a case accepted, a material rejected, a webhook
failed); `flush()` runs at the end of every invocation (chalicelib.entrypoints.telemetry), so a
warm container never carries one invocation's counts into the next. Powertools is imported on the
first count, not at import time (cold start). Dimensions: `service` and `stage` — the alarms in the
packaged template (infra/onetrip/package.py) select exactly these.
"""

from __future__ import annotations

import os
from typing import Any

NAMESPACE = "OneTrip"
_metrics: Any = None


def _registry() -> Any:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
                           service=os.environ.get("POWERTOOLS_SERVICE_NAME", "onetrip"))
        _metrics.set_default_dimensions(stage=os.environ.get("ONETRIP_STAGE", "local"))
    return _metrics


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Add to a count. Extra dimensions (e.g. reason=...) get their own EMF record right away, as
    EMF applies one dimension set to every metric of a record."""
    if not dimensions:
        _registry().add_metric(name=name, unit="Count", value=value)
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    registry = _registry()
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=registry.namespace,
                       default_dimensions={"service": registry.service, **registry.default_dimensions}) as metric:
        for key, dim in dimensions.items():
            metric.add_dimension(name=key, value=dim)


def flush() -> None:
    """Print the invocation's aggregated counts as one EMF record and clear them; nothing if none."""
    if _metrics is not None and _metrics.metric_set:
        _metrics.flush_metrics()
