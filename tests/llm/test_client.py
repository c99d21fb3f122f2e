"""LLMClient through the real Anthropic SDK against the fake Anthropic server on loopback."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from PIL import Image
from pydantic import BaseModel, SecretStr

from shared.config import Settings
from shared.errors import AppError, UpstreamInvalidOutput, UpstreamUnavailable
from shared.extraction.schemas import EntityDescription, PreviewEntity
from shared.llm.client import (
    LLMCall,
    LLMClient,
    LLMInvalidOutput,
    LLMRequestRejected,
    LLMUnavailable,
    Prices,
    Usage,
    cached_text_block,
)
from tests.fakes.anthropic_server import FakeAnthropic, RecordedRequest, schema_responder
from tests.fakes.anthropic_wire import tokens_of

pytest_plugins = ["tests.fakes.fixtures"]

MODEL = "claude-haiku-4-5"
PRICES = Prices(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10)
DEFAULT_PRICES = Prices(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)
SCRIPT = (
    "INT. LIGHTHOUSE - NIGHT\nMARA climbs the spiral stairs, a brass lantern swinging in her hand.\n" * 120
)


class PreviewBatch(BaseModel):
    entities: list[PreviewEntity]


def make_client(
    fake: FakeAnthropic, *, api_key: str | None = None, max_retries: int = 2, timeout: float = 10.0
) -> LLMClient:
    sdk = AsyncAnthropic(
        api_key=api_key or fake.api_key, base_url=fake.base_url, max_retries=max_retries, timeout=timeout
    )
    return LLMClient(sdk, prices_by_model={MODEL: PRICES}, default_prices=DEFAULT_PRICES)


@pytest.fixture
async def llm(fake_anthropic: FakeAnthropic) -> AsyncIterator[LLMClient]:
    client = make_client(fake_anthropic)
    yield client
    await client.aclose()


async def preview(
    llm: LLMClient, *, system: Any = "List the entities.", text: str = "Scene 1: MARA."
) -> tuple[PreviewBatch, LLMCall]:
    return await llm.structured(
        model=MODEL,
        system=system,
        messages=[{"role": "user", "content": text}],
        schema=PreviewBatch,
        tool_name="record_entities",
        tool_description="Record every entity found in the scenes.",
        max_tokens=2000,
        purpose="preview",
    )


def reported_usage(requests: list[RecordedRequest]) -> Usage:
    total = Usage.zero()
    for r in requests:
        assert r.response is not None
        u = r.response["usage"]
        total += Usage(
            u["input_tokens"],
            u["output_tokens"],
            u["cache_creation_input_tokens"],
            u["cache_read_input_tokens"],
        )
    return total


def wrong_then_right(body: dict[str, Any]) -> dict[str, Any] | str:
    """A model that gets the enum wrong, then fixes it once told."""
    last = body["messages"][-1]["content"]
    corrected = isinstance(last, list) and any(
        b.get("type") == "tool_result" and b.get("is_error") for b in last
    )
    kind = "character" if corrected else "villain"
    return {"entities": [{"name": "Mara", "type": kind, "scene_numbers": [1]}]}


# --- structured output, usage, cost


async def test_structured_output_is_validated_into_the_schema(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    result, call = await preview(llm)

    assert isinstance(result, PreviewBatch)
    assert isinstance(result.entities[0], PreviewEntity)
    [request] = fake_anthropic.message_requests
    body = request.body
    assert body is not None
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "record_entities",
        "disable_parallel_tool_use": True,
    }
    assert body["tools"][0]["input_schema"] == PreviewBatch.model_json_schema()
    assert request.headers["authorization"] == f"Bearer {fake_anthropic.api_key}"  # how SDK 2.x sends it
    assert request.headers["anthropic-version"]
    assert call.attempts == 1
    assert (call.model, call.purpose) == (MODEL, "preview")
    assert call.usage == reported_usage([request])
    assert call.usage.output_tokens == tokens_of(json.dumps(schema_responder(body)))
    assert call.cost_usd == pytest.approx(PRICES.cost(call.usage))
    assert call.cost_usd == pytest.approx(
        (call.usage.input_tokens * 1.0 + call.usage.output_tokens * 5.0) / 1_000_000
    )


async def test_long_cached_system_prefix_is_written_then_read(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    system = [{"type": "text", "text": "You extract film assets."}, cached_text_block(SCRIPT)]

    _, first = await preview(llm, system=system, text="Chunk 1: scenes 1-3.")
    _, second = await preview(llm, system=system, text="Chunk 2: scenes 4-6, with more words.")

    req1, req2 = fake_anthropic.message_requests
    assert req1.body is not None
    assert req2.body is not None
    assert req1.body["system"] == system  # passed through untouched, cache_control included
    tool_json = json.dumps(req1.body["tools"][0], sort_keys=True)
    prefix = tokens_of(tool_json) + tokens_of("You extract film assets.") + tokens_of(SCRIPT)
    assert prefix >= 1024
    assert first.usage.cache_creation_input_tokens == prefix
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.input_tokens == tokens_of("Chunk 1: scenes 1-3.")
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == prefix
    assert second.usage.input_tokens == tokens_of("Chunk 2: scenes 4-6, with more words.")
    # Reading the cache is what makes the second call cheap.
    assert second.cost_usd < first.cost_usd / 5
    assert first.cost_usd == pytest.approx(
        (first.usage.input_tokens * 1.0 + first.usage.output_tokens * 5.0 + prefix * 1.25) / 1_000_000
    )
    assert second.cost_usd == pytest.approx(
        (second.usage.input_tokens * 1.0 + second.usage.output_tokens * 5.0 + prefix * 0.10) / 1_000_000
    )


async def test_short_prefix_is_not_cached(llm: LLMClient) -> None:
    system = [cached_text_block("Too short to cache.")]

    _, first = await preview(llm, system=system)
    _, second = await preview(llm, system=system)

    for call in (first, second):
        assert call.usage.cache_creation_input_tokens == 0
        assert call.usage.cache_read_input_tokens == 0


def test_cached_text_block_marks_an_ephemeral_breakpoint() -> None:
    assert cached_text_block("abc") == {"type": "text", "text": "abc", "cache_control": {"type": "ephemeral"}}


async def test_image_blocks_are_accepted_and_counted(llm: LLMClient, fake_anthropic: FakeAnthropic) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 250), (200, 10, 10)).save(buffer, format="PNG")
    image = {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(buffer.getvalue()).decode(),
    }

    result, call = await llm.structured(
        model="claude-sonnet-4-6",
        system="Describe the reference image.",
        messages=[
            {
                "role": "user",
                "content": [{"type": "image", "source": image}, {"type": "text", "text": "Describe it."}],
            }
        ],
        schema=EntityDescription,
        tool_name="describe",
        tool_description="Describe the asset in the image.",
        max_tokens=800,
        purpose="describe",
    )

    assert isinstance(result, EntityDescription)
    [request] = fake_anthropic.message_requests
    assert request.body is not None
    tool_tokens = tokens_of(json.dumps(request.body["tools"][0], sort_keys=True))
    text_tokens = tokens_of("Describe the reference image.") + tokens_of("Describe it.")
    assert call.usage.input_tokens == tool_tokens + text_tokens + 100  # 300 * 250 / 750
    assert call.cost_usd == pytest.approx(DEFAULT_PRICES.cost(call.usage))  # unknown model: default prices


# --- invalid output


async def test_invalid_output_gets_one_corrective_retry(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = wrong_then_right

    result, call = await preview(llm)

    assert result.entities[0].type == "character"
    assert call.attempts == 2
    first, second = fake_anthropic.message_requests
    assert first.response is not None
    assert second.body is not None
    [tool_use] = first.response["content"]
    assistant, user = second.body["messages"][-2:]
    assert assistant == {"role": "assistant", "content": [tool_use]}
    [tool_result] = user["content"]
    assert tool_result["type"] == "tool_result"
    assert tool_result["tool_use_id"] == tool_use["id"]
    assert tool_result["is_error"] is True
    assert "entities.0.type" in tool_result["content"]
    assert call.usage == reported_usage([first, second])
    assert call.cost_usd == pytest.approx(PRICES.cost(call.usage))


async def test_text_instead_of_a_tool_call_is_corrected_in_words(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    def text_first(body: dict[str, Any]) -> dict[str, Any] | str:
        return "Here are the entities: Mara." if len(body["messages"]) == 1 else schema_responder(body)

    fake_anthropic.responder = text_first

    _, call = await preview(llm)

    assert call.attempts == 2
    second = fake_anthropic.message_requests[1].body
    assert second is not None
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Here are the entities: Mara."}],
    }
    assert "record_entities" in second["messages"][-1]["content"][0]["text"]


async def test_invalid_output_twice_raises_invalid_model_output(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = lambda body: {"entities": [{"name": "", "type": "villain"}]}

    with pytest.raises(UpstreamInvalidOutput) as raised:
        await preview(llm)

    error = raised.value
    assert isinstance(error, LLMInvalidOutput)
    assert error.code == "invalid_model_output"
    assert any("entities.0.type" in e for e in error.details["errors"])
    assert error.call.attempts == 2
    assert error.call.usage == reported_usage(fake_anthropic.message_requests)
    assert len(fake_anthropic.message_requests) == 2


async def test_truncated_output_is_reported(llm: LLMClient, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.responder = lambda body: {"entities": [{"name": "x" * 150, "type": "prop"}] * 100}

    with pytest.raises(LLMInvalidOutput) as raised:
        await preview(llm)

    assert raised.value.details["stop_reason"] == "max_tokens"


# --- upstream failures


async def test_rate_limit_waits_retry_after_then_succeeds(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.fail_next(429, retry_after=1.0)

    _, call = await preview(llm)

    first, second = fake_anthropic.message_requests
    assert (first.status, second.status) == (429, 200)
    assert second.retry_count == 1  # the SDK retried, not our wrapper
    # The SDK's own first backoff is at most 0.5 s: a wait of ~1 s is the header being honoured.
    assert second.received_at - first.received_at >= 0.95
    assert call.attempts == 1


async def test_overloaded_then_success(llm: LLMClient, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.fail_next(529, times=2, retry_after=0.05)

    result, _ = await preview(llm)

    assert isinstance(result, PreviewBatch)
    assert [r.status for r in fake_anthropic.message_requests] == [529, 529, 200]
    first = fake_anthropic.message_requests[0].response
    assert first is not None
    assert first["type"] == "error"
    assert first["error"]["type"] == "overloaded_error"


async def test_upstream_down_raises_upstream_unavailable_after_sdk_retries(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.always_fail(500, retry_after=0.05)

    with pytest.raises(UpstreamUnavailable) as raised:
        await preview(llm)

    assert isinstance(raised.value, LLMUnavailable)
    assert raised.value.code == "upstream_unavailable"
    assert raised.value.details["status"] == 500
    assert len(fake_anthropic.message_requests) == 3  # first try + max_retries=2


async def test_bad_api_key_is_rejected_without_retries(fake_anthropic: FakeAnthropic) -> None:
    client = make_client(fake_anthropic, api_key="wrong-key")
    try:
        with pytest.raises(AppError) as raised:
            await preview(client)
    finally:
        await client.aclose()

    assert isinstance(raised.value, LLMRequestRejected)
    assert raised.value.code == "llm_request_rejected"
    assert raised.value.status == 502
    assert "invalid x-api-key" in raised.value.message
    assert len(fake_anthropic.message_requests) == 1


async def test_bad_request_is_rejected(llm: LLMClient, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.fail_next(400, message="messages: text content blocks must be non-empty")

    with pytest.raises(LLMRequestRejected, match="must be non-empty"):
        await preview(llm)


async def test_unreachable_upstream_is_unavailable(fake_anthropic: FakeAnthropic) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sdk = AsyncAnthropic(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    client = LLMClient(sdk, prices_by_model={}, default_prices=PRICES)
    try:
        with pytest.raises(LLMUnavailable) as raised:
            await preview(client)
    finally:
        await client.aclose()
    assert raised.value.details == {"error": "APIConnectionError"}


async def test_timeout_is_unavailable(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.latency_base_s = 2.0
    client = make_client(fake_anthropic, max_retries=0, timeout=0.2)
    try:
        with pytest.raises(LLMUnavailable) as raised:
            await preview(client)
    finally:
        await client.aclose()
    assert raised.value.details == {"error": "APITimeoutError"}


# --- the fake's latency model and concurrency (benchmarks rely on both)


async def test_fake_latency_applies_and_requests_overlap(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.latency_base_s = 0.3
    fake_anthropic.latency_per_output_token_s = 0.001
    loop = asyncio.get_running_loop()
    started = loop.time()

    results = await asyncio.gather(*(preview(llm, text=f"Scene {i}") for i in range(6)))

    elapsed = loop.time() - started
    for _, call in results:
        assert call.latency_ms >= 300 + call.usage.output_tokens
    assert elapsed < 1.5  # six 0.3 s+ calls in parallel (in series: over 1.8 s)
    assert fake_anthropic.peak_in_flight == 6


# --- construction from settings


async def test_from_settings_uses_the_configured_upstream_and_prices(fake_anthropic: FakeAnthropic) -> None:
    settings = Settings(
        anthropic_api_key=SecretStr(fake_anthropic.api_key),
        anthropic_base_url=fake_anthropic.base_url,
        llm_max_retries=1,
        llm_timeout_s=5,
    )
    client = LLMClient.from_settings(settings)
    try:
        _, call = await preview(client)
    finally:
        await client.aclose()

    assert len(fake_anthropic.message_requests) == 1
    preview_prices = Prices(
        settings.llm_preview_price_input_per_mtok,
        settings.llm_preview_price_output_per_mtok,
        settings.llm_preview_price_cache_write_per_mtok,
        settings.llm_preview_price_cache_read_per_mtok,
    )
    assert call.cost_usd == pytest.approx(preview_prices.cost(call.usage))
    assert client.prices_for(f"{settings.llm_model_preview}-20251001") == preview_prices
    assert client.prices_for("claude-unknown").input == settings.llm_price_input_per_mtok


def test_from_settings_needs_an_api_key() -> None:
    with pytest.raises(ValueError, match="offline"):
        LLMClient.from_settings(Settings(anthropic_api_key=None))
