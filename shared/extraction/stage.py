"""The Stage 5 gate: lock when the manifest is ready, unlock any time."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.extraction.service import require_style
from shared.models import AssetAttempt, Project, ProjectAsset


class ImagelessAsset(BaseModel):
    id: str
    name: str
    type: str


class StageOut(BaseModel):
    stage: int
    locked_at: datetime | None
    active_assets: int
    imageless_assets: list[ImagelessAsset]


async def _active(session: AsyncSession, project: Project) -> list[tuple[ProjectAsset, bool]]:
    has_image = exists().where(AssetAttempt.asset_id == ProjectAsset.id, AssetAttempt.selected.is_(True))
    rows = (
        await session.execute(
            select(ProjectAsset, has_image)
            .where(
                ProjectAsset.project_id == project.id,
                ProjectAsset.deferred.is_(False),
                ProjectAsset.stale.is_(False),
            )
            .order_by(ProjectAsset.type, ProjectAsset.name)
        )
    ).all()
    return [(a, bool(h)) for a, h in rows]


async def lock(session: AsyncSession, project: Project) -> StageOut:
    """Assets do not need images (seed 3A.4): imageless ones are allowed and listed."""
    require_style(project)
    active = await _active(session, project)
    if not active:
        raise Conflict("Stage 5 needs at least one active asset", code="no_active_assets")
    if project.stage5_locked_at is None:
        project.stage5_locked_at = datetime.now(UTC)
        await session.flush()
    return _out(project, active)


async def unlock(session: AsyncSession, project: Project) -> StageOut:
    project.stage5_locked_at = None
    await session.flush()
    return _out(project, await _active(session, project))


def _out(project: Project, active: list[tuple[ProjectAsset, bool]]) -> StageOut:
    return StageOut(
        stage=5,
        locked_at=project.stage5_locked_at,
        active_assets=len(active),
        imageless_assets=[
            ImagelessAsset(id=str(a.id), name=a.name, type=a.type) for a, has in active if not has
        ],
    )
