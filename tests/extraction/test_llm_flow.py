"""Extraction through the real anthropic SDK against the fake Anthropic server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import LLMCallRecord, ProjectAsset
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.screenplay_responder import ScreenplayResponder
from tests.support.factories import create_project, put_script, set_style
from tests.support.workers import run_burst


@pytest.fixture
def llm_settings(settings: Settings, fake_anthropic: FakeAnthropic) -> Settings:
    return settings.model_copy(
        update={
            "anthropic_api_key": SecretStr(fake_anthropic.api_key),
            "anthropic_base_url": fake_anthropic.base_url,
            "llm_max_retries": 1,
            "job_transient_retries": 0,
            "llm_describe_batch_size": 3,
            "llm_chunk_token_budget": 1500,
        }
    )


async def start(
    client: httpx.AsyncClient, auth: dict[str, str], pid: str, path: str, body: dict[str, Any] | None = None
) -> str:
    r = await client.post(f"/v1/projects/{pid}/{path}", json=body or {}, headers=auth)
    assert r.status_code == 202, r.text
    return str(r.json()["job"]["id"])


async def job(client: httpx.AsyncClient, auth: dict[str, str], jid: str) -> dict[str, Any]:
    return dict((await client.get(f"/v1/jobs/{jid}", headers=auth)).json())


async def project_with_script(
    client: httpx.AsyncClient, auth: dict[str, str], text: str | None = None
) -> str:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid, "watercolor")
    r = await put_script(client, auth, pid, text) if text else await put_script(client, auth, pid)
    assert r.status_code == 201
    return pid


async def test_preview_spends_tokens_only_on_what_the_parser_cannot_know(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    samples_dir: Path,
) -> None:
    fake_anthropic.responder = ScreenplayResponder()
    text = (samples_dir / "the-last-birthday-card.fountain").read_text()
    pid = await project_with_script(client, auth, text)
    jid = await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    done = await job(client, auth, jid)
    assert done["status"] == "succeeded", done
    calls = fake_anthropic.message_requests
    assert len(calls) > 1  # chunked under the token budget, one call per chunk
    sent = "\n".join(json.dumps(c.body) for c in calls)
    assert "Speakers:" in sent
    # Dialogue never goes to the model; the parser already knows who speaks.
    assert "I just wanted to" not in sent or "I just wanted to" not in text
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    types = {e["type"] for e in pv["entities"]}
    assert {"character", "location", "prop"} <= types
    assert done["cost"]["input_tokens"] > 0
    assert done["cost"]["usd"] > 0
    costs = (await client.get(f"/v1/projects/{pid}/costs", headers=auth)).json()
    kinds = {k["kind"]: k for k in costs["by_kind"]}
    assert kinds["extract.preview"]["input_tokens"] == done["cost"]["input_tokens"]
    assert costs["llm_usd"] == pytest.approx(done["cost"]["usd"])


async def test_llm_preview_then_confirm_describes_in_cached_batches(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    sessions: async_sessionmaker[AsyncSession],
    samples_dir: Path,
) -> None:
    fake_anthropic.responder = ScreenplayResponder()
    pid = await project_with_script(client, auth, (samples_dir / "brick-and-steel.fountain").read_text())
    await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    keep = [e for e in pv["entities"] if e["type"] in ("character", "location")]
    decisions = [{"key": e["key"], "decision": "keep" if e in keep else "defer"} for e in pv["entities"]]
    fake_anthropic.requests.clear()
    r = await client.post(f"/v1/projects/{pid}/extract/confirm", json={"decisions": decisions}, headers=auth)
    assert r.status_code == 202
    await run_burst("extractor", llm_settings)
    done = await job(client, auth, r.json()["job"]["id"])
    assert done["status"] == "succeeded", done
    calls = fake_anthropic.message_requests
    assert len(calls) == -(-len(keep) // 3)  # batches of 3, deferred ones cost nothing
    described = "\n".join(json.dumps((c.body or {})["messages"]) for c in calls)
    deferred_names = [e["name"] for e in pv["entities"] if e not in keep]
    assert not [n for n in deferred_names if f"- {n} (" in described], [
        n for n in deferred_names if f"- {n} (" in described
    ]
    usage = [c.response["usage"] for c in calls if c.response is not None]
    assert sum(u["cache_read_input_tokens"] for u in usage) > 0  # the shared prefix paid once
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(ProjectAsset).where(ProjectAsset.project_id == pid, ProjectAsset.deferred.is_(False))
            )
        )
        assert rows
        assert all(a.description and a.meta["confidence"] == 0.8 for a in rows)
        assert await s.scalar(
            select(func.count()).select_from(LLMCallRecord).where(LLMCallRecord.purpose == "describe")
        ) == len(calls)


async def test_invalid_model_output_fails_cleanly_after_one_correction(
    client: httpx.AsyncClient, auth: dict[str, str], llm_settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = ScreenplayResponder(invalid_times=100)
    pid = await project_with_script(client, auth)
    jid = await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    done = await job(client, auth, jid)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "invalid_model_output"
    assert len(fake_anthropic.message_requests) == 2  # the answer, then one corrective retry
    assert done["cost"]["input_tokens"] > 0  # failed calls are still billed and reported
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    assert pv["entities"] == []
    assert pv["job"]["status"] == "failed"


async def test_corrected_output_succeeds(
    client: httpx.AsyncClient, auth: dict[str, str], llm_settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = ScreenplayResponder(invalid_times=1)
    pid = await project_with_script(client, auth)
    jid = await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    assert (await job(client, auth, jid))["status"] == "succeeded"


async def test_upstream_down_fails_then_user_retries(
    client: httpx.AsyncClient, auth: dict[str, str], llm_settings: Settings, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.responder = ScreenplayResponder()
    fake_anthropic.always_fail(529, retry_after=0.05, error_type="overloaded_error")
    pid = await project_with_script(client, auth)
    jid = await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    done = await job(client, auth, jid)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "upstream_unavailable"
    assert len(fake_anthropic.message_requests) == 2  # the SDK retried (llm_max_retries=1)

    fake_anthropic.recover()
    again = await start(client, auth, pid, "extract/preview")
    await run_burst("extractor", llm_settings)
    assert (await job(client, auth, again))["status"] == "succeeded"
    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    assert pv["job"]["id"] == again
    assert pv["entities"]
