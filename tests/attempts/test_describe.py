"""Describe an asset from its image (3A.7): offline, and through the real anthropic SDK against the
fake Anthropic server; then apply keep / replace / merge."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import LLMCallRecord
from tests.attempts.helpers import Env, make_env
from tests.fakes.anthropic_server import FakeAnthropic

DESCRIPTION = "Mara, sixties, weathered face, yellow oilskin coat, carries a brass lantern."
MERGED = "Mara, sixties, grey hair tied back, weathered face, long yellow oilskin coat, brass lantern."


async def describe(env: Env, auth: dict[str, str], pid: str, aid: str) -> dict[str, Any]:
    """Generate an image, ask for its description, run the extractor; the finished job."""
    await env.generate(auth, pid, aid)
    await env.run()
    [attempt] = await env.attempts(auth, pid, aid)
    r = await env.client.post(
        f"/v1/projects/{pid}/assets/{aid}/attempts/{attempt['id']}/describe", headers=auth
    )
    assert r.status_code == 202, r.text
    assert r.json()["job"]["kind"] == "attempt.describe"
    await env.run("extractor")
    return await env.job(auth, r.json()["job"]["id"])


async def apply(env: Env, auth: dict[str, str], pid: str, aid: str, job_id: str, mode: str) -> dict[str, Any]:
    r = await env.client.post(
        f"/v1/projects/{pid}/assets/{aid}/description/apply",
        json={"job_id": job_id, "mode": mode},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_describe_without_a_vision_model_says_so_and_never_touches_the_description(
    env: Env, auth: dict[str, str]
) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Mara", type="character", description=DESCRIPTION)
    job = await describe(env, auth, pid, aid)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert (result["engine"], result["vision"]) == ("offline", False)
    assert "No vision model is configured" in result["note"]
    text = result["image_description"]  # what could be measured is still reported, apart
    assert "A portrait image, 256x384 px" in text
    assert "transparent background" in text
    # Every option is the description as it is: applying any of them changes nothing.
    assert result["options"] == {"keep": DESCRIPTION, "replace": DESCRIPTION, "merge": DESCRIPTION}
    before = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    for mode in ("merge", "replace", "keep"):
        after = await apply(env, auth, pid, aid, job["id"], mode)
        assert after["description"] == DESCRIPTION
        assert "[offline]" not in after["description"]
        assert after["version"] == before["version"]


async def test_description_through_the_vision_model(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    fake_anthropic: FakeAnthropic,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    fake_anthropic.responder = lambda body: {
        "description": "An older woman in a long yellow oilskin coat, grey hair tied back.",
        "script_details_missing": ["carries a brass lantern"],
        "merged": MERGED,
    }
    llm = {
        "anthropic_api_key": SecretStr(fake_anthropic.api_key),
        "anthropic_base_url": fake_anthropic.base_url,
    }
    async with make_env(settings, tmp_path, overrides=llm) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid, name="Mara", type="character", description=DESCRIPTION)
        job = await describe(env, auth, pid, aid)
        assert job["status"] == "succeeded", job
        options = job["result"]["options"]
        assert job["result"]["engine"] == "llm"
        assert options == {
            "keep": DESCRIPTION,
            "replace": "An older woman in a long yellow oilskin coat, grey hair tied back. "
            "Also from the script: carries a brass lantern.",
            "merge": MERGED,
        }
        assert job["cost"]["input_tokens"] > 0
        assert job["cost"]["usd"] > 0
        for mode in ("replace", "merge", "keep"):
            assert (await apply(env, auth, pid, aid, job["id"], mode))["description"] == options[mode]

    [request] = fake_anthropic.message_requests
    assert request.body is not None
    assert request.body["model"] == settings.llm_model_describe
    image_block, text_block = request.body["messages"][0]["content"]
    assert image_block["type"] == "image"
    assert image_block["source"]["media_type"] == "image/png"  # the cut-out keeps its transparency
    sent = Image.open(io.BytesIO(base64.b64decode(image_block["source"]["data"])))
    assert max(sent.size) <= 1568
    assert DESCRIPTION in text_block["text"]
    async with sessions() as s:
        [call] = (await s.scalars(select(LLMCallRecord))).all()
    assert (call.purpose, str(call.job_id)) == ("attempt.describe", job["id"])


async def test_apply_refuses_anything_but_a_finished_describe_of_this_asset(
    env: Env, auth: dict[str, str]
) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    other = await env.asset(auth, pid, name="Other")
    generate_job = await env.generate(auth, pid, aid)
    await env.run()
    [attempt] = await env.attempts(auth, pid, aid)
    url = f"/v1/projects/{pid}/assets/{aid}/description/apply"

    async def code(job_id: str, mode: str = "merge", path: str = url) -> tuple[int, str]:
        r = await env.client.post(path, json={"job_id": job_id, "mode": mode}, headers=auth)
        return r.status_code, r.json()["error"]["code"]

    assert await code(generate_job["id"]) == (422, "not_a_describe_job")
    pending = (
        await env.client.post(
            f"/v1/projects/{pid}/assets/{aid}/attempts/{attempt['id']}/describe", headers=auth
        )
    ).json()["job"]
    assert await code(pending["id"]) == (409, "describe_pending")
    other_url = f"/v1/projects/{pid}/assets/{other}/description/apply"
    assert await code(pending["id"], path=other_url) == (422, "not_a_describe_job")
    assert await code("00000000-0000-0000-0000-000000000000") == (404, "not_found")
    r = await env.client.post(url, json={"job_id": pending["id"], "mode": "rewrite"}, headers=auth)
    assert r.status_code == 422
