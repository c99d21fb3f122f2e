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
    # The target now goes by the source's names too: it is stale only if neither is in the script.
    target.stale = target.stale and source.stale

    await _move_links(session, source.id, target.id)

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


# A shown link beats a removed one, and the user's placement (manual, stage8) beats the extractor's.
_RANK = {"extracted": 0, "stage8": 1, "manual": 2}


async def _move_links(session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """Give the target the source's scenes. Where both are linked to one scene, the target's link
    becomes the stronger of the two (so a manual placement of the source is not lost to a removed
    extracted link of the target); the source's duplicate goes with the source."""
    target_links = {
        link.scene_id: link
        for link in await session.scalars(select(AssetSceneLink).where(AssetSceneLink.asset_id == target_id))
    }
    for link in await session.scalars(select(AssetSceneLink).where(AssetSceneLink.asset_id == source_id)):
        mine = target_links.get(link.scene_id)
        if mine is None:
            continue
        if (not link.removed, _RANK.get(link.source, 0)) > (not mine.removed, _RANK.get(mine.source, 0)):
            mine.source, mine.removed = link.source, link.removed
    await session.flush()
    await session.execute(
        update(AssetSceneLink)
        .where(
            AssetSceneLink.asset_id == source_id,
            AssetSceneLink.scene_id.not_in(list(target_links)),
        )
        .values(asset_id=target_id)
    )
