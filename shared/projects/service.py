"""Projects: create, list, read, edit, delete (owner-scoped)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.common import PageParams
from shared.models import AssetAttempt, GlobalAsset, Project, Script, StyleCapsule
from shared.projects.schemas import ProjectCreate, ProjectOut, ProjectPatch, style_out


async def create_project(session: AsyncSession, *, owner_id: uuid.UUID, data: ProjectCreate) -> Project:
    project = Project(
        id=uuid.uuid4(), owner_id=owner_id, title=data.title, aspect_ratio=data.aspect_ratio, version=1
    )
    session.add(project)
    await session.flush()
    await session.refresh(project)
    return project


async def list_projects(
    session: AsyncSession, *, owner_id: uuid.UUID, page: PageParams
) -> tuple[list[ProjectOut], int]:
    """One page of the owner's projects with their style name and script version, in one query
    (no query per project)."""
    version = select(func.max(Script.version)).where(Script.project_id == Project.id).scalar_subquery()
    rows = (
        await session.execute(
            select(Project, StyleCapsule.name, version, func.count().over())
            .outerjoin(StyleCapsule, StyleCapsule.id == Project.style_capsule_id)
            .where(Project.owner_id == owner_id)
            .order_by(Project.created_at.desc(), Project.id)
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    total = (
        rows[0][3]
        if rows
        else await session.scalar(
            select(func.count()).select_from(Project).where(Project.owner_id == owner_id)
        )
    )
    return [_out(p, capsule, v) for p, capsule, v, _ in rows], int(total or 0)


async def patch_project(session: AsyncSession, project: Project, data: ProjectPatch) -> Project:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(project, field, value)
    project.version += 1
    await session.flush()
    await session.refresh(project)
    return project


async def delete_project(session: AsyncSession, project: Project) -> list[str]:
    """Delete the project (rows cascade) and return the storage keys to delete after commit.
    Library copies promoted from it keep their own objects."""
    keys = [
        k
        for row in (
            await session.execute(
                select(AssetAttempt.storage_key, AssetAttempt.thumbnail_key).where(
                    AssetAttempt.project_id == project.id
                )
            )
        ).all()
        for k in row
        if k
    ]
    library = {
        k
        for row in (
            await session.execute(
                select(GlobalAsset.storage_key, GlobalAsset.thumbnail_key).where(
                    GlobalAsset.owner_id == project.owner_id
                )
            )
        ).all()
        for k in row
        if k
    }
    await session.delete(project)
    await session.flush()
    return [k for k in keys if k not in library]


async def project_out(session: AsyncSession, project: Project) -> ProjectOut:
    capsule_name = None
    if project.style_capsule_id:
        capsule_name = await session.scalar(
            select(StyleCapsule.name).where(StyleCapsule.id == project.style_capsule_id)
        )
    version = await session.scalar(select(func.max(Script.version)).where(Script.project_id == project.id))
    return _out(project, capsule_name, version)


def _out(project: Project, capsule_name: str | None, version: int | None) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        title=project.title,
        aspect_ratio=project.aspect_ratio,
        style=style_out(project.style_capsule_id, capsule_name, project.manual_tone, project.style_locked_at),
        stage5_locked_at=project.stage5_locked_at,
        stage8_locked_at=project.stage8_locked_at,
        script_version=version,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )
