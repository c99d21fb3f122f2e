"""A lean path for the reads a page polls (and for the job pipeline's probe), beside FastAPI's full
handling of the same route.

A polled read (a carousel, a scene's assets, a timeline) returns a few rows, and most of its CPU
was the machinery around them: FastAPI's routing and its resolution of half a dozen dependencies
(bearer, user, session, ownership, settings, storage, the app-wide NUL check), the session's
transaction, and SQLAlchemy's per-statement cost (``bench/bench_api.py`` has the profile).

A route that carries a ``@lean(fn)`` decorator is first offered to ``fn`` by ``LeanLane``, the
innermost middleware, with what it needs read straight off the request (``LeanRead``). ``fn``
answers the common case, a valid caller asking for something that exists, with statements on the
driver connection (``shared/db_raw.py``) that check the ownership too.

Anything else raises ``Fallback`` and FastAPI's full handler answers instead: no bearer token, a
malformed id or query parameter, a project or asset that is not found, a read that would have to
write. Errors therefore come from exactly one place, with the same codes, shapes and messages as
before, and the declared endpoint still documents the route in OpenAPI. A lean function must
answer exactly what the full handler would (``tests/support/lean.py`` compares the bytes for every
lean route), and only read, with one exception: ``POST /v1/jobs/ping`` without a body, whose only
write is the job row (one statement, then the outbox push: ``shared.jobs.service.insert_job_alone``).
A lean function that writes hands over (``Fallback``, an ``AppError``) only before its write: the
full handler would write again. Any other error of a writing one is the last-resort 500.
``FILMASSETS_LEAN_READS=false`` turns every lean path off.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from fastapi import Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.outages import database_unavailable_response
from shared.auth import decode_token
from shared.config import Settings
from shared.db import is_outage
from shared.errors import AppError
from shared.storage.base import Storage

log = structlog.get_logger()

# How often each lean route answered, and how often the full handler did (refusals, not-founds,
# writes on read, lean reads switched off): a high fallback share means the lean path is not paying.
LEAN_READS = Counter(
    "filmassets_lean_reads_total",
    "Requests on a lean route (polled reads, the ping) by who answered",
    ["route", "outcome"],
)


class Fallback(Exception):
    """The lean path does not answer this request: the full handler does."""


class LeanRead:
    """What a lean read needs, taken off the request without FastAPI's dependency resolution."""

    __slots__ = ("engine", "request", "settings", "storage", "user")

    def __init__(self, request: Request, user: uuid.UUID) -> None:
        state = request.app.state
        self.request = request
        self.user = user
        self.settings: Settings = state.settings
        self.storage: Storage = state.storage
        self.engine = state.engine

    def uuid(self, name: str) -> uuid.UUID:
        """A path parameter as a UUID: the ``{x:uuid}`` convertor already made one; a plain
        ``{pid}`` is text, taken only in the canonical spelling. Python's ``UUID()`` also reads
        braces, a ``urn:uuid:`` prefix and hyphens anywhere, which pydantic refuses (422) or reads
        differently: any other spelling goes to the full handler."""
        value = self.request.path_params[name]
        if isinstance(value, uuid.UUID):
            return value
        try:
            parsed = uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise Fallback from None
        if str(parsed) != value:
            raise Fallback
        return parsed

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def int_query(self, name: str, default: int, *, low: int, high: int) -> int:
        """An integer query parameter within [low, high]; anything else is the full handler's 422."""
        raw = self.query(name)
        if raw is None:
            return default
        # int() also takes " 7", "+7" and "7_0", which pydantic's lax mode may read differently;
        # and refuses over 4300 digits (ValueError). Ours are int32 at most.
        if not raw.isdigit() or not raw.isascii() or len(raw) > 10:
            raise Fallback
        value = int(raw)
        if not low <= value <= high:
            raise Fallback
        return value

    def choice(self, name: str, default: str | None, allowed: Collection[str]) -> str | None:
        raw = self.query(name)
        if raw is None:
            return default
        if raw not in allowed:
            raise Fallback
        return raw


LeanFn = Callable[[LeanRead], Awaitable[Response]]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_ATTR = "__lean_read__"


def lean(fast: LeanFn) -> Callable[[_Endpoint], _Endpoint]:
    """Put under the route decorator of a GET route (or the ping's POST): ``fast`` answers its common
    case."""

    def attach(endpoint: _Endpoint) -> _Endpoint:
        setattr(endpoint, _ATTR, fast)
        return endpoint

    return attach


def lean_of(endpoint: Callable[..., Any] | None) -> LeanFn | None:
    fast: LeanFn | None = getattr(endpoint, _ATTR, None)
    return fast


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


# The methods of lean routes: every other request goes straight on.
_METHODS = frozenset({"GET", "POST"})


class LeanLane:
    """ASGI middleware, innermost: requests on a route with a ``@lean`` function are answered by
    it before FastAPI's routing runs; every other request, and every one the function hands over
    (``Fallback``, an ``AppError``, or for a read any error), goes on to the app unchanged.

    Why in front of the router: FastAPI 0.16x matches a request against each included router's
    routes in turn, twice for the router that holds it, with bookkeeping per candidate; for a
    carousel that was ~0.15 ms of the ~0.7 ms a request cost. The lane tries the few lean routes'
    own compiled patterns instead. It answers only when every path parameter is a UUID, so no
    route with a literal segment there can be shadowed; ``tests/api/test_lean.py`` checks that
    FastAPI itself routes each lean route's paths to that same route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lanes: list[_Lane] | None = None

    def _build(self, scope: Scope) -> list[_Lane]:
        # Built on first use: routes are all included by then (middleware is built before).
        lanes = []
        for ctx in iter_route_contexts(scope["app"].router.routes):
            fast = lean_of(ctx.endpoint)
            route = ctx.original_route
            if fast is not None and isinstance(route, APIRoute) and route.methods:
                lanes.append(
                    _Lane(
                        route=route,
                        methods=frozenset(route.methods),
                        fast=fast,
                        answered=LEAN_READS.labels(route.path, "answered"),
                        handed_over=LEAN_READS.labels(route.path, "fallback"),
                        failed=LEAN_READS.labels(route.path, "error"),
                    )
                )
        return lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        lanes = self._lanes
        if lanes is None:
            lanes = self._lanes = self._build(scope)
        path, method = scope["path"], scope["method"]
        for lane in lanes:
            if method not in lane.methods:
                continue
            match = lane.route.path_regex.match(path)
            if match is None:
                continue
            response = await lane.answer(scope, receive, match.groupdict())
            if response is None:
                break
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _Lane:
    route: APIRoute
    methods: frozenset[str]
    fast: LeanFn
    # Counters bound to the route once (labels() per request costs more than inc()).
    answered: Any
    handed_over: Any
    failed: Any

    async def answer(self, scope: Scope, receive: Receive, raw_params: dict[str, str]) -> Response | None:
        """The lean answer, or None for the full handler."""
        convertors = self.route.param_convertors
        try:
            params = {name: convertors[name].convert(value) for name, value in raw_params.items()}
        except (ValueError, KeyError):
            params = None
        # What FastAPI's routing would have put in the scope (the access log and metrics read it).
        scope["route"] = self.route
        scope["endpoint"] = self.route.endpoint
        scope["path_params"] = params if params is not None else raw_params
        read = _lean_read(Request(scope, receive)) if params is not None else None
        if read is None:
            self.handed_over.inc()
            return None
        try:
            response = await self.fast(read)
        except (Fallback, AppError):
            # An AppError (a 404, a 409) is the full handler's to answer, with its exact message.
            self.handed_over.inc()
            return None
        except Exception as exc:
            if is_outage(exc):
                # The full handler's answer, without waiting on the pool or the connect timeout a
                # second time (the 503 would take twice as long, and two connection attempts).
                self.handed_over.inc()
                return database_unavailable_response(exc)
            # Logged here so a lean path that keeps failing is seen.
            self.failed.inc()
            log.warning("api.lean.failed", route=self.route.path, error=repr(exc))
            if scope["method"] != "GET":
                # A writing lean path (the ping) may have written before it failed: running the
                # full handler too could write twice (a second job). The last-resort 500 answers.
                raise
            # A read: the full handler runs the same request again, a bug becomes its 500 with
            # the request id.
            return None
        self.answered.inc()
        return response


def _lean_read(request: Request) -> LeanRead | None:
    if not request.app.state.settings.lean_reads:
        return None
    # A keyed request is the idempotency layer's to replay, and the app-wide NUL check reads this
    # header on every method: the full handler keeps both rules.
    if "idempotency-key" in request.headers:
        return None
    # The app-wide NUL check refuses a NUL in any value of a declared parameter, repeated ones
    # included, where a lean function reads the last value only.
    if b"%00" in request.scope.get("query_string", b""):
        return None
    token = _bearer(request)
    if token is None:
        return None
    try:
        user = decode_token(token, request.app.state.settings)
    except AppError:
        return None  # the full handler answers the same 401
    return LeanRead(request, user)
