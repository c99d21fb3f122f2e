"""Progress a person can read: extraction reports each chunk of scenes read and each batch of
assets described, as it happens, on the job's event stream."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from shared.config import Settings
from shared.jobs.events import channel
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
            "llm_describe_batch_size": 2,
            "llm_chunk_token_budget": 600,
        }
    )


def long_script(scenes: int = 24) -> str:
    places = ["KITCHEN", "HARBOUR", "LIGHTHOUSE", "MARKET", "STATION", "ROOFTOP"]
    out = ["Title: Progress\n"]
    for n in range(scenes):
        place = places[n % len(places)]
        out.append(
            f"INT. {place} - NIGHT\n\n"
            f"MARA (60s), in a yellow oilskin coat, crosses the {place.lower()} with a BRASS LANTERN. "
            "Rain hammers the windows; somewhere a radio plays an old waltz while TOM waits by the door, "
            "turning a silver key over and over in his cold hands.\n\n"
            "MARA\nWe leave at first light.\n\nTOM\nNot without the map.\n"
        )
    return "\n".join(out)


async def _follow(
    client: httpx.AsyncClient, auth: dict[str, str], jid: str, settings: Settings, redis: Redis
) -> list[dict[str, Any]]:
    """The job's events as a page following it from before it starts sees them."""

    async def work_once_followed() -> None:
        for _ in range(500):  # the stream subscribes within milliseconds
            if (await redis.pubsub_numsub(channel(jid)))[0][1]:
                break
            await asyncio.sleep(0.02)
        await run_burst("extractor", settings)

    worker = asyncio.create_task(work_once_followed())
    r = await client.get(f"/v1/jobs/{jid}/events", headers=auth, timeout=60)
    await worker
    assert r.status_code == 200
    return [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]


def _steps(seen: list[dict[str, Any]], pattern: str) -> list[tuple[int, int, float]]:
    found = []
    for e in seen:
        m = re.fullmatch(pattern, e.get("message") or "")
        if m:
            found.append((int(m.group(1)), int(m.group(2)), e["progress"]))
    return found


async def test_extraction_reports_each_chunk_and_each_described_batch(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    llm_settings: Settings,
    fake_anthropic: FakeAnthropic,
    redis: Redis,
) -> None:
    fake_anthropic.responder = ScreenplayResponder()
    pid = (await create_project(client, auth))["id"]
    await set_style(client, auth, pid, "watercolor")
    assert (await put_script(client, auth, pid, long_script())).status_code == 201
    r = await client.post(f"/v1/projects/{pid}/extract/preview", json={}, headers=auth)
    seen = await _follow(client, auth, r.json()["job"]["id"], llm_settings, redis)
    assert seen[-1]["status"] == "succeeded"
    chunks = _steps(seen, r"Read (\d+) of (\d+) parts of the script")
    total = chunks[0][1]
    assert total >= 3  # the budget split the script
    assert sorted(done for done, _, _ in chunks) == list(range(1, total + 1))  # every chunk, once
    fractions = [p for _, _, p in chunks]
    assert fractions == sorted(fractions)
    assert 0.05 < fractions[0] < fractions[-1] <= 0.95

    pv = (await client.get(f"/v1/projects/{pid}/extract/preview", headers=auth)).json()
    decisions = [{"key": e["key"], "decision": "keep"} for e in pv["entities"]]
    r = await client.post(f"/v1/projects/{pid}/extract/confirm", json={"decisions": decisions}, headers=auth)
    assert r.status_code == 202, r.text
    seen = await _follow(client, auth, r.json()["job"]["id"], llm_settings, redis)
    assert seen[-1]["status"] == "succeeded"
    described = _steps(seen, r"Described (\d+) of (\d+) assets")
    assets = described[0][1]
    assert assets == len(pv["entities"])
    assert len(described) == -(-assets // 2)  # one report per batch of two
    assert described[-1][0] == assets
    assert [d for d, _, _ in described] == sorted(d for d, _, _ in described)
