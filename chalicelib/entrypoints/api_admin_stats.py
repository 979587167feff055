"""`GET /v1/admin/stats?month=YYYY-MM&item_code=`: the statistics of cases, for supervising admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from ..bootstrap import deps
from ..domain.principals import Principal, PrincipalKind, Scope
from ..lazy import deferred
from .auth import jwt_authorizer
from .http import api_route

if TYPE_CHECKING:
    from ..services import statistics
    from . import stats_schemas
else:
    stats_schemas = deferred("chalicelib.entrypoints.stats_schemas")
    statistics = deferred("chalicelib.services.statistics")

admin_stats = Blueprint(__name__)


@api_route(admin_stats, "GET", "/v1/admin/stats",
           summary="Statistics of cases for a month (default: this month; `all` since the start), every item "
                   "or one: volume and top-20 share, on-time rate, working days against committed, supplement "
                   "rounds, one-trip rate, satisfaction, open rectifications",
           kinds=frozenset({PrincipalKind.ADMIN}), scope=Scope.CASES_SUPERVISE, authorizer=jwt_authorizer,
           response=lambda: stats_schemas.StatsReport, query=("month", "item_code"))
def get_stats(_principal: Principal, _body: None) -> dict[str, Any]:
    query: dict[str, str] = dict(admin_stats.current_request.query_params or {})
    return statistics.statistics_report(deps(), query.get("month"), query.get("item_code"))
