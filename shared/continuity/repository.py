"""Continuity queries. Each one is a single statement over a whole script or project, so the
endpoints built on them make a constant number of queries whatever the number of scenes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import UUID, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from shared.continuity.names import Named
from shared.models import AssetAttempt, AssetSceneLink, ProjectAsset, Scene, SceneAssetInstance, Script, Shot


@dataclass(frozen=True, slots=True)
class AssetRow(Named):
    type: str
    description: str
    image_prompt: str | None


# Every asset still in the script (active and deferred; stale ones left out): the assets a name in
# the script or a shot can mean. Built once; Stage 8's lean scene list runs it on the driver.
PROJECT_ASSETS = select(
    ProjectAsset.id,
    ProjectAsset.name,
    ProjectAsset.aliases,
    ProjectAsset.type,
    ProjectAsset.description,
    ProjectAsset.image_prompt,
).where(
    ProjectAsset.project_id == bindparam("project_id", type_=UUID(as_uuid=True)),
    ProjectAsset.stale.is_(False),
)


async def project_assets(session: AsyncSession, project_id: uuid.UUID) -> list[AssetRow]:
    """Every asset still in the script (active and deferred; stale ones left out)."""
    rows = await session.execute(PROJECT_ASSETS, {"project_id": project_id})
    return [AssetRow(r[0], r[1], tuple(r[2] or ()), r[3], r[4], r[5]) for r in rows]


async def script_scenes(session: AsyncSession, script_id: uuid.UUID) -> Sequence[Scene]:
    return (
        await session.scalars(select(Scene).where(Scene.script_id == script_id).order_by(Scene.position))
    ).all()


async def script_links(
    session: AsyncSession, script_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, uuid.UUID, bool]]:
    """(asset_id, scene_id, removed) of every link of the script's scenes."""
    return (
        await session.execute(
            select(AssetSceneLink.asset_id, AssetSceneLink.scene_id, AssetSceneLink.removed)
            .join(Scene, Scene.id == AssetSceneLink.scene_id)
            .where(Scene.script_id == script_id)
        )
    ).all()


async def shots_of(session: AsyncSession, scene_ids: Sequence[uuid.UUID]) -> Sequence[Shot]:
    if not scene_ids:
        return []
    return (
        await session.scalars(
            select(Shot)
            .where(Shot.scene_id.in_(list(scene_ids)))
            .order_by(Shot.scene_id, Shot.number)
            .execution_options(populate_existing=True)
        )
    ).all()


async def script_shots(
    session: AsyncSession, script_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, int, str, list[str]]]:
    """(scene_id, number, action, assets) of every shot of the script: plain rows, not ORM objects
    (a feature's thousand shots cost 40 ms as objects, a few as rows)."""
    return (
        await session.execute(
            select(Shot.scene_id, Shot.number, Shot.action, Shot.assets)
            .join(Scene, Scene.id == Shot.scene_id)
            .where(Scene.script_id == script_id)
        )
    ).all()


async def views_of(
    session: AsyncSession, asset_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, AssetAttempt]]:
    """Per asset, its newest attempt of each view."""
    if not asset_ids:
        return {}
    rows = await session.scalars(
        select(AssetAttempt)
        .where(AssetAttempt.asset_id.in_(list(asset_ids)), AssetAttempt.view.is_not(None))
        .order_by(AssetAttempt.attempt_number)
    )
    out: dict[uuid.UUID, dict[str, AssetAttempt]] = {}
    for a in rows:
        assert a.view is not None
        out.setdefault(a.asset_id, {})[a.view] = a  # ascending: the newest wins
    return out


async def asset_instances(session: AsyncSession, asset_id: uuid.UUID) -> Sequence[SceneAssetInstance]:
    """Every instance of the asset (live, removed and detached), for the timeline and its repair."""
    return (
        await session.scalars(
            select(SceneAssetInstance)
            .where(SceneAssetInstance.asset_id == asset_id)
            .execution_options(populate_existing=True)
        )
    ).all()


def _agg(value: Any, *order: Any) -> Any:
    """``coalesce(string_agg(value, ',' ORDER BY order), '')``: a stable text of many rows."""
    return func.coalesce(func.string_agg(value, aggregate_order_by(literal(","), *order)), "")


async def dependency_fingerprint(session: AsyncSession, project_id: uuid.UUID) -> str:
    """One hash of what suggestions depend on: the current script version, every link of it (with
    its removed flag) and every asset's names and type. Computed in PostgreSQL in one statement."""
    script = (
        select(Script.id).where(Script.project_id == project_id).order_by(Script.version.desc()).limit(1)
    ).scalar_subquery()
    link = AssetSceneLink
    links = (
        select(
            _agg(
                func.concat(link.asset_id, ":", link.scene_id, ":", link.removed),
                link.asset_id,
                link.scene_id,
            )
        )
        .join(Scene, Scene.id == link.scene_id)
        .where(Scene.script_id == script)
        .scalar_subquery()
    )
    a = ProjectAsset
    aliases = func.array_to_string(a.aliases, "|")
    names = (
        select(_agg(func.concat(a.id, ":", a.name, ":", aliases, ":", a.stale, ":", a.type), a.id))
        .where(a.project_id == project_id)
        .scalar_subquery()
    )
    value = await session.scalar(select(func.md5(func.concat(script, "|", links, "|", names))))
    return str(value)
