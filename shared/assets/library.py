"""The user's library: promote a project asset into it, clone it into any project.

Images are copied, not shared: deleting a project never removes a library image, and deleting a
library entry never removes a project's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel
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
    id: uuid.UUID
    name: str
    type: str
    aliases: list[str]
    description: str
    image_url: str | None
    thumbnail_url: str | None
    source_project_id: uuid.UUID | None
    created_at: datetime


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
