"""A fake Anthropic Messages API on loopback, close enough to the wire format that the real SDK runs.

``POST /v1/messages`` checks the API key (``x-api-key``, or ``Authorization: Bearer`` as the
2.x SDK sends it) and ``anthropic-version``, validates what the real API is strict about (see
``anthropic_wire``: forced tool exists, every ``tool_use`` answered by a ``tool_result`` in the
next user turn, at most 4 ``cache_control`` breakpoints, object input schemas), and answers with
a ``tool_use`` or ``text`` block from a programmable responder (default: schema-valid input for
the forced tool, see ``schema_sample``).

Token accounting (``usage``) models prompt caching:

* every block counts ``ceil(len(text) / 4)`` tokens (tool definitions and tool inputs as JSON,
  images as ``w * h / 750`` after the API's downscaling, 1500 when the size cannot be read);
* blocks are laid out in the API's order, tools -> system -> messages; each block carrying
  ``cache_control`` (or the last block, with top-level ``cache_control``) is a breakpoint, and the
  prefix up to it is keyed by (model, hash of the prefix);
* a breakpoint whose prefix is shorter than ``min_cacheable_tokens`` is ignored, as the API does;
* the longest prefix still in the cache (TTL 5 minutes, or 1 hour with ``ttl: "1h"``, refreshed
  on every hit) is billed as ``cache_read_input_tokens``; the rest up to the last breakpoint as
  ``cache_creation_input_tokens``; everything after it as ``input_tokens``;
* a new cache entry becomes visible only once its response has been produced (after the latency
  sleep), so concurrent first calls all pay the write, as with the real API.

Latency: each successful response waits ``latency_base_s + latency_per_output_token_s *
output_tokens`` (``output_tokens = ceil(len(json(output)) / 4)``), with ``asyncio.sleep``, so
concurrent requests overlap as they would upstream.

Scripted failures: :meth:`FakeAnthropic.fail_next` and :meth:`FakeAnthropic.always_fail` answer
with Anthropic's error shape and optional ``retry-after`` / ``retry-after-ms`` headers.

Message Batches (``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``, ``GET
/v1/messages/batches/{id}/results``): each request's ``params`` is validated and answered as
``/v1/messages`` would answer it (same responder, same cache accounting, no latency; items of one
batch read each other's cache writes only with ``batch_shares_cache``), when the batch is created;
the batch stays ``in_progress`` for ``batch_delay_s``, then reports ``ended`` with its
``request_counts`` and a ``results_url`` serving one JSON line per request (in reverse order, as
the API does not promise order). :meth:`FakeAnthropic.fail_batch_items` makes the next items
``errored`` / ``expired`` / ``canceled`` instead of answered.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes._server import ThreadedServer
from tests.fakes.anthropic_wire import (
    MAX_CACHE_BREAKPOINTS,
    TTL_S,
    BadRequest,
    prompt_blocks,
    tokens_of,
    ttl_of,
    validate,
)
from tests.fakes.schema_sample import sample_from_schema

JSON = dict[str, Any]
Responder = Callable[[JSON], "JSON | str"]
"""Maps a request body to the tool input (a dict) or the text (a str) the model answers with."""

DEFAULT_API_KEY = "test-anthropic-key"

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(slots=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: JSON | None
    received_at: float  # time.monotonic(), to measure the SDK's waits between retries
    status: int = 0  # filled in when the answer is sent
    response: JSON | None = None  # the JSON answer, e.g. to read back the usage it reported

    @property
    def retry_count(self) -> int:
        """The SDK's ``x-stainless-retry-count``: 0 on the first attempt of a call."""
        return int(self.headers.get("x-stainless-retry-count", "0"))


@dataclass(slots=True)
class _Failure:
    status: int
    remaining: int | None  # None: forever
    retry_after: float | None
    error_type: str
    message: str


@dataclass(slots=True)
class _Breakpoint:
    key: tuple[str, str]
    prefix_tokens: int
    ttl_s: float


@dataclass(slots=True)
class _PromptAccount:
    total_tokens: int
    breakpoints: list[_Breakpoint] = field(default_factory=list)


@dataclass(slots=True)
class FakeBatch:
    id: str
    created_at: datetime
    ends_at: float  # time.monotonic()
    results: list[JSON]  # one MessageBatchIndividualResponse per request, in request order

    def ended(self) -> bool:
        return time.monotonic() >= self.ends_at


class FakeAnthropic:
    """A real HTTP server speaking the Messages API; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        responder: Responder | None = None,
        latency_base_s: float = 0.0,
        latency_per_output_token_s: float = 0.0,
        min_cacheable_tokens: int = 1024,
        cache_ttl_s: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.responder: Responder = responder or schema_responder
        self.latency_base_s = latency_base_s
        self.latency_per_output_token_s = latency_per_output_token_s
        self.min_cacheable_tokens = min_cacheable_tokens
        self.cache_ttl_override_s = cache_ttl_s  # None: the TTL the request asks for
        self.requests: list[RecordedRequest] = []
        self.peak_in_flight = 0
        self._in_flight = 0
        self._failures: collections.deque[_Failure] = collections.deque()
        self._always: _Failure | None = None
        self._cache: dict[tuple[str, str], float] = {}  # key -> expiry (monotonic)
        self.batch_delay_s = 0.0
        self.batch_shares_cache = False
        self.batches: dict[str, FakeBatch] = {}
        self._unanswered: collections.deque[str] = collections.deque()  # result types of next items
        self._lock = threading.Lock()
        self._server = ThreadedServer(
            Starlette(
                routes=[
                    Route("/v1/messages", self._messages, methods=["POST"]),
                    Route("/v1/messages/batches", self._batch_create, methods=["POST"]),
                    Route("/v1/messages/batches/{batch_id}", self._batch_retrieve, methods=["GET"]),
                    Route("/v1/messages/batches/{batch_id}/results", self._batch_results, methods=["GET"]),
                ],
                exception_handlers={404: self._not_found, 405: self._not_found},
            ),
            name="fake-anthropic",
        )

    # --- lifecycle

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def start(self) -> FakeAnthropic:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self, drain_timeout_s: float = 1.0) -> None:
        """Back to a fresh server's behaviour (responder, latency, failures, cache, records).

        Waits (up to ``drain_timeout_s``) for requests still in flight, e.g. ones a timed-out
        client abandoned, so they do not leak into the next test's records and counters.
        """
        deadline = time.monotonic() + drain_timeout_s
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            self.responder = schema_responder
            self.latency_base_s = self.latency_per_output_token_s = 0.0
            self.requests.clear()
            self.peak_in_flight = self._in_flight
            self._failures.clear()
            self._always = None
            self._cache.clear()
            self.batch_delay_s = 0.0
            self.batch_shares_cache = False
            self.batches.clear()
            self._unanswered.clear()

    # --- programming the fake

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        error_type: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (queued after earlier scripts)."""
        with self._lock:
            self._failures.append(_failure(status, times, retry_after, error_type, message))

    def always_fail(
        self,
        status: int,
        retry_after: float | None = None,
        error_type: str | None = None,
        message: str | None = None,
    ) -> None:
        """An upstream that stays down until :meth:`recover` or :meth:`reset`."""
        with self._lock:
            self._always = _failure(status, None, retry_after, error_type, message)

    def recover(self) -> None:
        with self._lock:
            self._failures.clear()
            self._always = None

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def fail_batch_items(self, times: int = 1, result_type: str = "errored") -> None:
        """The next ``times`` batch items end ``result_type`` (errored, expired, canceled)."""
        with self._lock:
            self._unanswered.extend([result_type] * times)

    @property
    def batch_items(self) -> list[JSON]:
        """Every batch item received, ``{"custom_id", "params"}``, in submission order."""
        with self._lock:
            batches = list(self.batches.values())
        return [{"custom_id": r["custom_id"], "params": r["_params"]} for b in batches for r in b.results]

    @property
    def message_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/messages"]

    # --- HTTP

    async def _not_found(self, request: Request, exc: Exception) -> JSONResponse:
        return _error(404, "not_found_error", f"Not found: {request.method} {request.url.path}")

    async def _messages(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body: JSON | None = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            response = await self._answer(record, request)
        finally:
            with self._lock:
                self._in_flight -= 1
        record.status = response.status_code
        record.response = json.loads(bytes(response.body))
        return response

    async def _answer(self, record: RecordedRequest, request: Request) -> JSONResponse:
        refused = self._refusal(record)
        if refused is not None:
            return refused
        body = record.body
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "the request body must be a JSON object")
        try:
            message, account = self._generate(body)
        except BadRequest as exc:
            return _error(400, "invalid_request_error", str(exc))
        except _ResponderFailed as exc:
            # A bug in a test's responder: fail loudly, and tell the SDK not to retry it.
            return _error(500, "api_error", str(exc), {"x-should-retry": "false"})
        latency = self.latency_base_s + self.latency_per_output_token_s * message["usage"]["output_tokens"]
        if latency > 0 and not await _wait_unless_disconnected(request, latency):
            # The client gave up (timeout): stop "generating", as the API does, so abandoned
            # requests neither linger in flight nor populate the cache.
            return _error(499, "api_error", "client closed request")
        self._store_cache(account)
        return JSONResponse(message, headers={"request-id": _request_id()})

    def _refusal(self, record: RecordedRequest) -> JSONResponse | None:
        """The answer to a request refused before any generation: auth, version, scripted failure."""
        # anthropic 2.x sends the key as "Authorization: Bearer <key>"; older SDKs and curl use
        # x-api-key. The API takes either.
        bearer = record.headers.get("authorization", "").removeprefix("Bearer ")
        key = record.headers.get("x-api-key") or bearer
        if not key:
            return _error(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not record.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        failure = self._take_failure()
        if failure is not None:
            headers: dict[str, str] = {}
            if failure.retry_after is not None:
                # Anthropic sends whole seconds; the ms header keeps sub-second test waits exact
                # (the SDK reads retry-after-ms first).
                headers["retry-after"] = str(math.ceil(failure.retry_after))
                headers["retry-after-ms"] = str(round(failure.retry_after * 1000))
            return _error(failure.status, failure.error_type, failure.message, headers)
        return None

    def _generate(self, body: JSON) -> tuple[JSON, _PromptAccount]:
        """The Message answering ``body`` (cache not yet stored) and its prompt's account."""
        model, max_tokens = validate(body)
        account = self._account_prompt(model, body)
        try:
            content, stop_reason, output_tokens = _render_output(body, self.responder(body), max_tokens)
        except Exception as exc:
            raise _ResponderFailed(f"fake responder failed: {exc!r}") from exc
        read, written, written_1h = self._lookup_cache(account)
        return (
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": account.total_tokens - read - written,
                    "output_tokens": output_tokens,
                    "cache_creation_input_tokens": written,
                    "cache_read_input_tokens": read,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": written - written_1h,
                        "ephemeral_1h_input_tokens": written_1h,
                    },
                },
            },
            account,
        )

    # --- Message Batches

    async def _batch_create(self, request: Request) -> JSONResponse:
        record = await self._record(request)
        refused = self._refusal(record)
        if refused is not None:
            return self._sent(record, refused)
        body = record.body
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self._sent(record, _error(400, "invalid_request_error", "requests: at least one request"))
        seen: set[str] = set()
        results: list[JSON] = []
        # The API promises cache hits between the items of a batch only on a best-effort basis:
        # by default none reads what another item of the batch writes (the expensive bound);
        # batch_shares_cache gives the cheap bound, items run one after another.
        written: list[_PromptAccount] = []
        for i, item in enumerate(requests):
            custom_id, params = item.get("custom_id"), item.get("params")
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 64:
                return self._sent(record, _error(400, "invalid_request_error", f"requests.{i}.custom_id"))
            if custom_id in seen:
                msg = f"requests.{i}.custom_id: duplicate custom_id {custom_id!r}"
                return self._sent(record, _error(400, "invalid_request_error", msg))
            seen.add(custom_id)
            if not isinstance(params, dict) or params.get("stream"):
                return self._sent(record, _error(400, "invalid_request_error", f"requests.{i}.params"))
            try:
                message, account = self._generate(params)
            except BadRequest as exc:
                return self._sent(record, _error(400, "invalid_request_error", f"requests.{i}.params.{exc}"))
            except _ResponderFailed as exc:
                return self._sent(record, _error(500, "api_error", str(exc), {"x-should-retry": "false"}))
            with self._lock:
                unanswered = self._unanswered.popleft() if self._unanswered else None
            if unanswered is None:
                if self.batch_shares_cache:
                    self._store_cache(account)
                else:
                    written.append(account)
                result: JSON = {"type": "succeeded", "message": message}
            elif unanswered == "errored":
                error = {"type": "api_error", "message": "fake: this request errored"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                result = {"type": unanswered}
            results.append({"custom_id": custom_id, "result": result, "_params": params})
        for account in written:
            self._store_cache(account)
        batch = FakeBatch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            created_at=datetime.now(UTC),
            ends_at=time.monotonic() + self.batch_delay_s,
            results=results,
        )
        with self._lock:
            self.batches[batch.id] = batch
        # Just created: always in progress, as upstream (results are read after a retrieve).
        return self._sent(record, JSONResponse(self._batch_json(batch, request, ended=False)))

    async def _batch_retrieve(self, request: Request) -> JSONResponse:
        record = await self._record(request)
        refused = self._refusal(record)
        if refused is not None:
            return self._sent(record, refused)
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._sent(record, _error(404, "not_found_error", "batch not found"))
        return self._sent(record, JSONResponse(self._batch_json(batch, request, ended=batch.ended())))

    async def _batch_results(self, request: Request) -> Response:
        record = await self._record(request)
        refused = self._refusal(record)
        if refused is not None:
            return self._sent(record, refused)
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._sent(record, _error(404, "not_found_error", "batch not found"))
        if not batch.ended():
            return self._sent(record, _error(400, "invalid_request_error", "batch is still processing"))
        lines = [
            json.dumps({"custom_id": r["custom_id"], "result": r["result"]}) for r in reversed(batch.results)
        ]
        record.status = 200
        return Response(
            "\n".join(lines) + "\n",
            media_type="application/binary",
            headers={"request-id": _request_id()},
        )

    def _batch_json(self, batch: FakeBatch, request: Request, *, ended: bool) -> JSON:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for r in batch.results:
            counts["processing" if not ended else r["result"]["type"]] += 1
        base = f"{request.url.scheme}://{request.url.netloc}"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": batch.created_at.isoformat(),
            "expires_at": (batch.created_at + timedelta(hours=24)).isoformat(),
            "ended_at": datetime.now(UTC).isoformat() if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            body: JSON | None = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
        return record

    @staticmethod
    def _sent(record: RecordedRequest, response: JSONResponse) -> JSONResponse:
        record.status = response.status_code
        record.response = json.loads(bytes(response.body))
        return response

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                assert failure.remaining is not None
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.popleft()
                return failure
            return self._always

    # --- prompt caching

    def _account_prompt(self, model: str, body: JSON) -> _PromptAccount:
        blocks = list(prompt_blocks(body))
        marked = [i for i, (_, _, ttl) in enumerate(blocks) if ttl is not None]
        if len(marked) > MAX_CACHE_BREAKPOINTS:
            raise BadRequest(
                f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(marked)}."
            )
        top_level = body.get("cache_control")
        if isinstance(top_level, dict) and blocks:
            # Automatic caching: the breakpoint goes on the last block of the prompt.
            material, tokens, ttl = blocks[-1]
            blocks[-1] = (material, tokens, ttl or ttl_of(top_level))
        account = _PromptAccount(total_tokens=0)
        digest = hashlib.sha256(model.encode())
        for material, tokens, ttl in blocks:
            digest.update(material.encode())
            digest.update(b"\x00")
            account.total_tokens += tokens
            if ttl is not None and account.total_tokens >= self.min_cacheable_tokens:
                account.breakpoints.append(
                    _Breakpoint(
                        key=(model, digest.hexdigest()),
                        prefix_tokens=account.total_tokens,
                        ttl_s=self.cache_ttl_override_s or ttl,
                    )
                )
        return account

    def _lookup_cache(self, account: _PromptAccount) -> tuple[int, int, int]:
        """(read, written, written with a 1 h TTL) for this prompt, from the current cache."""
        if not account.breakpoints:
            return 0, 0, 0
        now = time.monotonic()
        read = 0
        with self._lock:
            for bp in account.breakpoints:
                expiry = self._cache.get(bp.key)
                if expiry is not None and expiry > now:
                    read = bp.prefix_tokens
        last = account.breakpoints[-1]
        written = last.prefix_tokens - read
        return read, written, written if last.ttl_s >= TTL_S["1h"] else 0

    def _store_cache(self, account: _PromptAccount) -> None:
        now = time.monotonic()
        with self._lock:
            for bp in account.breakpoints:  # writes new entries and refreshes hit ones
                self._cache[bp.key] = now + bp.ttl_s


async def _wait_unless_disconnected(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``; False as soon as the client disconnects (checked every 50 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(remaining, 0.05))
        if await request.is_disconnected():
            return False
    return True


# --- output


def _render_output(body: JSON, output: JSON | str, max_tokens: int) -> tuple[list[JSON], str, int]:
    """(content blocks, stop_reason, output_tokens) for the responder's answer."""
    if isinstance(output, str):
        tokens = tokens_of(output)
        if tokens > max_tokens:
            return [{"type": "text", "text": output[: max_tokens * 4]}], "max_tokens", max_tokens
        return [{"type": "text", "text": output}], "end_turn", max(tokens, 1)
    tool_name = _answering_tool(body)
    if tool_name is None:
        raise ValueError("the responder returned tool input, but the request has no tools")
    tokens = tokens_of(json.dumps(output))
    block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": tool_name, "input": output}
    if tokens > max_tokens:
        # Cut off mid-call: the input never closed, so it arrives empty.
        return [{**block, "input": {}}], "max_tokens", max_tokens
    return [block], "tool_use", tokens


def _answering_tool(body: JSON) -> str | None:
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        return str(choice["name"])
    tools = body.get("tools") or []
    return str(tools[0]["name"]) if tools and choice.get("type") != "none" else None


def forced_tool_schema(body: JSON) -> JSON | None:
    """The input schema of the tool the request forces (or would call), if any."""
    name = _answering_tool(body)
    for tool in body.get("tools") or []:
        if tool.get("name") == name:
            schema: JSON = tool.get("input_schema") or {}
            return schema
    return None


def schema_responder(body: JSON) -> JSON | str:
    """The default model: schema-valid tool input for the forced tool, else a short text."""
    schema = forced_tool_schema(body)
    if schema is None:
        return "This is a fake answer."
    value = sample_from_schema(schema)
    assert isinstance(value, dict)
    return value


# --- errors


class _ResponderFailed(Exception):
    """The test's responder raised: a bug in the test, answered as a non-retryable 500."""


def _failure(
    status: int, times: int | None, retry_after: float | None, error_type: str | None, message: str | None
) -> _Failure:
    kind = error_type or ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return _Failure(
        status=status,
        remaining=times,
        retry_after=retry_after,
        error_type=kind,
        message=message or f"fake {kind} ({status})",
    )


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _error(
    status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    request_id = _request_id()
    return JSONResponse(
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id},
        status_code=status,
        headers={"request-id": request_id, **(headers or {})},
    )
