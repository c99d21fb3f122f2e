"""Generating images: prompt and style snapshots, background removal, sizes by type, style
required, views, generate-all, and the Stage 5 lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.images.sizing import size_for
from shared.models import Job, Project, ProjectAsset
from tests.attempts.helpers import Env, decode, make_env


async def test_generated_character_is_cut_out_on_transparency(env_any: Env, auth: dict[str, str]) -> None:
    env = env_any
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Mara", type="character", description="A weathered keeper.")
    job = await env.generate(auth, pid, aid, view="three-quarter")
    assert job["kind"] == "image.generate"
    await env.run()
    done = await env.job(auth, job["id"])
    assert done["status"] == "succeeded", done

    [attempt] = await env.attempts(auth, pid, aid)
    assert attempt["selected"] is True
    assert (attempt["source"], attempt["view"], attempt["mime"]) == (
        "generated",
        "three-quarter",
        "image/png",
    )
    assert (attempt["width"], attempt["height"]) == size_for("character", "16:9", base=256) == (256, 384)
    assert attempt["provider"] == "offline"
    assert attempt["cost_usd"] == 0
    assert "A weathered keeper." in attempt["prompt"]
    assert "Isolated subject on a plain background" in attempt["prompt"]
    assert "Three-quarter view" in attempt["prompt"]
    assert attempt["style"]["name"] == "Noir"
    assert attempt["style"]["prompt_fragment"].rstrip(".") in attempt["prompt"]

    image = decode(await env.download(attempt["image_url"]))
    assert image.mode == "RGBA"
    assert image.size == (256, 384)
    for corner in [(0, 0), (255, 0), (0, 383), (255, 383)]:
        assert image.getpixel(corner)[3] == 0, corner  # type: ignore[index]
    assert image.getpixel((128, 150))[3] == 255  # type: ignore[index]  # the figure's torso
    thumb = decode(await env.download(attempt["thumbnail_url"]))
    assert thumb.format == "WEBP"
    assert max(thumb.size) == 64
    assert len(await env.keys()) == 2

    asset = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    assert asset["image"]["attempt_id"] == attempt["id"]
    assert asset["attempt_count"] == 1


async def test_location_is_an_opaque_frame_of_the_project_ratio(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth, aspect_ratio="2.35:1")
    aid = await env.asset(auth, pid, name="Harbour", type="location", description="A grey stone quay.")
    job = await env.generate(auth, pid, aid)
    await env.run()
    assert (await env.job(auth, job["id"]))["status"] == "succeeded"
    [attempt] = await env.attempts(auth, pid, aid)
    assert "isolated" not in attempt["prompt"].lower()
    assert "plain background" not in attempt["prompt"].lower()
    image = decode(await env.download(attempt["image_url"]))
    assert image.size == size_for("location", "2.35:1", base=256) == (608, 256)
    assert image.mode == "RGB" or image.getchannel("A").getextrema() == (255, 255)


async def test_generation_without_style_is_refused(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = await env.project(auth, style=False)
    aid = await env.asset(auth, pid)
    for path in (f"assets/{aid}/attempts/generate", "assets/generate-all"):
        r = await env.client.post(f"/v1/projects/{pid}/{path}", json={}, headers=auth)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "style_required"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 0


async def test_view_is_for_characters_only(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    prop = await env.asset(auth, pid, type="prop")
    url = f"/v1/projects/{pid}/assets/{prop}/attempts/generate"
    r = await env.client.post(url, json={"view": "side"}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "view_not_allowed")
    r = await env.client.post(url, json={"view": "top"}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    missing = f"/v1/projects/{pid}/assets/{uuid.uuid4()}/attempts/generate"
    assert (await env.client.post(missing, headers=auth)).status_code == 404


async def test_generate_all_dry_run_then_for_real(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = await env.project(auth)
    mara = await env.asset(auth, pid, name="Mara", type="character")
    quay = await env.asset(auth, pid, name="Quay", type="location")
    await env.asset(auth, pid, name="Deferred lamp", type="prop", deferred=True)
    stale = await env.asset(auth, pid, name="Vanished net", type="prop")
    has_image = await env.asset(auth, pid, name="Telescope", type="prop")
    await env.generate(auth, pid, has_image)
    await env.run()
    async with sessions() as s:
        await s.execute(update(ProjectAsset).where(ProjectAsset.id == stale).values(stale=True))
        await s.commit()
        jobs_before = await s.scalar(select(func.count()).select_from(Job))

    url = f"/v1/projects/{pid}/assets/generate-all"
    r = await env.client.post(url, json={"dry_run": True}, headers=auth)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["dry_run"] is True
    assert (plan["provider"], plan["count"], plan["estimated_cost_usd"]) == ("offline", 2, 0)
    assert {a["asset_id"] for a in plan["assets"]} == {mara, quay}
    assert {(a["name"], a["width"], a["height"]) for a in plan["assets"]} == {
        ("Mara", 256, 384),
        ("Quay", *size_for("location", "16:9", base=256)),
    }
    assert plan["jobs"] == []
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == jobs_before

    r = await env.client.post(url, json={}, headers=auth)
    assert r.status_code == 202, r.text
    assert len(r.json()["batch"]["jobs"]) == 2  # one batch since issue 9
    again = await env.client.post(url, json={"dry_run": True}, headers=auth)
    assert again.json()["count"] == 0  # already pending: not planned twice
    await env.run()
    for aid in (mara, quay):
        assert len(await env.attempts(auth, pid, aid)) == 1


async def test_generate_all_estimates_the_hosted_price(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    hosted = {"image_provider": "openai", "image_price_per_image_usd": 0.25}
    async with make_env(settings, tmp_path, overrides=hosted) as env:
        pid = await env.project(auth)
        for name in ("A", "B", "C"):
            await env.asset(auth, pid, name=name, type="prop")
        url = f"/v1/projects/{pid}/assets/generate-all"
        plan = (await env.client.post(url, json={"dry_run": True}, headers=auth)).json()
    assert (plan["provider"], plan["model"], plan["count"]) == ("openai", "gpt-image-1", 3)
    assert plan["estimated_cost_usd"] == 0.75


async def test_stage_lock_blocks_every_attempts_write(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    await env.generate(auth, pid, aid)
    await env.run()
    [attempt] = await env.attempts(auth, pid, aid)
    async with sessions() as s:
        await s.execute(update(Project).where(Project.id == pid).values(stage5_locked_at=datetime.now(UTC)))
        await s.commit()
    base = f"/v1/projects/{pid}/assets"
    tid = attempt["id"]
    for method, path, body in [
        ("POST", f"{base}/{aid}/attempts/generate", {}),
        ("POST", f"{base}/{aid}/attempts/{tid}/select", None),
        ("DELETE", f"{base}/{aid}/attempts/{tid}", None),
        ("POST", f"{base}/{aid}/description/apply", {"job_id": str(uuid.uuid4()), "mode": "keep"}),
        ("POST", f"{base}/generate-all", {"dry_run": True}),
    ]:
        r = await env.client.request(method, path, json=body, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "stage_locked"), (method, path)
    r = await env.upload(auth, pid, aid, b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "stage_locked")
    assert len(await env.attempts(auth, pid, aid)) == 1  # reading stays open


async def test_drawing_views_keeps_the_master_image(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Mara", type="character", description="A weathered keeper.")
    await env.generate(auth, pid, aid)
    await env.run()
    [master] = await env.attempts(auth, pid, aid)
    for view in ("front", "side", "three-quarter", "back"):  # as many views as the cap (4)
        await env.generate(auth, pid, aid, view=view)
    await env.run()
    carousel = await env.attempts(auth, pid, aid)
    selected = [a for a in carousel if a["selected"]]
    assert [a["id"] for a in selected] == [master["id"]]  # still the asset's image, still there
    assert sorted(a["view"] for a in carousel if a["view"]) == ["back", "front", "side", "three-quarter"]
    # A second side view replaces the first one, not another image.
    await env.generate(auth, pid, aid, view="side")
    await env.run()
    again = await env.attempts(auth, pid, aid)
    assert len(again) == len(carousel)
    assert master["id"] in {a["id"] for a in again}


async def test_an_image_made_from_an_old_description_is_marked_stale(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, name="Mara", type="character", description="A weathered keeper.")
    await env.generate(auth, pid, aid)
    await env.run()
    [fresh] = await env.attempts(auth, pid, aid)
    assert fresh["stale"] is False
    r = await env.client.patch(
        f"/v1/projects/{pid}/assets/{aid}",
        json={"description": "A young keeper in a red coat."},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    [old] = await env.attempts(auth, pid, aid)
    assert old["stale"] is True
    assert "A weathered keeper." in old["prompt"]  # the text it was made from
    await env.generate(auth, pid, aid)
    await env.run()
    newest, older = await env.attempts(auth, pid, aid)
    assert (newest["stale"], older["stale"]) == (False, True)  # nothing deleted, the new one is fresh
