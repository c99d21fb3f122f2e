"""Attempt numbers are unique and increasing per asset for ever (issue 12, point 11): deleting
the newest attempt, or merging another asset's images in, never hands out a number again. The
database enforces it, whatever number the writing code computes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import AssetAttempt, ProjectAsset
from tests.attempts.helpers import Env


def numbers(items: list[dict[str, Any]]) -> list[int]:
    return [a["attempt_number"] for a in items]


async def _generate(
    env: Env, auth: dict[str, str], pid: str, aid: str, count: int = 1
) -> list[dict[str, Any]]:
    for _ in range(count):
        job = await env.generate(auth, pid, aid)
        assert await env.run() == 1
        assert (await env.job(auth, job["id"]))["status"] == "succeeded"
    return await env.attempts(auth, pid, aid)


async def _delete(env: Env, auth: dict[str, str], pid: str, aid: str, number: int) -> None:
    items = await env.attempts(auth, pid, aid)
    tid = next(a["id"] for a in items if a["attempt_number"] == number)
    r = await env.client.delete(f"/v1/projects/{pid}/assets/{aid}/attempts/{tid}", headers=auth)
    assert r.status_code == 204, r.text


async def test_deleting_the_newest_attempt_does_not_free_its_number(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    assert numbers(await _generate(env, auth, pid, aid, 3)) == [3, 2, 1]
    await _delete(env, auth, pid, aid, 3)
    assert numbers(await _generate(env, auth, pid, aid)) == [4, 2, 1]
    for n in (4, 2, 1):
        await _delete(env, auth, pid, aid, n)
    assert numbers(await _generate(env, auth, pid, aid)) == [5]


async def test_merged_images_take_numbers_the_target_never_gave(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    target = await env.asset(auth, pid, name="Lamp")
    source = await env.asset(auth, pid, name="Old lamp")
    await _generate(env, auth, pid, target, 3)
    await _delete(env, auth, pid, target, 3)
    await _delete(env, auth, pid, target, 2)  # target keeps #1; it gave #2 and #3 before
    await _generate(env, auth, pid, source, 2)
    r = await env.client.post(
        f"/v1/projects/{pid}/assets/merge", json={"source_id": source, "target_id": target}, headers=auth
    )
    assert r.status_code == 200, r.text
    after_merge = numbers(await env.attempts(auth, pid, target))
    assert after_merge[-1] == 1
    assert min(after_merge[:-1]) >= 4, after_merge  # #2 and #3 are not handed out again
    assert len(set(after_merge)) == 3
    # The next generation neither collides with a moved image nor goes back.
    latest = numbers(await _generate(env, auth, pid, target))
    assert latest[0] == max(after_merge) + 1, latest


async def test_the_database_refuses_to_reuse_a_number(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Any writer, not only ``add_attempt``: a row written with an old number gets a new one."""
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    await _generate(env, auth, pid, aid, 2)
    await _delete(env, auth, pid, aid, 2)
    async with sessions() as s, s.begin():
        row = await s.scalar(select(AssetAttempt).where(AssetAttempt.asset_id == uuid.UUID(aid)))
        assert row is not None
        await s.execute(
            text(
                "INSERT INTO asset_attempts (id, asset_id, project_id, attempt_number, source, selected,"
                " storage_key, width, height, mime, bytes, cost_usd)"
                " VALUES (:id, :aid, :pid, 2, 'uploaded', false, 'k', 1, 1, 'image/png', 1, 0)"
            ),
            {"id": uuid.uuid4(), "aid": row.asset_id, "pid": row.project_id},
        )
    async with sessions() as s:
        got = list(
            await s.scalars(
                select(AssetAttempt.attempt_number)
                .where(AssetAttempt.asset_id == uuid.UUID(aid))
                .order_by(AssetAttempt.attempt_number)
            )
        )
        counter = await s.scalar(
            select(ProjectAsset.next_attempt_number).where(ProjectAsset.id == uuid.UUID(aid))
        )
    assert got == [1, 3]
    assert counter == 4
