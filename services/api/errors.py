"""One error shape for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.api.deps import current_user
from shared.errors import AppError, ValidationFailed

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


ERROR_EXAMPLE: dict[str, Any] = {"code": "not_found", "message": "Project not found", "details": None}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ERROR_EXAMPLE]})

    code: str = Field(description="Machine-readable error code, e.g. `not_found` or `validation_error`")
    message: str = Field(description="Human-readable explanation")
    details: Any = Field(
        default=None,
        description="More about the error, or null; for `validation_error` a list of `{loc, msg, type}`",
    )


class ErrorBody(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"error": ERROR_EXAMPLE}]})

    error: ErrorDetail = Field(description="What went wrong")


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append({"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")})
    return out


def _nul_locations(value: Any, root: tuple[str | int, ...]) -> list[list[str | int]]:
    """Where a NUL character hides in parsed JSON (keys and strings, at any depth). Iterative: a
    body nested thousands deep must not overflow the stack here."""
    found: list[list[str | int]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(root, value)]
    while stack and len(found) < 20:
        loc, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(list(loc))
        elif isinstance(item, dict):
            for k, v in item.items():
                if "\x00" in k:
                    found.append([*loc, k])
                stack.append(((*loc, k), v))
        elif isinstance(item, list):
            stack.extend(((*loc, i), v) for i, v in enumerate(item))
    return found


_QUERY_NAMES: dict[int, set[str]] = {}


def _query_names(route: APIRoute) -> set[str]:
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = {f.alias for d in _walk(route.dependant) for f in d.query_params}
        _QUERY_NAMES[id(route)] = names
    return names


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: a NUL character in a query parameter, a path segment or anywhere in
    a JSON body is a 422. PostgreSQL cannot store NUL in ``text`` (the insert fails and the API
    answered 500); refusing it here, once for every route, means no field can be forgotten."""
    locs: list[list[str | int]] = []
    route = request.scope.get("route")
    # Only parameters the route reads: a stray ``?x=%00`` on /healthz harms nothing.
    declared = _query_names(route) if isinstance(route, APIRoute) else set()
    for name, value in request.query_params.multi_items():
        if name in declared and "\x00" in value:
            locs.append(["query", name])
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            locs.append(["path", name])
    for name in ("idempotency-key",):
        if "\x00" in request.headers.get(name, ""):
            locs.append(["header", name])
    content_type = request.headers.get("content-type", "")
    if request.method not in ("GET", "HEAD", "DELETE", "OPTIONS") and (
        not content_type or "json" in content_type.split(";")[0]
    ):
        try:
            # Cached by Starlette: the route reads the same parsed body, nothing is parsed twice.
            body = await request.json() if await request.body() else None
        except StarletteHTTPException:
            raise  # 413 from the body limit
        except Exception:
            body = None  # not JSON: the route's own validation answers (400 malformed_json)
        locs.extend(_nul_locations(body, ("body",)))
    if locs:
        raise ValidationFailed(
            "Text may not contain the NUL character (\\u0000)",
            details=[
                {"loc": loc, "msg": "NUL character not allowed", "type": "nul_character"} for loc in locs
            ],
        )


def allowed_methods(request: Request) -> set[str]:
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    return methods


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(exc)
        malformed = any(e["type"] == "json_invalid" for e in errors)
        if malformed:
            return error_response(400, "malformed_json", "The request body is not valid JSON", errors)
        return error_response(422, "validation_error", "The request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "No such route"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a path served by
            # several routes (GET, PATCH and DELETE of one id) allows all of theirs.
            headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
        return error_response(exc.status_code, code, message, headers=headers or None)

    # Unexpected exceptions are answered by RequestContextMiddleware (see its module docstring).


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request body",
    401: "Missing or invalid token",
    403: "Forbidden",
    404: "Not found, or not yours",
    409: "Conflict with the current state",
    412: "`If-Match` does not match the current ETag",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error",
    503: "A dependency is down",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: the statuses its own logic answers besides those
    ``document_errors`` derives from its shape (e.g. 409 on a stage lock, 415 on an upload)."""
    return {s: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    stack = [dependant]
    while stack:
        d = stack.pop()
        yield d
        stack.extend(d.dependencies)


def derived_statuses(route: APIRoute) -> set[int]:
    """The error statuses a route answers because of its shape, whatever its logic does:
    422 when it takes any input, 400 when it reads a body, 413 on every method the body limit
    applies to, 401 when it needs a token, 404 when a path segment names something."""
    parts = list(_walk(route.dependant))
    out: set[int] = set()
    if any(d.path_params or d.query_params or d.header_params or d.body_params for d in parts):
        out.add(422)
    if route.body_field is not None:
        out.add(400)
    if set(route.methods or ()) & {"POST", "PUT", "PATCH"}:
        out.add(413)
    if any(d.call is current_user for d in parts):
        out.add(401)
    if any(d.path_params for d in parts):
        out.add(404)
    return out


def document_errors(routers: Iterable[APIRouter]) -> None:
    """Document on each route the error statuses it really answers (and none it does not): the
    derived ones plus those its decorator lists. Run on the routers before the app includes them
    (FastAPI builds each included route's OpenAPI fields from the route's ``responses``).
    Idempotent: every app built in a process shares these router objects."""
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            for status in sorted(derived_statuses(route) - set(route.responses)):
                route.responses[status] = {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
