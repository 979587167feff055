"""The route helper every API module uses: authorization by principal kind, strict body parsing,
one error format, and a route table from which the OpenAPI document and the authorization tests
are generated (so a new route cannot escape either).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from ..bootstrap import deps
from ..domain.errors import Forbidden, MalformedRequest, OneTripError, Problem, ValidationFailed
from ..domain.principals import Principal, PrincipalKind, Scope
from ..domain.rate_limits import DEFAULT_CLASS, ROUTE_CLASSES
from ..lazy import deferred
from ..observability import logger
from .errors import INTERNAL_ERROR, error_body, problems_from_validation, status_for

if TYPE_CHECKING:
    from ..services import rate_limits
else:
    rate_limits = deferred("chalicelib.services.rate_limits")

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
MAX_BODY_BYTES = 64 * 1024


# A route's body or response model, or a function that returns it: a route module then need not import
# its schemas (and build their classes) when app.py registers it, only when the route is first used.
ModelRef = type[BaseModel] | Callable[[], type[BaseModel]]


def _model(ref: ModelRef | None) -> type[BaseModel] | None:
    return ref if ref is None or isinstance(ref, type) else ref()


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    kinds: frozenset[PrincipalKind] | None  # None: public
    scope: Scope | None = None
    body_ref: ModelRef | None = None
    response_ref: ModelRef | None = None
    status: int = 200
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = field(default=())
    rate_class: str = DEFAULT_CLASS  # chalicelib/domain/rate_limits.py

    @property
    def body(self) -> type[BaseModel] | None:
        return _model(self.body_ref)

    @property
    def response(self) -> type[BaseModel] | None:
        return _model(self.response_ref)


ROUTES: list[RouteSpec] = []


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers=dict(JSON_HEADERS))


def error_response(error: OneTripError) -> Response:
    response = json_response(error_body(error), status_for(error))
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def parse_body(model: type[BaseModel], raw: str | bytes | None) -> Any:
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise ValidationFailed(problems=[Problem("body_too_large", "请求体过大", "The request body is too large",
                                                 "body", {"max_bytes": MAX_BODY_BYTES})])
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest() from exc
    if not isinstance(data, dict):
        raise ValidationFailed(problems=[Problem("body_not_object", "请求体必须是 JSON 对象",
                                                 "The request body must be a JSON object", "body")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(problems=problems_from_validation(exc)) from exc


def current_principal(bp: Blueprint, kinds: frozenset[PrincipalKind], scope: Scope | None = None) -> Principal:
    context = bp.current_request.context.get("authorizer") or {}
    principal = Principal.from_context(context)
    if principal.kind not in kinds:
        raise Forbidden(f"此操作仅限：{', '.join(sorted(kinds))}", f"Only for: {', '.join(sorted(kinds))}",
                        code="principal_kind_not_allowed")
    if scope is not None and scope not in principal.scopes:
        raise Forbidden(f"缺少权限范围 {scope.value}", f"Missing scope {scope.value}", code="scope_missing",
                        detail={"scope": scope.value})
    return principal


def api_route(bp: Blueprint, method: str, path: str, *, summary: str, kinds: frozenset[PrincipalKind] | None,
              scope: Scope | None = None, authorizer: Any = None, body: ModelRef | None = None,
              response: ModelRef | None = None, status: int = 200, query: tuple[str, ...] = (),
              rate_class: str = DEFAULT_CLASS,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON route. The view receives (principal, body, **url_params) and returns a dict."""
    if rate_class not in ROUTE_CLASSES:  # a typo would silently mean "no limit"
        raise ValueError(f"unknown rate class {rate_class!r} on {method} {path}")
    spec = RouteSpec(method, path, summary, kinds, scope, body, response, status, query, rate_class=rate_class)
    ROUTES.append(spec)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        def handler(**params: str) -> Response:
            try:
                principal = current_principal(bp, kinds, scope) if kinds is not None else None
                if principal is not None:
                    rate_limits.admit(deps(), principal, rate_class)  # one conditional write, when limits are on
                model = spec.body
                parsed = parse_body(model, bp.current_request.raw_body) if model is not None else None
                result = view(principal, parsed, **params)
                # A view that needs its own headers (ETag, caching, 304) returns a Response itself.
                return result if isinstance(result, Response) else json_response(result, status)
            except OneTripError as error:
                logger.info("request_refused", extra={"code": error.code, "route": path})
                return error_response(error)
            except Exception:
                logger.exception("request_failed", extra={"route": path})
                return json_response(INTERNAL_ERROR, 500)

        handler.__name__ = view.__name__
        route_kwargs: dict[str, Any] = {"methods": [method]}
        if kinds is not None:
            route_kwargs["authorizer"] = authorizer
            # Deployed, the gateway reads the usage-plan key from the authorizer (usage plans per
            # principal kind and per department); locally nothing checks it.
            route_kwargs["api_key_required"] = True
        if body is not None:
            route_kwargs["content_types"] = ["application/json"]
        bp.route(path, **route_kwargs)(handler)
        return view

    return decorator


def page_params(bp: Blueprint) -> tuple[int, str | None]:
    """`limit` (1–100, default 20) and the opaque `cursor` of a paginated list."""
    query = dict(bp.current_request.query_params or {})
    raw_limit = query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise ValidationFailed(problems=[Problem("limit_invalid", "limit 必须是 1 到 100 的整数",
                                                 "limit must be an integer from 1 to 100", "limit")])
    cursor = query.get("cursor")
    if cursor is not None and len(cursor) > 2048:
        raise ValidationFailed(problems=[Problem("cursor_invalid", "分页游标无效", "The page cursor is invalid",
                                                 "cursor")])
    return int(raw_limit), cursor


# Chalice answers a few requests itself, before any view runs; they get the API's error format too.
_CHALICE_ERRORS = {
    "UnsupportedMediaType": ("unsupported_media_type", "请求体必须是 application/json",
                             "The request body must be application/json"),
    "MethodNotAllowedError": ("method_not_allowed", "该地址不支持此方法", "This method is not allowed here"),
    "BadRequest": ("bad_request", "请求无效", "The request is not valid"),
}


def uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: rewrite Chalice's own error bodies into `{code, message_zh, message_en}`."""
    response = get_response(event)
    if response.status_code < 400 or not isinstance(response.body, dict):
        return response
    mapped = _CHALICE_ERRORS.get(str(response.body.get("Code")))
    if mapped is None:
        return response
    code, zh, en = mapped
    fixed = json_response({"code": code, "message_zh": zh, "message_en": en}, response.status_code)
    fixed.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
    return fixed


def fresh_log_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every invocation starts with clean log keys (a warm container must not carry the last one's)."""
    logger.clear_state()
    return get_response(event)
