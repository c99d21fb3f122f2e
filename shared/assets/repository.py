"""Asset queries. The list is one round trip: scene numbers and the selected image are
aggregated in SQL, not fetched per asset."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetAttempt, AssetSceneLink, ProjectAsset, Scene
from shared.scripts.service import current_script


def _asset_select(script_id: uuid.UUID | None) -> Any:
    scene_numbers = (
        select(func.coalesce(func.array_agg(func.distinct(Scene.number)), []))
        .select_from(AssetSceneLink)
        .join(Scene, Scene.id == AssetSceneLink.scene_id)
        .where(
            AssetSceneLink.asset_id == ProjectAsset.id,
            AssetSceneLink.removed.is_(False),
            Scene.script_id == script_id,
        )
        .scalar_subquery()
    )
    attempt_count = (
        select(func.count(AssetAttempt.id)).where(AssetAttempt.asset_id == ProjectAsset.id).scalar_subquery()
    )
    selected = AssetAttempt.__table__.alias("selected")
    return select(
        ProjectAsset,
        scene_numbers.label("scene_numbers"),
        attempt_count.label("attempt_count"),
        selected.c.id.label("sel_id"),
        selected.c.storage_key.label("sel_key"),
        selected.c.thumbnail_key.label("sel_thumb"),
        selected.c.width.label("sel_w"),
        selected.c.height.label("sel_h"),
    ).outerjoin(selected, and_(selected.c.asset_id == ProjectAsset.id, selected.c.selected.is_(True)))


async def list_rows(
    session: AsyncSession, *, project_id: uuid.UUID, status: str, type_: str | None, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    script = await current_script(session, project_id)
    filters = [ProjectAsset.project_id == project_id]
    if status == "active":
        filters.append(ProjectAsset.deferred.is_(False))
    elif status == "deferred":
        filters.append(ProjectAsset.deferred.is_(True))
    if type_:
        filters.append(ProjectAsset.type == type_)
    total = await session.scalar(select(func.count()).select_from(ProjectAsset).where(*filters))
    rows = (
        await session.execute(
            _asset_select(script.id if script else None)
            .where(*filters)
            .order_by(ProjectAsset.type, func.lower(ProjectAsset.name), ProjectAsset.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return rows, int(total or 0)


async def get_row(session: AsyncSession, *, project_id: uuid.UUID, asset_id: uuid.UUID) -> Row[Any] | None:
    script = await current_script(session, project_id)
    return (
        await session.execute(
            _asset_select(script.id if script else None).where(
                ProjectAsset.project_id == project_id, ProjectAsset.id == asset_id
            )
        )
    ).first()


async def get_asset(
    session: AsyncSession, *, project_id: uuid.UUID, asset_id: uuid.UUID, for_update: bool = False
) -> ProjectAsset | None:
    q = select(ProjectAsset).where(ProjectAsset.project_id == project_id, ProjectAsset.id == asset_id)
    if for_update:
        q = q.with_for_update()
    return await session.scalar(q)


async def scenes_by_number(
    session: AsyncSession, script_id: uuid.UUID, numbers: Sequence[int]
) -> dict[int, uuid.UUID]:
    rows = (
        await session.execute(
            select(Scene.number, Scene.id).where(
                Scene.script_id == script_id, Scene.number.in_(list(numbers))
            )
        )
    ).all()
    return {n: sid for n, sid in rows}


async def links_for_asset(
    session: AsyncSession, asset_id: uuid.UUID, script_id: uuid.UUID
) -> list[tuple[AssetSceneLink, int]]:
    rows = (
        await session.execute(
            select(AssetSceneLink, Scene.number)
            .join(Scene, Scene.id == AssetSceneLink.scene_id)
            .where(AssetSceneLink.asset_id == asset_id, Scene.script_id == script_id)
        )
    ).all()
    return [(link, number) for link, number in rows]


async def attempt_keys(session: AsyncSession, asset_ids: Sequence[uuid.UUID]) -> list[str]:
    rows = (
        await session.execute(
            select(AssetAttempt.storage_key, AssetAttempt.thumbnail_key).where(
                AssetAttempt.asset_id.in_(list(asset_ids))
            )
        )
    ).all()
    return [k for row in rows for k in row if k]
