"""The Message Batches half of LLMClient, through the real anthropic SDK against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from pydantic import BaseModel

from shared.llm.client import LLMClient, LLMRequestRejected, LLMUnavailable, Prices, cached_text_block
from tests.fakes.anthropic_server import FakeAnthropic

pytest_plugins = ["tests.fakes.fixtures"]

MODEL = "claude-sonnet-4-6"
PRICES = Prices(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)


class Answer(BaseModel):
    title: str
    score: int


@pytest.fixture
async def llm(fake_anthropic: FakeAnthropic) -> AsyncIterator[LLMClient]:
    sdk = AsyncAnthropic(api_key=fake_anthropic.api_key, base_url=fake_anthropic.base_url, max_retries=1)
    client = LLMClient(sdk, prices_by_model={MODEL: PRICES}, default_prices=PRICES, batch_discount=0.5)
    yield client
    await client.aclose()


def _request(llm: LLMClient, custom_id: str, text: str) -> Any:
    return llm.batch_request(
        custom_id,
        model=MODEL,
        system=[cached_text_block("You judge titles. " * 400)],
        messages=[{"role": "user", "content": text}],
        schema=Answer,
        tool_name="judge",
        tool_description="Judge the title",
        max_tokens=200,
    )


async def test_a_batch_is_in_progress_until_it_ends_then_every_answer_is_read_at_half_price(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.batch_delay_s = 0.3
    state = await llm.submit_batch([_request(llm, f"r{i}", f"title {i}") for i in range(3)], purpose="t")
    assert not state.ended
    assert state.total == state.processing == 3
    again = await llm.batch_state(state.batch_id, purpose="t")
    assert not again.ended  # the provider is still working: the caller must come back later
    fake_anthropic.batch_delay_s = 0.0
    fake_anthropic.batches[state.batch_id].ends_at = 0.0
    done = await llm.batch_state(state.batch_id, purpose="t")
    assert done.ended
    assert (done.succeeded, done.processing) == (3, 0)
    results = await llm.batch_results(state.batch_id, purpose="t")
    assert set(results) == {"r0", "r1", "r2"}  # matched by custom_id, whatever the file's order
    # The batch sent exactly what a normal call sends: forced tool, cached system prefix.
    params = fake_anthropic.batch_items[0]["params"]
    assert params["tool_choice"] == {"type": "tool", "name": "judge", "disable_parallel_tool_use": True}
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    for cid, message in results.items():
        assert message is not None
        answer = llm.read_batch_answer(
            message,
            messages=[{"role": "user", "content": cid}],
            schema=Answer,
            tool_name="judge",
            purpose="t",
        )
        assert answer.result is not None
        assert answer.correction is None
        u = answer.call.usage
        full = PRICES.cost(u)
        assert full > 0
        assert answer.call.cost_usd == pytest.approx(full / 2)
    # Items of one batch run as if at once: each pays the prefix write (the conservative model);
    # a later batch reads the prefix they cached.
    usages = [m.usage for m in results.values() if m is not None]
    assert all(u.cache_creation_input_tokens for u in usages)
    later = await llm.submit_batch([_request(llm, "again", "title 9")], purpose="t")
    fake_anthropic.batches[later.batch_id].ends_at = 0.0
    second = (await llm.batch_results(later.batch_id, purpose="t"))["again"]
    assert second is not None
    assert second.usage.cache_read_input_tokens


async def test_an_invalid_answer_comes_with_the_turns_of_one_corrective_call(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = lambda body: {"title": 3}
    state = await llm.submit_batch([_request(llm, "only", "a title")], purpose="t")
    results = await llm.batch_results(state.batch_id, purpose="t")
    message = results["only"]
    assert message is not None
    asked: list[Any] = [{"role": "user", "content": "a title"}]
    answer = llm.read_batch_answer(message, messages=asked, schema=Answer, tool_name="judge", purpose="t")
    assert answer.result is None
    assert answer.call.cost_usd > 0  # the invalid answer was still produced, and is billed
    assert answer.correction is not None
    assert answer.correction[0] == asked[0]
    assert answer.correction[1]["role"] == "assistant"
    fake_anthropic.responder = lambda body: {"title": "Fixed", "score": 2}
    fixed, call = await llm.structured(
        model=MODEL,
        system="s",
        messages=answer.correction,
        schema=Answer,
        tool_name="judge",
        tool_description="Judge the title",
        max_tokens=200,
        purpose="t",
    )
    assert fixed.title == "Fixed"
    assert call.cost_usd == pytest.approx(PRICES.cost(call.usage))  # a normal call: full price


async def test_unanswered_items_come_back_as_none(llm: LLMClient, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.fail_batch_items(1, "errored")
    fake_anthropic.fail_batch_items(1, "expired")
    state = await llm.submit_batch([_request(llm, f"r{i}", f"t{i}") for i in range(3)], purpose="t")
    done = await llm.batch_state(state.batch_id, purpose="t")
    assert (done.errored, done.expired, done.succeeded) == (1, 1, 1)
    results = await llm.batch_results(state.batch_id, purpose="t")
    assert [results[k] is None for k in ("r0", "r1", "r2")] == [True, True, False]


async def test_batch_endpoint_errors_are_the_clients_errors(
    llm: LLMClient, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.always_fail(529)
    with pytest.raises(LLMUnavailable):
        await llm.batch_state("msgbatch_x", purpose="t")
    fake_anthropic.recover()
    with pytest.raises(LLMRequestRejected):  # an unknown batch is a 404: retrying cannot help
        await llm.batch_state("msgbatch_unknown", purpose="t")
