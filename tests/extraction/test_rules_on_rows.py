"""Reconcile and merge rules on rows built directly: no HTTP, no worker."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.assets.merge import merge_assets
from shared.db import session_scope
from shared.extraction import reconcile
from shared.extraction.schemas import PreviewEntity
from shared.models import AssetSceneLink, ProjectAsset, Scene
from tests.support.factories import link, make_asset, make_project, make_script


async def scenes_of(s: AsyncSession, script_id: uuid.UUID) -> list[Scene]:
    return list(await s.scalars(select(Scene).where(Scene.script_id == script_id).order_by(Scene.position)))


async def test_reconcile_keeps_manual_links_and_marks_vanished_assets_stale(
    sessions: async_sessionmaker[AsyncSession], clean: None
) -> None:
    async with session_scope(sessions) as s:
        project = await make_project(s)
        script = await make_script(s, project)
        scenes = list(
            await s.scalars(select(Scene).where(Scene.script_id == script.id).order_by(Scene.position))
        )
        mara = await make_asset(s, project, name="Mara", entity_key="character:mara")
        gone = await make_asset(s, project, name="Old Sailor", entity_key="character:old-sailor")
        manual = await link(s, mara, scenes[1], source="manual")
        entities = [("character:mara", PreviewEntity(name="Mara", type="character", scene_numbers=[1, 3]))]
        assets = [mara, gone]
        plan = reconcile.Plan(
            entities=entities,
            decisions={},
            index=reconcile.AssetIndex.build(assets),
            assets=assets,
            dismissed=set(),
            script=script,
        )
        summary, to_describe = await reconcile.apply(s, project, plan)
    assert (summary.updated, summary.stale, summary.created) == (1, 1, 0)
    assert to_describe == [mara.id]
    async with sessions() as s:
        links = {
            (row.scene_id, row.source)
            for row in await s.scalars(select(AssetSceneLink).where(AssetSceneLink.asset_id == mara.id))
        }
        assert (manual.scene_id, "manual") in links
        assert {(scenes[0].id, "extracted"), (scenes[2].id, "extracted")} <= links
        stale = await s.get(ProjectAsset, gone.id)
        assert stale is not None
        assert stale.stale


async def test_merge_unites_names_and_scenes_without_duplicate_links(
    sessions: async_sessionmaker[AsyncSession], clean: None
) -> None:
    async with session_scope(sessions) as s:
        project = await make_project(s)
        script = await make_script(s, project)
        scenes = list(
            await s.scalars(select(Scene).where(Scene.script_id == script.id).order_by(Scene.position))
        )
        peter = await make_asset(s, project, name="Peter", aliases=["Pete"])
        dyle = await make_asset(s, project, name="Dyle")
        for scene in scenes[:2]:
            await link(s, peter, scene)
        for scene in scenes[1:]:
            await link(s, dyle, scene)
        target = await merge_assets(s, project, source_id=dyle.id, target_id=peter.id, description=None)
        target_id = target.id
    async with sessions() as s:
        merged = await s.get(ProjectAsset, target_id)
        assert merged is not None
        assert merged.aliases == ["Pete", "Dyle"]
        assert await s.get(ProjectAsset, dyle.id) is None
        rows = list(
            await s.scalars(select(AssetSceneLink.scene_id).where(AssetSceneLink.asset_id == target_id))
        )
        assert sorted(rows) == sorted(sc.id for sc in scenes)  # every scene once
        assert len(rows) == len(set(rows))
