"""The carousel: cap and eviction order, select, delete (selected or not), and an asset deleted
while its image was being made."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.attempts.helpers import Env, attempt_keys
from tests.support.factories import create_project


def numbers(items: list[dict[str, Any]]) -> list[int]:
    return [a["attempt_number"] for a in items]


def selected(items: list[dict[str, Any]]) -> list[int]:
    return [a["attempt_number"] for a in items if a["selected"]]


async def test_cap_evicts_the_oldest_unselected_with_its_objects(
    env_any: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    env = env_any
    assert env.settings.attempt_cap == 4
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, type="prop")

    async def generate_one() -> list[dict[str, Any]]:
        await env.generate(auth, pid, aid)
        assert await env.run() == 1
        return await env.attempts(auth, pid, aid)

    for _ in range(4):
        items = await generate_one()
    assert numbers(items) == [4, 3, 2, 1]  # newest first
    assert selected(items) == [4]  # a new attempt becomes selected
    first = next(a for a in items if a["attempt_number"] == 1)
    r = await env.client.post(f"/v1/projects/{pid}/assets/{aid}/attempts/{first['id']}/select", headers=auth)
    assert selected(r.json()["items"]) == [1]
    second_keys = await attempt_keys(sessions, 2)
    assert len(second_keys) == 2

    items = await generate_one()  # 5th: #1 is the user's pick, so the oldest *unselected* (#2) goes
    assert numbers(items) == [5, 4, 3, 1]
    assert selected(items) == [5]
    stored = await env.keys()
    assert not second_keys & stored
    assert stored == await attempt_keys(sessions)

    items = await generate_one()  # 6th: #1 is unselected now and the oldest
    assert numbers(items) == [6, 5, 4, 3]
    assert await env.keys() == await attempt_keys(sessions)
    asset = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    assert asset["attempt_count"] == 4


async def test_delete_selected_leaves_the_asset_imageless(
    env_any: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    env = env_any
    pid = await env.project(auth)
    aid = await env.asset(auth, pid, type="character", name="Tom")
    for _ in range(2):
        await env.generate(auth, pid, aid)
    await env.run()
    items = await env.attempts(auth, pid, aid)
    [chosen] = [a for a in items if a["selected"]]
    other = next(a for a in items if not a["selected"])
    url = f"/v1/projects/{pid}/assets/{aid}/attempts"

    assert (await env.client.delete(f"{url}/{chosen['id']}", headers=auth)).status_code == 204
    asset = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    assert asset["image"] is None  # description-only: nothing is promoted in its place
    assert asset["attempt_count"] == 1
    assert asset["description"]
    left = await env.attempts(auth, pid, aid)
    assert [a["id"] for a in left] == [other["id"]]
    assert left[0]["selected"] is False
    assert await env.keys() == await attempt_keys(sessions)
    assert len(await env.keys()) == 2

    assert (await env.client.delete(f"{url}/{other['id']}", headers=auth)).status_code == 204
    assert await env.keys() == set()
    assert (await env.client.delete(f"{url}/{other['id']}", headers=auth)).status_code == 404
    asset = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    assert (asset["image"], asset["attempt_count"]) == (None, 0)


async def test_select_switches_the_assets_image(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    other_asset = await env.asset(auth, pid, name="Other")
    for _ in range(2):
        await env.generate(auth, pid, aid)
    await env.run()
    items = await env.attempts(auth, pid, aid)
    older = items[-1]
    url = f"/v1/projects/{pid}/assets/{aid}/attempts"

    r = await env.client.post(f"{url}/{older['id']}/select", headers=auth)
    assert r.status_code == 200, r.text
    assert selected(r.json()["items"]) == [older["attempt_number"]]
    asset = (await env.client.get(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).json()
    assert asset["image"]["attempt_id"] == older["id"]
    again = await env.client.post(f"{url}/{older['id']}/select", headers=auth)  # idempotent
    assert selected(again.json()["items"]) == [older["attempt_number"]]

    assert (await env.client.post(f"{url}/{uuid.uuid4()}/select", headers=auth)).status_code == 404
    wrong_asset = f"/v1/projects/{pid}/assets/{other_asset}/attempts/{older['id']}/select"
    assert (await env.client.post(wrong_asset, headers=auth)).status_code == 404


async def test_other_users_carousel_is_not_found(
    env: Env, auth: dict[str, str], other_user: uuid.UUID
) -> None:
    from tests.conftest import auth_for

    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    stranger = auth_for(env.settings, other_user)
    assert (
        await env.client.get(f"/v1/projects/{pid}/assets/{aid}/attempts", headers=stranger)
    ).status_code == 404
    r = await env.client.post(f"/v1/projects/{pid}/assets/{aid}/attempts/generate", headers=stranger)
    assert r.status_code == 404
    own = (await create_project(env.client, stranger))["id"]  # their project, our asset id
    assert (
        await env.client.get(f"/v1/projects/{own}/assets/{aid}/attempts", headers=stranger)
    ).status_code == 404


async def test_asset_deleted_before_its_job_ran_is_discarded(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    job = await env.generate(auth, pid, aid)
    assert (await env.client.delete(f"/v1/projects/{pid}/assets/{aid}", headers=auth)).status_code == 204
    await env.run()
    done = await env.job(auth, job["id"])
    assert (done["status"], done["result"]["discarded"], done["result"]["attempt_id"]) == (
        "succeeded",
        True,
        None,
    )
    assert await env.keys() == set()
