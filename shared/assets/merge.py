"""Merging two assets that turned out to be one (e.g. "The Captain" and "Captain Oveur")."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.errors import ValidationFailed
from shared.extraction.entities import union_names
from shared.models import AssetAttempt, AssetSceneLink, Project, ProjectAsset
from shared.projects.stage5 import ensure_unlocked


async def merge_assets(
    session: AsyncSession,
    project: Project,
    *,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    description: str | None,
) -> ProjectAsset:
    """Unite ``source`` into ``target``: names become aliases, scene links and image attempts move
    over (the target keeps its selected image), the source's extraction key is remembered so a
    re-extraction finds the target, then the source is removed."""
    ensure_unlocked(project)
    if source_id == target_id:
        raise ValidationFailed("An asset cannot be merged into itself", code="merge_same_asset")
    # Lock in id order so two concurrent merges of the same pair cannot deadlock.
    first, second = sorted((source_id, target_id))
    a = await require_asset(session, project, first, for_update=True)
    b = await require_asset(session, project, second, for_update=True)
    source, target = (a, b) if a.id == source_id else (b, a)

    target.aliases = union_names(
        target.aliases or [], [source.name, *(source.aliases or [])], name=target.name
    )

    target_scenes = set(
        await session.scalars(select(AssetSceneLink.scene_id).where(AssetSceneLink.asset_id == target.id))
    )
    # Links to scenes the target already has would break (asset, scene) uniqueness; they go with the source.
    await session.execute(
        update(AssetSceneLink)
        .where(AssetSceneLink.asset_id == source.id, AssetSceneLink.scene_id.not_in(target_scenes))
        .values(asset_id=target.id)
    )

    top = (
        await session.scalar(
            select(func.coalesce(func.max(AssetAttempt.attempt_number), 0)).where(
                AssetAttempt.asset_id == target.id
            )
        )
        or 0
    )
    target_has_selected = await session.scalar(
        select(AssetAttempt.id).where(AssetAttempt.asset_id == target.id, AssetAttempt.selected.is_(True))
    )
    moved = list(
        await session.scalars(
            select(AssetAttempt)
            .where(AssetAttempt.asset_id == source.id)
            .order_by(AssetAttempt.attempt_number)
        )
    )
    # Clear the source's selection first: the one-selected-per-asset index checks each row as it moves.
    if target_has_selected:
        await session.execute(
            update(AssetAttempt).where(AssetAttempt.asset_id == source.id).values(selected=False)
        )
    for i, attempt in enumerate(moved, start=1):
        attempt.asset_id = target.id
        attempt.attempt_number = top + i
        if target_has_selected:
            attempt.selected = False
    await session.flush()

    meta = dict(target.meta or {})
    merged = set(meta.get("merged_keys", []))
    merged |= {k for k in (source.entity_key, *(source.meta or {}).get("merged_keys", [])) if k}
    meta["merged_keys"] = sorted(merged)
    target.meta = meta
    if description is not None:
        target.description = description
        target.description_edited_at = func.now()
    target.version += 1
    await session.delete(source)
    await session.flush()
    return target
