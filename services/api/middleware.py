"""Pure ASGI middleware: request id + access log + Prometheus timings + the last-resort 500, and a
body-size limit.

Pure ASGI rather than BaseHTTPMiddleware so streaming responses (SSE) and bodies pass through
without buffering.

The catch-all for unexpected exceptions lives here, not in an ``exception_handler(Exception)``:
Starlette runs that handler in its ServerErrorMiddleware, outside every user middleware, so the
request id was already unbound (no id in the log line nor in the response) and the exception was
re-raised to the server, which then closed the keep-alive connection. Answering here keeps the id
on both and lets the connection serve the next request."""

from __future__ import annotations

import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import error_response

log = structlog.get_logger()

REQUESTS = Counter("filmassets_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "filmassets_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.replace("-", "").isalnum() and incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_wrapper(message)

        try:
            try:
                await self.app(scope, receive, send_tracking)
            except Exception as exc:
                log.exception("api.request.crashed", error=repr(exc), method=scope["method"])
                if started:
                    # Headers are gone (a stream broke half-way): only the server can end it.
                    raise
                await error_response(500, "internal_error", "Something went wrong on our side")(
                    scope, receive, send_wrapper
                )
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(status)).inc()
            LATENCY.labels(scope["method"], path).observe(elapsed)
            if path not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "api.request.completed",
                    method=scope["method"],
                    route=path,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before reading them into memory. Upload routes get
    their own, larger limit."""

    def __init__(self, app: ASGIApp, *, default_limit: int, upload_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].endswith("/upload") else self.default_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(
                413, "payload_too_large", f"The request body exceeds {limit} bytes", {"limit": limit}
            )(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge as exc:
            await error_response(
                413, "payload_too_large", f"The request body exceeds {exc.limit} bytes", {"limit": exc.limit}
            )(scope, receive, send)


class _TooLarge(HTTPException):
    # An HTTPException so FastAPI's body reader re-raises it instead of turning it into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes")
        self.limit = limit
