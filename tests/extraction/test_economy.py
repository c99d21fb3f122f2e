"""Economy confirm: the description pass through the Message Batches API at half price, through
HTTP, the real extractor worker (burst) and the real anthropic SDK against the fake Anthropic."""

from __future__ import annotations

import asyncio
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.llm.usage import Prices, Usage
from shared.models import Job, LLMCallRecord, ProjectAsset
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.screenplay_responder import ScreenplayResponder
from tests.support.factories import create_project, put_script, set_style
from tests.support.workers import run_burst

BATCH = 3


@pytest.fixture
def llm_settings(settings: Settings, fake_anthropic: FakeAnthropic) -> Settings:
    return settings.model_copy(
        update={
            "anthropic_api_key": SecretStr(fake_anthropic.api_key),
            "anthropic_base_url": fake_anthropic.base_url,
            "llm_max_retries": 0,
            "job_transient_retries": 0,
            "job_retry_defer_s": 0.1,
            "llm_describe_batch_size": BATCH,
            "llm_batch_describe_size": BATCH,
            "llm_chunk_token_budget": 1500,
            "llm_batch_poll_s": 0.1,
        }
    )


def describe_prices(settings: Settings) -> Prices:
    return Prices(
        input=settings.llm_price_input_per_mtok,
        output=settings.llm_price_output_per_mtok,
        cache_write=settings.llm_price_cache_write_per_mtok,
        cache_read=settings.llm_price_cache_read_per_mtok,
    )


def usage_of(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=raw["input_tokens"],
        output_tokens=raw["output_tokens"],
        cache_creation_input_tokens=raw["cache_creation_input_tokens"],
        cache_read_input_tokens=raw["cache_read_input_tokens"],
    )


def batch_usages(fake: FakeAnthropic) -> list[Usage]:
    """What the provider reported for every answered batch item."""
    return [
        usage_of(r["result"]["message"]["usage"])
        for b in fake.batches.values()
        for r in b.results
        if r["result"]["type"] == "succeeded"
    ]


async def previewed_project(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings, samples_dir: Path
) -> tuple[str, list[dict[str, Any]]]:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid, "watercolor")
    r = await put_script(client, auth, pid, (samples_dir / "brick-and-steel.fountain").read_text())
    assert r.status_code == 201
    r = await client.post(f"/v1/projects/{pid}/extract/preview", json={}, headers=auth)
    assert r.status_code == 202
    await run_burst("extractor", settings)
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    keep = [e for e in pv["entities"] if e["type"] in ("character", "location")]
    assert len(keep) > BATCH  # several batch items
    return pid, keep


async def confirm_economy(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str, keep: list[dict[str, Any]]
) -> str:
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    keys = {e["key"] for e in keep}
    decisions = [
        {"key": e["key"], "decision": "keep" if e["key"] in keys else "defer"} for e in pv["entities"]
    ]
    r = await client.post(
        f"/v1/projects/{pid}/extract/confirm", json={"decisions": decisions, "economy": True}, headers=auth
    )
    assert r.status_code == 202, r.text
    return str(r.json()["job"]["id"])


async def job(client: httpx.AsyncClient, auth: dict[str, str], jid: str) -> dict[str, Any]:
    return dict((await client.get(f"/v1/jobs/{jid}", headers=auth)).json())


async def test_economy_confirm_waits_for_the_batch_without_a_slot_and_bills_half(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    sessions: async_sessionmaker[AsyncSession],
    samples_dir: Path,
) -> None:
    fake_anthropic.responder = ScreenplayResponder()
    pid, keep = await previewed_project(client, auth, llm_settings, samples_dir)
    fake_anthropic.requests.clear()
    fake_anthropic.batch_delay_s = 1.5
    # Fewer tries than the polls this batch takes: waiting must not use them up.
    settings = llm_settings.model_copy(update={"job_max_tries": 2})
    jid = await confirm_economy(client, auth, pid, keep)
    worker = asyncio.create_task(run_burst("extractor", settings))
    seen: dict[str, Any] = {}
    for _ in range(100):
        seen = await job(client, auth, jid)
        if seen["status"] == "queued" and seen["message"]:
            break
        await asyncio.sleep(0.05)
    items = math.ceil(len(keep) / BATCH)
    assert seen["status"] == "queued"
    assert seen["message"].startswith(f"Waiting for the provider's batch: {items} requests")
    await asyncio.wait_for(worker, 30)
    done = await job(client, auth, jid)
    assert done["status"] == "succeeded", done
    assert done["message"] is None
    assert done["tries"] > settings.job_max_tries  # it polled more often than it may fail
    # Everything went through the one batch: no normal call, every kept asset asked once.
    assert fake_anthropic.message_requests == []
    assert len(fake_anthropic.batches) == 1
    asked = "\n".join(json.dumps(i["params"]["messages"]) for i in fake_anthropic.batch_items)
    assert all(f"- {e['name']} (" in asked for e in keep)
    assert len(fake_anthropic.batch_items) == items
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(ProjectAsset).where(ProjectAsset.project_id == pid, ProjectAsset.deferred.is_(False))
            )
        )
        assert len(rows) == len(keep)
        assert all(a.description and a.meta["confidence"] == 0.8 for a in rows)
        assert (
            await s.scalar(select(func.count()).select_from(LLMCallRecord).where(LLMCallRecord.job_id == jid))
            == items
        )
    usages = batch_usages(fake_anthropic)
    full = sum(describe_prices(llm_settings).cost(u) for u in usages)
    assert done["cost"]["usd"] == pytest.approx(full / 2, abs=2e-6)
    assert done["cost"]["input_tokens"] == sum(u.input_tokens for u in usages)


async def test_unanswered_and_invalid_items_get_one_normal_call_each(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    sessions: async_sessionmaker[AsyncSession],
    samples_dir: Path,
) -> None:
    screenplay = ScreenplayResponder()
    fake_anthropic.responder = screenplay
    pid, keep = await previewed_project(client, auth, llm_settings, samples_dir)
    fake_anthropic.requests.clear()
    calls = {"n": 0}

    def second_answer_invalid(body: dict[str, Any]) -> dict[str, Any] | str:
        calls["n"] += 1
        if calls["n"] == 2:
            return {"descriptions": [{"name": 3}]}
        return screenplay(body)

    fake_anthropic.responder = second_answer_invalid
    fake_anthropic.fail_batch_items(1, "errored")  # the first item: the provider gave up on it
    jid = await confirm_economy(client, auth, pid, keep)
    await run_burst("extractor", llm_settings)
    done = await job(client, auth, jid)
    assert done["status"] == "succeeded", done
    normal = fake_anthropic.message_requests
    assert len(normal) == 2  # one for the errored item, one correction for the invalid one
    bodies = [r.body or {} for r in normal]
    fresh = [b for b in bodies if len(b["messages"]) == 1]
    corrective = [b for b in bodies if len(b["messages"]) == 3]
    assert len(fresh) == len(corrective) == 1
    assert corrective[0]["messages"][2]["content"][0]["is_error"] is True
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(ProjectAsset).where(ProjectAsset.project_id == pid, ProjectAsset.deferred.is_(False))
            )
        )
        assert len(rows) == len(keep)
        assert all(a.description for a in rows)  # nobody left empty by the batch's misses
    prices = describe_prices(llm_settings)
    expected = sum(prices.cost(u) for u in batch_usages(fake_anthropic)) / 2 + sum(
        prices.cost(usage_of((r.response or {})["usage"])) for r in normal
    )
    assert done["cost"]["usd"] == pytest.approx(expected, abs=5e-6)


async def test_a_failed_delivery_after_reading_the_results_does_not_bill_them_twice(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    sessions: async_sessionmaker[AsyncSession],
    samples_dir: Path,
) -> None:
    screenplay = ScreenplayResponder()
    fake_anthropic.responder = screenplay
    pid, keep = await previewed_project(client, auth, llm_settings, samples_dir)
    fake_anthropic.requests.clear()
    items = math.ceil(len(keep) / BATCH)
    calls = {"n": 0}

    def first_fallback_breaks(body: dict[str, Any]) -> dict[str, Any] | str:
        calls["n"] += 1
        if calls["n"] == items + 1:  # after the batch's answers: the first normal call fails
            raise RuntimeError("upstream broke")
        return screenplay(body)

    fake_anthropic.responder = first_fallback_breaks
    fake_anthropic.fail_batch_items(1, "expired")
    settings = llm_settings.model_copy(update={"job_transient_retries": 1})
    jid = await confirm_economy(client, auth, pid, keep)
    await run_burst("extractor", settings)
    done = await job(client, auth, jid)
    assert done["status"] == "succeeded", done
    # Two deliveries read the ended batch's results; its answers are billed once.
    results_reads = [r for r in fake_anthropic.requests if r.path.endswith("/results")]
    assert len(results_reads) == 2
    usages = batch_usages(fake_anthropic)
    assert len(usages) == items - 1
    async with sessions() as s:
        batch_rows = await s.scalar(
            select(func.count())
            .select_from(LLMCallRecord)
            .where(LLMCallRecord.job_id == jid, LLMCallRecord.latency_ms == 0, LLMCallRecord.input_tokens > 0)
        )
        assert batch_rows == items - 1
        row = await s.get(Job, jid)
        assert row is not None
    answered = [r for r in fake_anthropic.message_requests if r.status == 200]
    prices = describe_prices(llm_settings)
    expected = sum(prices.cost(u) for u in usages) / 2 + sum(
        prices.cost(usage_of((r.response or {})["usage"])) for r in answered
    )
    assert row.cost_usd == Decimal(str(round(expected, 6))) or float(row.cost_usd) == pytest.approx(
        expected, abs=5e-6
    )
    assert row.input_tokens == sum(u.input_tokens for u in usages) + sum(
        (r.response or {})["usage"]["input_tokens"] for r in answered
    )


async def test_economy_must_be_a_boolean(
    client: httpx.AsyncClient, auth: dict[str, str], llm_settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    pid = str((await create_project(client, auth))["id"])
    r = await client.post(
        f"/v1/projects/{pid}/extract/confirm", json={"decisions": [], "economy": "maybe"}, headers=auth
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"]
