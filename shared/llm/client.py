"""Structured LLM calls through the Anthropic SDK, with retries, token and cost accounting.

One public entry point, :meth:`LLMClient.structured`: it forces the model to call a single tool
whose input schema is a pydantic model, validates the tool input with that model, and gives the
model one chance to correct itself when the input does not validate.

Transient upstream failures (429, 529 overloaded, 5xx, 408/409, connection errors, timeouts) are
retried by the SDK itself: ``max_retries`` attempts after the first, exponential backoff from 0.5 s
capped at 8 s with jitter, and when the response carries ``retry-after-ms`` or ``retry-after``
(seconds or an HTTP date) the SDK sleeps exactly that long instead (see
``anthropic._base_client.BaseClient._calculate_retry_timeout``). Retrying again here would multiply
the attempts, so once the SDK gives up the error is final for this call: it becomes
:class:`LLMUnavailable` (``upstream_unavailable``) and the job decides whether to try later.

Economy runs go through the Message Batches API instead (:meth:`LLMClient.submit_batch`,
:meth:`LLMClient.batch_state`, :meth:`LLMClient.batch_results`): the same request parameters as
:meth:`LLMClient.structured` sends, answered within 24 hours at the batch price
(``llm_batch_discount`` of the normal one). :meth:`LLMClient.read_batch_answer` validates an answer
with the same schema and, when it does not validate, gives the turns for one corrective normal call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import structlog
from anthropic import APIConnectionError, APIStatusError, AsyncAnthropic
from anthropic.types import (
    Message,
    MessageParam,
    TextBlock,
    TextBlockParam,
    ToolChoiceToolParam,
    ToolParam,
    ToolUseBlock,
)
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from anthropic.types.messages import MessageBatch
from anthropic.types.messages.batch_create_params import Request as BatchRequest
from pydantic import BaseModel, ValidationError

from shared.config import Settings
from shared.errors import AppError, UpstreamInvalidOutput, UpstreamUnavailable
from shared.llm.usage import Prices, Usage

__all__ = [
    "BatchAnswer",
    "BatchState",
    "LLMCall",
    "LLMClient",
    "LLMInvalidOutput",
    "LLMRequestRejected",
    "LLMUnavailable",
    "Prices",
    "Usage",
    "cached_text_block",
]

logger = structlog.get_logger()

T = TypeVar("T", bound=BaseModel)

# The statuses the SDK itself retries (``BaseClient._should_retry``). When one of them reaches us,
# the SDK has already spent its retries: the upstream is unavailable, not refusing the request.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})
_MAX_FEEDBACK_ERRORS = 20


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One logical call: the first try plus the corrective retry when there was one."""

    model: str
    purpose: str
    usage: Usage
    cost_usd: float
    latency_ms: int
    attempts: int


class LLMUnavailable(UpstreamUnavailable):
    """The upstream stayed unavailable after the SDK's retries. ``call`` holds the spend so far."""

    def __init__(self, message: str, *, call: LLMCall, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.call = call


class LLMInvalidOutput(UpstreamInvalidOutput):
    """The model did not produce valid tool input, even after the corrective retry."""

    def __init__(self, message: str, *, call: LLMCall, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.call = call


class LLMRequestRejected(AppError):
    """The upstream refused the request itself (bad request, auth, permission, unknown model):
    retrying cannot help, an operator or a code change must."""

    code = "llm_request_rejected"
    status = 502

    def __init__(self, message: str, *, call: LLMCall, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.call = call


@dataclass(frozen=True, slots=True)
class BatchState:
    """Where a message batch stands (``request_counts`` of the API)."""

    batch_id: str
    ended: bool
    processing: int
    succeeded: int
    errored: int
    canceled: int
    expired: int

    @property
    def total(self) -> int:
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


@dataclass(frozen=True, slots=True)
class BatchAnswer(Generic[T]):
    """One batch result read through its schema. ``result`` is None when the model's answer did not
    validate; ``correction`` then holds the conversation for one corrective normal call (the
    request's messages, the answer, and what was wrong). ``call`` is the answer's spend at the
    batch price."""

    result: T | None
    call: LLMCall
    correction: list[MessageParam] | None


def cached_text_block(text: str) -> TextBlockParam:
    """A system/user text block marked as a prompt-cache breakpoint (5 minute TTL).

    Everything up to and including this block (tools, then system, then messages) becomes the
    cached prefix. Below the model's minimum prefix length (1024 tokens on Sonnet, 4096 on
    Haiku 4.5) the API silently does not cache.
    """
    return {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}


class LLMClient:
    """Async wrapper over :class:`anthropic.AsyncAnthropic`; share one per process."""

    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        prices_by_model: Mapping[str, Prices],
        default_prices: Prices,
        batch_discount: float = 0.5,
    ) -> None:
        self._client = client
        self._prices_by_model = dict(prices_by_model)
        self._default_prices = default_prices
        self._batch_discount = batch_discount

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient:
        if settings.anthropic_api_key is None:
            raise ValueError("anthropic_api_key is not configured; the offline extractor should be used")
        client = AsyncAnthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=settings.llm_max_retries,
            timeout=settings.llm_timeout_s,
        )
        describe = Prices(
            input=settings.llm_price_input_per_mtok,
            output=settings.llm_price_output_per_mtok,
            cache_write=settings.llm_price_cache_write_per_mtok,
            cache_read=settings.llm_price_cache_read_per_mtok,
        )
        preview = Prices(
            input=settings.llm_preview_price_input_per_mtok,
            output=settings.llm_preview_price_output_per_mtok,
            cache_write=settings.llm_preview_price_cache_write_per_mtok,
            cache_read=settings.llm_preview_price_cache_read_per_mtok,
        )
        # An unknown model is priced at the higher rate: overestimating spend is the safe mistake.
        return cls(
            client,
            prices_by_model={settings.llm_model_describe: describe, settings.llm_model_preview: preview},
            default_prices=describe,
            batch_discount=settings.llm_batch_discount,
        )

    def prices_for(self, model: str) -> Prices:
        """Prices by exact model name, else by the longest configured prefix (so a dated snapshot
        such as ``claude-haiku-4-5-20251001`` gets its alias's prices), else the default."""
        if model in self._prices_by_model:
            return self._prices_by_model[model]
        prefixes = [name for name in self._prices_by_model if model.startswith(name)]
        return self._prices_by_model[max(prefixes, key=len)] if prefixes else self._default_prices

    def batch_prices_for(self, model: str) -> Prices:
        """What a Message Batches answer costs: every rate at the batch discount."""
        return self.prices_for(model).scaled(self._batch_discount)

    async def structured(
        self,
        *,
        model: str,
        system: str | Sequence[TextBlockParam] | Sequence[Mapping[str, Any]],
        messages: Sequence[MessageParam] | Sequence[Mapping[str, Any]],
        schema: type[T],
        tool_name: str,
        tool_description: str,
        max_tokens: int,
        purpose: str,
    ) -> tuple[T, LLMCall]:
        """Ask for one forced call of tool ``tool_name`` and return its input validated as ``schema``.

        ``system`` and ``messages`` go to the API untouched, so ``cache_control`` breakpoints placed
        by the caller (see :func:`cached_text_block`) keep the shared prefix cached.

        Raises :class:`LLMInvalidOutput` (``invalid_model_output``) when the output is still invalid
        after one corrective turn, :class:`LLMUnavailable` (``upstream_unavailable``) when the
        upstream stays unavailable after the SDK's retries, :class:`LLMRequestRejected`
        (``llm_request_rejected``) for requests the upstream refuses. Each carries ``call``, the
        tokens and cost spent so far, for the job's accounting.
        """
        tool, tool_choice = _forced_tool(schema, tool_name, tool_description)
        conversation = cast(list[MessageParam], list(messages))
        log = logger.bind(model=model, purpose=purpose, tool=tool_name)
        started = time.perf_counter()
        usage = Usage.zero()
        attempts = 0

        def call_so_far() -> LLMCall:
            return LLMCall(
                model=model,
                purpose=purpose,
                usage=usage,
                cost_usd=self.prices_for(model).cost(usage),
                latency_ms=round((time.perf_counter() - started) * 1000),
                attempts=attempts,
            )

        problem: _Problem | None = None
        for attempt in (1, 2):
            attempts = attempt
            try:
                message = await self._client.messages.create(
                    model=model,
                    max_tokens=max_tokens,
                    system=cast("str | list[TextBlockParam]", system),
                    messages=conversation,
                    tools=[tool],
                    tool_choice=tool_choice,
                )
            except APIConnectionError as exc:  # includes APITimeoutError
                call = call_so_far()
                log.warning("llm.call.unavailable", error=type(exc).__name__, **_log_fields(call))
                raise LLMUnavailable(
                    f"LLM upstream unreachable after retries: {exc.message}",
                    call=call,
                    details={"error": type(exc).__name__},
                ) from exc
            except APIStatusError as exc:
                raise self._status_error(exc, call_so_far(), log) from exc

            usage = usage + _usage_of(message)
            result, problem = _read_tool_input(message, tool_name, schema)
            if result is not None:
                call = call_so_far()
                log.info("llm.call.succeeded", request_id=message._request_id, **_log_fields(call))
                return result, call
            assert problem is not None
            if attempt == 1:
                log.warning(
                    "llm.call.invalid_output",
                    request_id=message._request_id,
                    stop_reason=message.stop_reason,
                    errors=problem.errors,
                    retrying=True,
                )
                conversation = [*conversation, *_corrective_turns(message, problem)]

        call = call_so_far()
        assert problem is not None
        log.error("llm.call.failed", reason="invalid_output", errors=problem.errors, **_log_fields(call))
        raise LLMInvalidOutput(
            f"The model did not return valid {tool_name!r} input after a corrective retry",
            call=call,
            details={"tool": tool_name, "purpose": purpose, "model": model, **problem.details()},
        )

    # --- the Message Batches API (economy runs)

    def batch_request(
        self,
        custom_id: str,
        *,
        model: str,
        system: str | Sequence[TextBlockParam] | Sequence[Mapping[str, Any]],
        messages: Sequence[MessageParam] | Sequence[Mapping[str, Any]],
        schema: type[BaseModel],
        tool_name: str,
        tool_description: str,
        max_tokens: int,
    ) -> BatchRequest:
        """One batch item with exactly the parameters :meth:`structured` would send (cache
        breakpoints included: batch requests read and write the prompt cache too)."""
        tool, tool_choice = _forced_tool(schema, tool_name, tool_description)
        params: MessageCreateParamsNonStreaming = {
            "model": model,
            "max_tokens": max_tokens,
            "system": cast("str | list[TextBlockParam]", system),
            "messages": cast(list[MessageParam], list(messages)),
            "tools": [tool],
            "tool_choice": tool_choice,
        }
        return {"custom_id": custom_id, "params": params}

    async def submit_batch(self, requests: Sequence[BatchRequest], *, purpose: str) -> BatchState:
        """Create a message batch; its id is what a job keeps to read the results later."""
        try:
            batch = await self._client.messages.batches.create(requests=list(requests))
        except (APIConnectionError, APIStatusError) as exc:
            raise self._batch_error(exc, purpose) from exc
        logger.info("llm.batch.submitted", batch_id=batch.id, purpose=purpose, requests=len(requests))
        return _batch_state(batch)

    async def batch_state(self, batch_id: str, *, purpose: str) -> BatchState:
        try:
            batch = await self._client.messages.batches.retrieve(batch_id)
        except (APIConnectionError, APIStatusError) as exc:
            raise self._batch_error(exc, purpose) from exc
        return _batch_state(batch)

    async def batch_results(self, batch_id: str, *, purpose: str) -> dict[str, Message | None]:
        """The answers of an ended batch by ``custom_id``; None for an item that errored, expired
        or was cancelled (the caller makes a normal call for it)."""
        out: dict[str, Message | None] = {}
        try:
            async for item in await self._client.messages.batches.results(batch_id):
                result = item.result
                out[item.custom_id] = result.message if result.type == "succeeded" else None
                if result.type != "succeeded":
                    logger.warning(
                        "llm.batch.item_unanswered",
                        batch_id=batch_id,
                        custom_id=item.custom_id,
                        type=result.type,
                    )
        except (APIConnectionError, APIStatusError) as exc:
            raise self._batch_error(exc, purpose) from exc
        return out

    def read_batch_answer(
        self,
        message: Message,
        *,
        messages: Sequence[MessageParam] | Sequence[Mapping[str, Any]],
        schema: type[T],
        tool_name: str,
        purpose: str,
    ) -> BatchAnswer[T]:
        """Validate one batch answer as :meth:`structured` validates a normal one."""
        usage = _usage_of(message)
        call = LLMCall(
            model=message.model,
            purpose=purpose,
            usage=usage,
            cost_usd=self.batch_prices_for(message.model).cost(usage),
            latency_ms=0,  # the batch's own wait is not a call's latency
            attempts=1,
        )
        result, problem = _read_tool_input(message, tool_name, schema)
        if result is not None:
            return BatchAnswer(result=result, call=call, correction=None)
        assert problem is not None
        logger.warning("llm.batch.invalid_output", purpose=purpose, errors=problem.errors[:5])
        conversation = [*cast(list[MessageParam], list(messages)), *_corrective_turns(message, problem)]
        return BatchAnswer(result=None, call=call, correction=conversation)

    def _batch_error(self, exc: APIConnectionError | APIStatusError, purpose: str) -> AppError:
        call = LLMCall(model="", purpose=purpose, usage=Usage.zero(), cost_usd=0.0, latency_ms=0, attempts=1)
        if isinstance(exc, APIConnectionError):
            logger.warning("llm.batch.unavailable", error=type(exc).__name__)
            return LLMUnavailable(
                f"LLM upstream unreachable after retries: {exc.message}",
                call=call,
                details={"error": type(exc).__name__},
            )
        return self._status_error(exc, call, logger.bind(purpose=purpose))

    async def aclose(self) -> None:
        await self._client.close()

    def _status_error(self, exc: APIStatusError, call: LLMCall, log: Any) -> AppError:
        upstream_message = exc.api_message or exc.message
        details = {"status": exc.status_code, "type": exc.type, "request_id": exc.request_id}
        fields = _log_fields(call)
        if exc.status_code in _TRANSIENT_STATUSES or exc.status_code >= 500:
            log.warning("llm.call.unavailable", status=exc.status_code, request_id=exc.request_id, **fields)
            return LLMUnavailable(
                f"LLM upstream unavailable after retries ({exc.status_code}): {upstream_message}",
                call=call,
                details=details,
            )
        log.error("llm.call.rejected", status=exc.status_code, request_id=exc.request_id, **fields)
        return LLMRequestRejected(
            f"LLM request rejected ({exc.status_code}): {upstream_message}", call=call, details=details
        )


def _forced_tool(
    schema: type[BaseModel], tool_name: str, tool_description: str
) -> tuple[ToolParam, ToolChoiceToolParam]:
    tool: ToolParam = {
        "name": tool_name,
        "description": tool_description,
        "input_schema": schema.model_json_schema(),
    }
    # One forced call, never several: the corrective turn must answer every tool_use block.
    tool_choice: ToolChoiceToolParam = {
        "type": "tool",
        "name": tool_name,
        "disable_parallel_tool_use": True,
    }
    return tool, tool_choice


def _batch_state(batch: MessageBatch) -> BatchState:
    c = batch.request_counts
    return BatchState(
        batch_id=batch.id,
        ended=batch.processing_status == "ended",
        processing=c.processing,
        succeeded=c.succeeded,
        errored=c.errored,
        canceled=c.canceled,
        expired=c.expired,
    )


@dataclass(frozen=True, slots=True)
class _Problem:
    """Why a response could not be used, phrased for the model (``feedback``) and for logs."""

    feedback: str
    errors: list[str]
    stop_reason: str | None

    def details(self) -> dict[str, Any]:
        return {"errors": self.errors, "stop_reason": self.stop_reason}


def _read_tool_input(message: Message, tool_name: str, schema: type[T]) -> tuple[T | None, _Problem | None]:
    tool_use = next((b for b in message.content if isinstance(b, ToolUseBlock) and b.name == tool_name), None)
    truncated = (
        " The answer was cut off at max_tokens: be more concise."
        if message.stop_reason == "max_tokens"
        else ""
    )
    if tool_use is None:
        return None, _Problem(
            feedback=f"Answer by calling the tool `{tool_name}` with input matching its schema.{truncated}",
            errors=[f"no {tool_name} tool_use block in the response"],
            stop_reason=message.stop_reason,
        )
    try:
        return schema.model_validate(tool_use.input), None
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_context=False)
        ]
        shown = errors[:_MAX_FEEDBACK_ERRORS]
        more = f"\n(and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        feedback = (
            f"The input for `{tool_name}` does not match the schema:\n"
            + "\n".join(f"- {e}" for e in shown)
            + more
            + f"\nCall `{tool_name}` again with the complete, corrected input.{truncated}"
        )
        return None, _Problem(feedback=feedback, errors=errors, stop_reason=message.stop_reason)


def _corrective_turns(message: Message, problem: _Problem) -> list[MessageParam]:
    """The model's answer as an assistant turn, then a user turn that says what was wrong.

    The API requires every ``tool_use`` block to be answered by a ``tool_result`` at the start of
    the next user turn, so the error goes back as a ``tool_result`` with ``is_error``; when there
    was no tool call at all it goes back as plain text.
    """
    assistant_blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ToolUseBlock):
            assistant_blocks.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
        elif isinstance(block, TextBlock) and block.text:
            assistant_blocks.append({"type": "text", "text": block.text})
    user_blocks: list[dict[str, Any]] = [
        {"type": "tool_result", "tool_use_id": b["id"], "is_error": True, "content": problem.feedback}
        for b in assistant_blocks
        if b["type"] == "tool_use"
    ]
    if not user_blocks:
        user_blocks = [{"type": "text", "text": problem.feedback}]
    turns: list[dict[str, Any]] = []
    if assistant_blocks:  # an empty assistant turn is a 400
        turns.append({"role": "assistant", "content": assistant_blocks})
    turns.append({"role": "user", "content": user_blocks})
    return cast(list[MessageParam], turns)


def _usage_of(message: Message) -> Usage:
    u = message.usage
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_creation_input_tokens=u.cache_creation_input_tokens or 0,
        cache_read_input_tokens=u.cache_read_input_tokens or 0,
    )


def _log_fields(call: LLMCall) -> dict[str, Any]:
    return {
        "input_tokens": call.usage.input_tokens,
        "output_tokens": call.usage.output_tokens,
        "cache_creation_input_tokens": call.usage.cache_creation_input_tokens,
        "cache_read_input_tokens": call.usage.cache_read_input_tokens,
        "cost_usd": round(call.cost_usd, 6),
        "latency_ms": call.latency_ms,
        "attempts": call.attempts,
    }
