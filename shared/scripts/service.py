"""Script versions and their scenes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, any_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db_raw import RawQuery
from shared.errors import NotFound
from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, Script
from shared.projects.locks import lock_project_exclusive_writes
from shared.scripts import relink
from shared.scripts.parser import ParsedScript, detect_format, parse_script
from shared.scripts.schemas import ScriptOut


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


# The scene list, built once (see shared/assets/repository.py): Core columns, so rows are plain
# tuples, and the current script chosen in SQL (loading it as an object would fetch its whole text).
_SC = Scene.__table__.c
_LK = AssetSceneLink.__table__.c
_AS = ProjectAsset.__table__.c
_VS = Script.__table__.c
_CURRENT = (
    select(_VS.id, _VS.version)
    .where(_VS.project_id == bindparam("project_id", type_=UUID(as_uuid=True)))
    .order_by(_VS.version.desc())
    .limit(1)
    .subquery("current")
)
_SCENE_PAGE = (
    select(
        _SC.id,
        _SC.number,
        _SC.heading,
        _SC.int_ext,
        _SC.location,
        _SC.time_of_day,
        _CURRENT.c.version,
        func.count().over().label("total"),
    )
    .select_from(Scene.__table__.join(_CURRENT, _SC.script_id == _CURRENT.c.id))
    .order_by(_SC.position)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
# Past the last page (or a script without scenes) no row carries the version and the total.
_SCENE_TOTAL = select(
    _CURRENT.c.version,
    select(func.count()).where(_SC.script_id == _CURRENT.c.id).scalar_subquery(),
).select_from(_CURRENT)
_SCENE_DEPENDENCIES = (
    select(_LK.scene_id, _LK.source, _AS.id, _AS.name, _AS.type, _AS.deferred)
    .select_from(AssetSceneLink.__table__.join(ProjectAsset.__table__, _AS.id == _LK.asset_id))
    .where(
        _LK.scene_id == any_(bindparam("scene_ids", type_=ARRAY(UUID(as_uuid=True)))),
        _LK.removed.is_(False),
    )
    .order_by(_AS.name)
)
_ASSET_TYPES = ("character", "prop", "location", "extra_archetype")


async def scene_page(
    session: AsyncSession, project_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[int | None, int, list[dict[str, Any]]]:
    """``(script version, total scenes, one page of scenes)`` of the current script, each scene with
    its assets grouped by type: ``SceneOut``'s fields in its order, as plain dicts serialised
    straight to JSON (the list of a feature script is the API's largest read)."""
    params = {"project_id": project_id, "limit": limit, "offset": offset}
    rows = (await session.execute(_SCENE_PAGE, params)).all()
    if not rows:
        current = (await session.execute(_SCENE_TOTAL, params)).first()
        return (None, 0, []) if current is None else (current[0], int(current[1]), [])
    deps = [r[0] for r in rows]
    links = (await session.execute(_SCENE_DEPENDENCIES, {"scene_ids": deps})).all()
    return rows[0][6], int(rows[0][7]), scene_items(rows, links)


# The same two reads for the polled list's lean path (services/api/routers/scripts.py): the page
# checks the caller's ownership of the project in the same statement (no row: not the caller's
# project, no script, or past the last page; the full handler tells those apart).
_PJ = Project.__table__.c
OWNED_SCENE_PAGE = RawQuery.of(
    _SCENE_PAGE.join(
        Project.__table__,
        and_(
            _PJ.id == bindparam("project_id", type_=UUID(as_uuid=True)),
            _PJ.owner_id == bindparam("user", type_=UUID(as_uuid=True)),
        ),
    )
)
SCENE_DEPENDENCIES = RawQuery.of(_SCENE_DEPENDENCIES)


def scene_items(rows: Sequence[Any], links: Sequence[Any]) -> list[dict[str, Any]]:
    """``SceneOut``'s fields in its order, from ``_SCENE_PAGE`` rows and their ``_SCENE_DEPENDENCIES``."""
    deps: dict[uuid.UUID, dict[str, list[dict[str, Any]]]] = {
        r[0]: {t: [] for t in _ASSET_TYPES} for r in rows
    }
    # Ids as text: asyncpg's own UUID type (a uuid.UUID subclass) is not one pydantic-core knows by
    # its exact type, and serialising it costs ten times a str (same JSON either way).
    for scene_id, source, asset_id, name, type_, deferred in links:
        deps[scene_id][type_].append(
            {"asset_id": str(asset_id), "name": name, "source": source, "deferred": deferred}
        )
    items = [
        {
            "id": str(sid),
            "number": number,
            "heading": heading,
            "int_ext": int_ext,
            "location": location,
            "time_of_day": time_of_day,
            "dependencies": deps[sid],
        }
        for sid, number, heading, int_ext, location, time_of_day, *_ in rows
    ]
    return items


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
