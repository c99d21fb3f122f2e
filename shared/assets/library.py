"""The user's library: promote a project asset into it, clone it into any project.

Images are copied, not shared: deleting a project never removes a library image, and deleting a
library entry never removes a project's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.common import PageParams
from shared.errors import NotFound
from shared.models import AssetAttempt, GlobalAsset, Project, ProjectAsset
from shared.projects.stage5 import ensure_unlocked
from shared.storage.base import Storage
from shared.storage.cleanup import delete_after_commit


class LibraryAssetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6e4f2a-8c1d-4e3f-a5b7-9d2c1e0f3a68",
                    "name": "Detective Mara Voss",
                    "type": "character",
                    "aliases": ["Mara", "Voss"],
                    "description": "Tall, rain-soaked trench coat, tired eyes",
                    "image_url": "https://cdn.example.com/library/0b6e4f2a.png",
                    "thumbnail_url": "https://cdn.example.com/library/0b6e4f2a_thumb.webp",
                    "source_project_id": "5f1c9a3e-2d4b-4e6f-8a7c-1b3d5e7f9a0c",
                    "created_at": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The library asset's id")
    name: str = Field(description="The asset's name")
    type: str = Field(description="The asset's type, e.g. `character`, `location` or `prop`")
    aliases: list[str] = Field(description="Other names the asset goes by")
    description: str = Field(description="What the asset looks like")
    image_url: str | None = Field(description="URL of the asset's image, or null when it has none")
    thumbnail_url: str | None = Field(description="URL of a small preview of the image, or null")
    source_project_id: uuid.UUID | None = Field(
        description="The project it was promoted from, or null when that project is gone"
    )
    created_at: datetime = Field(description="When it was added to the library")


def library_out(g: GlobalAsset, storage: Storage) -> LibraryAssetOut:
    return LibraryAssetOut(
        id=g.id,
        name=g.name,
        type=g.type,
        aliases=list(g.aliases or []),
        description=g.description,
        image_url=storage.signed_url(g.storage_key) if g.storage_key else None,
        thumbnail_url=storage.signed_url(g.thumbnail_key) if g.thumbnail_key else None,
        source_project_id=g.source_project_id,
        created_at=g.created_at,
    )


async def _copy(storage: Storage, key: str | None, prefix: str) -> tuple[str | None, int]:
    """Copy one stored object under ``prefix``; returns the new key and its size."""
    if not key:
        return None, 0
    name = key.rsplit("/", 1)[-1]
    new_key = f"{prefix}/{uuid.uuid4().hex}{name[name.find('.') :] if '.' in name else ''}"
    data = await storage.get(key)
    await storage.put(new_key, data, content_type=_mime(new_key))
    return new_key, len(data)


def _mime(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower()
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}.get(
        ext, "application/octet-stream"
    )


async def promote(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID
) -> GlobalAsset:
    asset = await require_asset(session, project, asset_id)
    selected = await session.scalar(
        select(AssetAttempt).where(AssetAttempt.asset_id == asset.id, AssetAttempt.selected.is_(True))
    )
    gid = uuid.uuid4()
    prefix = f"library/{project.owner_id}/{gid}"
    # Objects first, row second: a crash in between leaves orphans for the sweep, never a dangling row.
    key, _ = await _copy(storage, selected.storage_key if selected else None, prefix)
    thumb, _ = await _copy(storage, selected.thumbnail_key if selected else None, prefix)
    g = GlobalAsset(
        id=gid,
        owner_id=project.owner_id,
        name=asset.name,
        type=asset.type,
        aliases=list(asset.aliases or []),
        description=asset.description,
        image_prompt=asset.image_prompt,
        storage_key=key,
        thumbnail_key=thumb,
        mime=selected.mime if selected else None,
        width=selected.width if selected else None,
        height=selected.height if selected else None,
        style_snapshot=selected.style_snapshot if selected else None,
        source_project_id=project.id,
        source_asset_id=asset.id,
    )
    session.add(g)
    await session.flush()
    await session.refresh(g)
    return g


async def clone(
    session: AsyncSession, storage: Storage, project: Project, global_asset_id: uuid.UUID
) -> ProjectAsset:
    ensure_unlocked(project)
    g = await session.scalar(
        select(GlobalAsset).where(GlobalAsset.id == global_asset_id, GlobalAsset.owner_id == project.owner_id)
    )
    if g is None:
        raise NotFound("Library asset not found")
    asset = ProjectAsset(
        id=uuid.uuid4(),
        project_id=project.id,
        name=g.name,
        type=g.type,
        aliases=list(g.aliases or []),
        description=g.description,
        image_prompt=g.image_prompt,
        deferred=False,
        source="cloned",
        stale=False,
        version=1,
        meta={"library_asset_id": str(g.id)},
        described_at=datetime.now(UTC),
    )
    session.add(asset)
    await session.flush()
    if g.storage_key:
        prefix = f"projects/{project.id}/assets/{asset.id}"
        key, size = await _copy(storage, g.storage_key, prefix)
        thumb, _ = await _copy(storage, g.thumbnail_key, prefix)
        assert key is not None
        session.add(
            AssetAttempt(
                id=uuid.uuid4(),
                asset_id=asset.id,
                project_id=project.id,
                attempt_number=1,
                source="cloned",
                selected=True,
                storage_key=key,
                thumbnail_key=thumb,
                width=g.width or 0,
                height=g.height or 0,
                mime=g.mime or _mime(key),
                bytes=size,
                style_snapshot=g.style_snapshot,
                provider="library",
                cost_usd=Decimal(0),
            )
        )
        await session.flush()
    return asset


async def list_library(
    session: AsyncSession, owner_id: uuid.UUID, page: PageParams
) -> tuple[list[GlobalAsset], int]:
    total = await session.scalar(
        select(func.count()).select_from(GlobalAsset).where(GlobalAsset.owner_id == owner_id)
    )
    rows = await session.scalars(
        select(GlobalAsset)
        .where(GlobalAsset.owner_id == owner_id)
        .order_by(GlobalAsset.created_at.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(rows), int(total or 0)


async def get_owned(session: AsyncSession, owner_id: uuid.UUID, gid: uuid.UUID) -> GlobalAsset:
    g = await session.scalar(
        select(GlobalAsset).where(GlobalAsset.id == gid, GlobalAsset.owner_id == owner_id)
    )
    if g is None:
        raise NotFound("Library asset not found")
    return g


async def delete_library_asset(
    session: AsyncSession, storage: Storage, owner_id: uuid.UUID, gid: uuid.UUID
) -> None:
    g = await get_owned(session, owner_id, gid)
    keys = [k for k in (g.storage_key, g.thumbnail_key) if k]
    await session.delete(g)
    await session.flush()
    delete_after_commit(session, storage, keys)
