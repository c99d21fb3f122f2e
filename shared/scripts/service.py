"""Script versions and their scenes."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import NotFound
from shared.models import AssetSceneLink, ProjectAsset, Scene, Script
from shared.projects.locks import lock_project_exclusive_writes
from shared.scripts import relink
from shared.scripts.parser import ParsedScript, detect_format, parse_script
from shared.scripts.schemas import Dependencies, DependencyOut, SceneOut, ScriptOut


async def current_script(session: AsyncSession, project_id: uuid.UUID) -> Script | None:
    return await session.scalar(
        select(Script).where(Script.project_id == project_id).order_by(Script.version.desc()).limit(1)
    )


async def require_current_script(session: AsyncSession, project_id: uuid.UUID) -> Script:
    script = await current_script(session, project_id)
    if script is None:
        raise NotFound("This project has no script yet", code="script_missing")
    return script


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def identical_current(
    session: AsyncSession, *, project_id: uuid.UUID, text: str, fmt: str | None
) -> Script | None:
    """The current version when ``text`` is byte-identical to it (and no other format is asked
    for): storing it again would add a version that changes nothing."""
    current = await current_script(session, project_id)
    if current is None or current.content_hash != content_hash(text):
        return None
    return current if fmt is None or fmt == current.format else None


async def lock_scripts(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Serialise script writes of one project (the project row lock, as confirm takes it), so two
    identical PUTs cannot both pass the identical-text check."""
    await relink.lock_project(session, project_id)


async def add_version(session: AsyncSession, *, project_id: uuid.UUID, text: str, fmt: str | None) -> Script:
    """Store a new version (the previous ones stay). Scenes are written by ``write_scenes``.

    The next number is read under the project's ``FOR NO KEY UPDATE`` lock (held until commit), so
    concurrent PUTs get consecutive versions instead of racing to the same one (which the unique
    constraint turned into a 500). That lock does not block jobs or assets referencing the project."""
    await lock_project_exclusive_writes(session, project_id)
    last = await session.scalar(select(func.max(Script.version)).where(Script.project_id == project_id))
    script = Script(
        id=uuid.uuid4(),
        project_id=project_id,
        version=(last or 0) + 1,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        format=fmt or detect_format(text),
        scene_count=0,
    )
    session.add(script)
    await session.flush()
    return script


async def write_scenes(session: AsyncSession, script: Script, parsed: ParsedScript | None = None) -> int:
    """(Re)write the scenes of ``script`` from its text and re-link the project's assets to them
    (``relink``: evidence for extracted links, manual / stage8 links and removals carried to the
    matching scenes, stale flags updated). Idempotent: running it twice gives the same rows."""
    parsed = parsed or parse_script(script.text, script.format)
    await relink.lock_project(session, script.project_id)
    newest = await session.scalar(
        select(func.max(Script.version)).where(Script.project_id == script.project_id)
    )
    if newest != script.version:
        # A re-parse queued for a version that has since been superseded: rewriting its scenes would
        # drop the old version's links and shot lists (the cascade) for nothing, since only the
        # current version is re-linked. Leave the old version exactly as it was.
        return script.scene_count or 0
    previous = await relink.snapshot(session, script)
    await session.execute(delete(Scene).where(Scene.script_id == script.id))
    new_scenes = [
        Scene(
            id=uuid.uuid4(),
            script_id=script.id,
            project_id=script.project_id,
            number=s.number,
            position=i,
            heading=s.heading,
            int_ext=s.int_ext,
            location=s.location,
            time_of_day=s.time_of_day,
            start_line=s.start_line,
            end_line=s.end_line,
        )
        for i, s in enumerate(parsed.scenes)
    ]
    session.add_all(new_scenes)
    script.scene_count = len(new_scenes)
    script.title = parsed.title
    await session.flush()
    await relink.relink(session, script, parsed, new_scenes, previous)
    return len(new_scenes)


async def list_scenes(session: AsyncSession, script_id: uuid.UUID) -> list[Scene]:
    return list(
        await session.scalars(select(Scene).where(Scene.script_id == script_id).order_by(Scene.position))
    )


async def scenes_with_dependencies(
    session: AsyncSession, project_id: uuid.UUID
) -> tuple[int | None, list[SceneOut]]:
    script = await current_script(session, project_id)
    if script is None:
        return None, []
    scenes = await list_scenes(session, script.id)
    rows = (
        await session.execute(
            select(
                AssetSceneLink.scene_id,
                AssetSceneLink.source,
                ProjectAsset.id,
                ProjectAsset.name,
                ProjectAsset.type,
                ProjectAsset.deferred,
            )
            .join(ProjectAsset, ProjectAsset.id == AssetSceneLink.asset_id)
            .join(Scene, Scene.id == AssetSceneLink.scene_id)
            .where(Scene.script_id == script.id, AssetSceneLink.removed.is_(False))
            .order_by(ProjectAsset.name)
        )
    ).all()
    deps: dict[uuid.UUID, Dependencies] = {s.id: Dependencies() for s in scenes}
    for scene_id, source, asset_id, name, type_, deferred in rows:
        getattr(deps[scene_id], type_).append(
            DependencyOut(asset_id=asset_id, name=name, source=source, deferred=deferred)
        )
    return script.version, [
        SceneOut(
            id=s.id,
            number=s.number,
            heading=s.heading,
            int_ext=s.int_ext,
            location=s.location,
            time_of_day=s.time_of_day,
            dependencies=deps[s.id],
        )
        for s in scenes
    ]


def script_out(script: Script, *, with_text: bool = False) -> ScriptOut:
    return ScriptOut(
        id=script.id,
        version=script.version,
        format=script.format,
        title=script.title,
        content_hash=script.content_hash,
        scene_count=script.scene_count,
        created_at=script.created_at,
        text=script.text if with_text else None,
    )
