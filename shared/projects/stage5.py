"""The Stage 5 gate, in one place: the style every image and extraction needs, the lock that freezes
the asset manifest, and the check every Stage 5 write makes against it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.models import AssetAttempt, Project, ProjectAsset
from shared.styles.schemas import StyleSnapshot
from shared.styles.service import resolve_style


def ensure_unlocked(project: Project) -> None:
    """Every write to the Stage 5 manifest (assets, links, images, scripts) checks this."""
    if project.stage5_locked_at is not None:
        raise Conflict("Stage 5 is locked; unlock it to change assets", code="stage_locked")


async def require_style(session: AsyncSession, project: Project) -> StyleSnapshot:
    """The project's resolved style; extraction and image generation refuse to start without one."""
    style = await resolve_style(session, project)
    if style is None:
        raise Conflict("Choose the project's visual style first (PUT .../style)", code="style_required")
    return style


IMAGELESS_ASSET_EXAMPLE: dict[str, Any] = {
    "id": "7d0c2a4e-3f5b-4c1e-9a8d-2b6f1e0c9d47",
    "name": "Harbor crane",
    "type": "location",
}


class ImagelessAsset(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [IMAGELESS_ASSET_EXAMPLE]})

    id: str = Field(description="The asset's id")
    name: str = Field(description="The asset's name")
    type: str = Field(description="The asset's type, e.g. `character`, `location` or `prop`")


class StageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": 5,
                    "locked_at": "2026-03-14T09:26:53Z",
                    "active_assets": 12,
                    "imageless_assets": [IMAGELESS_ASSET_EXAMPLE],
                }
            ]
        }
    )

    stage: int = Field(description="The stage this answer is about (always 5)")
    locked_at: datetime | None = Field(
        description="When the asset manifest was locked, or null when unlocked"
    )
    active_assets: int = Field(description="How many of the project's assets are active")
    imageless_assets: list[ImagelessAsset] = Field(
        description="Active assets without an image (allowed; listed so a client can warn)"
    )


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
    await require_style(session, project)
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
