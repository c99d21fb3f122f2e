"""Asset rules: manual creation, edits with optimistic concurrency, scene placement, defer/restore,
deletion (stored objects go after commit), and the Stage 5 lock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets import repository as repo
from shared.assets.schemas import AssetCreate, AssetOut, AssetPatch, ImageRef
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import AssetSceneLink, Project, ProjectAsset
from shared.projects.stage5 import ensure_unlocked
from shared.scripts.service import current_script
from shared.storage.base import Storage
from shared.storage.cleanup import delete_after_commit


def asset_item(values: Sequence[Any], storage: Storage) -> dict[str, Any]:
    """The asset as the API shows it (``AssetOut``'s fields, in its order), from the values of
    ``repository.LIST_COLUMNS`` followed by the derived columns. A plain dict: list pages are
    serialised straight from these, with the same JSON as the model (tests/api/test_asset_list_json.py)."""
    (
        id_,
        name,
        aliases,
        type_,
        description,
        image_prompt,
        deferred,
        source,
        stale,
        described_at,
        meta,
        version,
        created_at,
        updated_at,
        scene_numbers,
        attempt_count,
        sel_id,
        sel_key,
        sel_thumb,
        sel_w,
        sel_h,
    ) = values[:21]
    image = None
    if sel_id is not None:
        image = {
            "attempt_id": str(sel_id),
            "image_url": storage.signed_url(sel_key),
            "thumbnail_url": storage.signed_url(sel_thumb) if sel_thumb else None,
            "width": sel_w,
            "height": sel_h,
        }
    # Ids as text: asyncpg's own UUID type (a uuid.UUID subclass) is not one pydantic-core knows by
    # its exact type, and serialising it costs ten times a str (same JSON either way).
    return {
        "id": str(id_),
        "name": name,
        "aliases": list(aliases or []),
        "type": type_,
        "description": description,
        "image_prompt": image_prompt,
        "deferred": deferred,
        "source": source,
        "stale": stale,
        "described": described_at is not None,
        "metadata": meta or {},
        "scene_numbers": sorted(scene_numbers or []),
        "image": image,
        "attempt_count": attempt_count,
        "version": version,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def to_out(row: Row[Any], storage: Storage) -> AssetOut:
    """One asset (the ORM object and the derived columns) as a model, built without validation
    (``model_construct``): every value comes from our own constrained columns."""
    a: ProjectAsset = row[0]
    own = (
        a.id,
        a.name,
        a.aliases,
        a.type,
        a.description,
        a.image_prompt,
        a.deferred,
        a.source,
        a.stale,
        a.described_at,
        a.meta,
        a.version,
        a.created_at,
        a.updated_at,
    )
    item = asset_item((*own, *row[1:]), storage)
    image = item["image"]
    if image is not None:
        image = ImageRef.model_construct(**{**image, "attempt_id": row.sel_id})
    return AssetOut.model_construct(**{**item, "id": a.id, "image": image})


async def read_asset(
    session: AsyncSession, storage: Storage, *, project_id: uuid.UUID, asset_id: uuid.UUID
) -> AssetOut:
    row = await repo.get_row(session, project_id=project_id, asset_id=asset_id)
    if row is None:
        raise NotFound("Asset not found")
    return to_out(row, storage)


async def require_asset(
    session: AsyncSession, project: Project, asset_id: uuid.UUID, *, for_update: bool = False
) -> ProjectAsset:
    asset = await repo.get_asset(session, project_id=project.id, asset_id=asset_id, for_update=for_update)
    if asset is None:
        raise NotFound("Asset not found")
    return asset


async def set_scene_numbers(
    session: AsyncSession, project: Project, asset: ProjectAsset, numbers: Sequence[int]
) -> None:
    """Make the asset appear in exactly these scenes of the current script. Extracted links the user
    drops are kept as ``removed`` (so re-extraction does not silently bring them back)."""
    wanted = set(numbers)
    script = await current_script(session, project.id)
    if script is None:
        if wanted:
            raise ValidationFailed("The project has no script, so it has no scenes yet", code="unknown_scene")
        return
    scene_ids = await repo.scenes_by_number(session, script.id, sorted(wanted))
    unknown = sorted(wanted - scene_ids.keys())
    if unknown:
        raise ValidationFailed(
            f"No such scene numbers: {unknown}", code="unknown_scene", details={"scene_numbers": unknown}
        )
    existing = await repo.links_for_asset(session, asset.id, script.id)
    have = {number for _, number in existing}
    for link, number in existing:
        if number in wanted:
            link.removed = False
        elif link.source == "manual":
            await session.delete(link)
        else:
            link.removed = True
    for number in sorted(wanted - have):
        session.add(
            AssetSceneLink(
                id=uuid.uuid4(), asset_id=asset.id, scene_id=scene_ids[number], source="manual", removed=False
            )
        )
    await session.flush()


async def create_manual(session: AsyncSession, project: Project, data: AssetCreate) -> ProjectAsset:
    ensure_unlocked(project)
    asset = ProjectAsset(
        id=uuid.uuid4(),
        project_id=project.id,
        name=data.name.strip(),
        type=data.type,
        description=data.description,
        aliases=data.aliases,
        image_prompt=data.image_prompt,
        deferred=data.deferred,
        source="manual",
        stale=False,
        meta={},
        version=1,
        # A hand-written description counts as described: no LLM pass is owed for it.
        described_at=datetime.now(UTC) if data.description.strip() else None,
    )
    session.add(asset)
    await session.flush()
    await set_scene_numbers(session, project, asset, data.scene_numbers)
    return asset


def check_version(asset: ProjectAsset, version: int | None) -> None:
    if version is not None and version != asset.version:
        raise Conflict(
            "The asset changed since you read it",
            code="version_conflict",
            details={"current_version": asset.version},
        )


async def patch_asset(
    session: AsyncSession, project: Project, asset_id: uuid.UUID, data: AssetPatch
) -> ProjectAsset:
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    check_version(asset, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version", "scene_numbers"})
    for field, value in fields.items():
        if value is None and field != "image_prompt":
            continue
        if field == "description" and value != asset.description:
            asset.description_edited_at = datetime.now(UTC)
            asset.described_at = asset.described_at or datetime.now(UTC)
        setattr(asset, field, value.strip() if field == "name" else value)
    if data.scene_numbers is not None:
        await set_scene_numbers(session, project, asset, data.scene_numbers)
    asset.version += 1
    await session.flush()
    return asset


async def set_deferred(
    session: AsyncSession, project: Project, asset_id: uuid.UUID, deferred: bool
) -> ProjectAsset:
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    if asset.deferred != deferred:
        asset.deferred = deferred
        asset.version += 1
        await session.flush()
    return asset


async def delete_asset(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID
) -> None:
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    keys = await repo.attempt_keys(session, [asset.id])
    await session.execute(delete(ProjectAsset).where(ProjectAsset.id == asset.id))
    delete_after_commit(session, storage, keys)
