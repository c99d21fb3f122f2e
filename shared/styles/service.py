"""Style capsules and the project's visual style."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import AssetAttempt, Project, StyleCapsule
from shared.styles.schemas import CapsuleCreate, CapsuleOut, StyleSet, StyleSnapshot


def capsule_out(c: StyleCapsule) -> CapsuleOut:
    return CapsuleOut(
        id=c.id,
        slug=c.slug,
        name=c.name,
        description=c.description,
        prompt_fragment=c.prompt_fragment,
        negative_fragment=c.negative_fragment,
        palette=list(c.palette or []),
        preset=c.owner_id is None,
        created_at=c.created_at,
    )


async def list_capsules(session: AsyncSession, *, owner_id: uuid.UUID) -> list[StyleCapsule]:
    rows = await session.scalars(
        select(StyleCapsule)
        .where(or_(StyleCapsule.owner_id.is_(None), StyleCapsule.owner_id == owner_id))
        .order_by(StyleCapsule.owner_id.is_not(None), StyleCapsule.created_at, StyleCapsule.name)
    )
    return list(rows)


async def create_capsule(session: AsyncSession, *, owner_id: uuid.UUID, data: CapsuleCreate) -> StyleCapsule:
    capsule = StyleCapsule(
        id=uuid.uuid4(),
        owner_id=owner_id,
        name=data.name,
        description=data.description,
        prompt_fragment=data.prompt_fragment,
        negative_fragment=data.negative_fragment,
        palette=data.palette,
    )
    session.add(capsule)
    await session.flush()
    await session.refresh(capsule)
    return capsule


async def visible_capsule(session: AsyncSession, capsule_id: uuid.UUID, owner_id: uuid.UUID) -> StyleCapsule:
    capsule = await session.scalar(
        select(StyleCapsule).where(
            StyleCapsule.id == capsule_id,
            or_(StyleCapsule.owner_id.is_(None), StyleCapsule.owner_id == owner_id),
        )
    )
    if capsule is None:
        raise NotFound("Style capsule not found")
    return capsule


async def style_impact(session: AsyncSession, project_id: uuid.UUID) -> dict[str, int]:
    row = (
        await session.execute(
            select(func.count(AssetAttempt.id), func.count(func.distinct(AssetAttempt.asset_id))).where(
                AssetAttempt.project_id == project_id
            )
        )
    ).one()
    return {"attempts": int(row[0]), "assets": int(row[1])}


async def set_style(session: AsyncSession, project: Project, data: StyleSet) -> Project:
    """Set or change the project's style. Changing it once images exist needs ``confirm_impact``:
    the existing images keep the old style (each attempt snapshots its style)."""
    if data.capsule_id is not None:
        await visible_capsule(session, data.capsule_id, project.owner_id)
        new: tuple[uuid.UUID | None, dict[str, Any] | None] = (data.capsule_id, None)
    else:
        assert data.manual_tone is not None
        preset = await session.scalar(
            select(StyleCapsule.id).where(
                StyleCapsule.slug == data.manual_tone.preset, StyleCapsule.owner_id.is_(None)
            )
        )
        if preset is None:
            raise ValidationFailed(f"Unknown preset {data.manual_tone.preset!r}", code="unknown_preset")
        new = (None, data.manual_tone.model_dump())
    changed = (project.style_capsule_id, project.manual_tone) != new
    if changed and project.style_locked_at is not None and not data.confirm_impact:
        impact = await style_impact(session, project.id)
        if impact["attempts"] > 0:
            raise Conflict(
                "Images already exist in the current style; resend with confirm_impact: true",
                code="style_change_needs_confirmation",
                details=impact,
            )
    project.style_capsule_id, project.manual_tone = new
    if changed or project.style_locked_at is None:
        project.style_locked_at = datetime.now(UTC)
    project.version += 1
    await session.flush()
    return project


async def resolve_style(session: AsyncSession, project: Project) -> StyleSnapshot | None:
    """The project's effective style for prompts, or None when it has none yet."""
    if project.style_capsule_id is not None:
        c = await session.get(StyleCapsule, project.style_capsule_id)
        if c is None:
            return None
        return StyleSnapshot(
            source="capsule",
            capsule_id=c.id,
            name=c.name,
            prompt_fragment=c.prompt_fragment,
            negative_fragment=c.negative_fragment,
            palette=list(c.palette or []),
        )
    if project.manual_tone:
        slug, text = project.manual_tone.get("preset", ""), project.manual_tone.get("text", "")
        c = await session.scalar(select(StyleCapsule).where(StyleCapsule.slug == slug))
        base = c.prompt_fragment if c else slug
        fragment = f"{base}, {text}" if text else base
        return StyleSnapshot(
            source="manual",
            capsule_id=None,
            name=f"{c.name if c else slug}, {text}" if text else (c.name if c else slug),
            prompt_fragment=fragment,
            negative_fragment=c.negative_fragment if c else "",
            palette=list(c.palette or []) if c else [],
        )
    return None
