"""Stage 8 queries. Every read is a bounded number of statements whatever the number of scenes or
instances: no query per instance, per scene or per asset.

An instance is *live* when its asset is still linked to its scene (the link exists and is not
removed). Only live instances are listed, count in the reference chain and block the gate; a
removed one keeps its images until the purge (see ``shared/stage8/remap.py``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnClause, Integer, Row, and_, bindparam, exists, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import (
    AssetAttempt,
    AssetSceneLink,
    ProjectAsset,
    Scene,
    SceneAssetInstance,
    SceneInstanceAttempt,
    Script,
)

Instance = SceneAssetInstance
Attempt = SceneInstanceAttempt
# Built once: an alias rebuilds its column proxies each time it is created.
_OWN = SceneInstanceAttempt.__table__.alias("own")


def live(instance: Any = Instance) -> Any:
    """SQL: the instance's asset is linked to its scene and the link is not removed (``instance``:
    the entity or an alias of it)."""
    return exists().where(
        AssetSceneLink.asset_id == instance.asset_id,
        AssetSceneLink.scene_id == instance.scene_id,
        AssetSceneLink.removed.is_(False),
    )


def unlisted_links() -> list[Any]:
    """SQL criteria on ``AssetSceneLink``: a live link whose (asset, scene) has no instance yet,
    i.e. what ``ensure_instances`` would create."""
    have = exists().where(
        Instance.asset_id == AssetSceneLink.asset_id, Instance.scene_id == AssetSceneLink.scene_id
    )
    return [AssetSceneLink.removed.is_(False), ~have]


# The statements of a scene's instance list are built once, with bound parameters: building them
# (subqueries, aliases, a LATERAL walk) per request cost several times what PostgreSQL spends on them.
def _uuid(name: str) -> Any:
    return bindparam(name, type_=UUID(as_uuid=True))


def _uuids(name: str) -> Any:
    return bindparam(name, type_=UUID(as_uuid=True), expanding=True)


_CURRENT_SCRIPT_ID = (
    select(Script.id).where(Script.project_id == _uuid("project_id")).order_by(Script.version.desc()).limit(1)
)
_SCENE = select(Scene).where(Scene.id == _uuid("scene_id"), Scene.project_id == _uuid("project_id"))


async def current_script_id(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(_CURRENT_SCRIPT_ID, {"project_id": project_id})


async def get_scene(session: AsyncSession, *, project_id: uuid.UUID, scene_id: uuid.UUID) -> Scene | None:
    return await session.scalar(_SCENE, {"scene_id": scene_id, "project_id": project_id})


async def ensure_instances(
    session: AsyncSession, *, script_id: uuid.UUID, scene_id: uuid.UUID | None = None
) -> None:
    """Create the missing instances of every live link of one scene (or of the whole script), in
    one statement. Concurrent callers race on the (asset, scene) unique constraint and the loser's
    row is skipped, so each pair gets exactly one instance."""
    params = {"script_id": script_id}
    if scene_id is not None:
        params["scene_id"] = scene_id
    await session.execute(_ensure_statement(scene_id is not None), params)


@functools.cache
def _ensure_statement(one_scene: bool) -> Any:
    # Skipping pairs that already have one keeps the common case (all exist) a plain read: no
    # speculative insertion per row. ON CONFLICT still settles races between concurrent readers.
    filters = [Scene.script_id == _uuid("script_id"), *unlisted_links()]
    if one_scene:
        filters.append(Scene.id == _uuid("scene_id"))
    source = (
        select(
            func.gen_random_uuid(),
            Scene.project_id,
            AssetSceneLink.asset_id,
            Scene.id,
            Scene.number,
            Scene.heading,
            Scene.position,
        )
        .join(Scene, Scene.id == AssetSceneLink.scene_id)
        .where(*filters)
    )
    # The table, not the entity: with bound parameters, an ORM insert would take them for rows.
    return (
        insert(SceneAssetInstance.__table__)  # type: ignore[arg-type]  # a Table, typed FromClause
        .from_select(
            ["id", "project_id", "asset_id", "scene_id", "scene_number", "scene_heading", "scene_position"],
            source,
        )
        .on_conflict_do_nothing(index_elements=["asset_id", "scene_id"])
    )


def attempt_count(instance: Any = Instance) -> Any:
    """SQL: the number of images in the instance's own carousel (``instance``: the entity or an alias)."""
    return select(func.count(Attempt.id)).where(Attempt.instance_id == instance.id).scalar_subquery()


def _instance_select() -> Any:
    return (
        select(
            Instance,
            ProjectAsset.name,
            ProjectAsset.type,
            ProjectAsset.deferred,
            ProjectAsset.description,
            ProjectAsset.meta["priority"].astext.label("priority"),
            Scene.number.label("scene_number"),
            Scene.position.label("position"),
            _OWN.c.id.label("own_id"),
            _OWN.c.storage_key.label("own_key"),
            _OWN.c.thumbnail_key.label("own_thumb"),
            attempt_count().label("attempt_count"),
        )
        .join(ProjectAsset, ProjectAsset.id == Instance.asset_id)
        .join(Scene, Scene.id == Instance.scene_id)
        .outerjoin(_OWN, and_(_OWN.c.instance_id == Instance.id, _OWN.c.selected.is_(True)))
        .where(live())
        .execution_options(populate_existing=True)
    )


@functools.cache
def _scene_instances(some: bool) -> Any:
    q = _instance_select().where(Instance.scene_id == _uuid("scene_id"))
    if some:
        q = q.where(Instance.id.in_(_uuids("instance_ids")))
    return q.order_by(ProjectAsset.type, func.lower(ProjectAsset.name), Instance.id)


async def instance_rows(
    session: AsyncSession, *, scene_id: uuid.UUID, instance_ids: Sequence[uuid.UUID] | None = None
) -> Sequence[Row[Any]]:
    params: dict[str, Any] = {"scene_id": scene_id}
    if instance_ids is not None:
        params["instance_ids"] = list(instance_ids)
    return (await session.execute(_scene_instances(instance_ids is not None), params)).all()


async def script_instance_rows(session: AsyncSession, *, script_id: uuid.UUID) -> Sequence[Row[Any]]:
    """Every live instance of the script, in script order (the gate's view)."""
    q = _instance_select().where(Scene.script_id == script_id)
    return (
        await session.execute(q.order_by(Scene.position, ProjectAsset.type, func.lower(ProjectAsset.name)))
    ).all()


async def get_instance(
    session: AsyncSession, *, scene_id: uuid.UUID, instance_id: uuid.UUID, for_update: bool = False
) -> Instance | None:
    q = select(Instance).where(Instance.id == instance_id, Instance.scene_id == scene_id, live())
    if for_update:
        # Refresh it: the row may have changed since this session last read it unlocked.
        q = q.with_for_update(of=Instance).execution_options(populate_existing=True)
    return await session.scalar(q)


async def masters(session: AsyncSession, asset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AssetAttempt]:
    """The selected Stage 5 attempt of each asset that has one."""
    if not asset_ids:
        return {}
    rows = await session.scalars(_MASTERS, {"asset_ids": list(asset_ids)})
    return {a.asset_id: a for a in rows}


async def latest_earlier(
    session: AsyncSession, *, script_id: uuid.UUID, asset_ids: Sequence[uuid.UUID], position: int
) -> dict[uuid.UUID, tuple[int, Attempt]]:
    """Per asset, the selected image of its most recent live instance before ``position`` in the
    script's order. One statement: per asset, a LATERAL walk back through its instances on the
    (asset_id, scene_position) index that stops at the first one with an image, so the work is the
    distance to that scene, not the script's length (30 assets x 200 scenes: 16 ms -> 0.5 ms).

    The checks on each step are scalar subqueries on purpose: PostgreSQL turns EXISTS into joins
    it may reorder (with stale statistics it drove the walk from the script's scenes instead,
    100 ms at 800 scenes), while a scalar subquery stays a per-row probe of a unique index."""
    if not asset_ids:
        return {}
    params = {"script_id": script_id, "asset_ids": list(asset_ids), "position": position}
    rows = (await session.execute(_LATEST_EARLIER, params)).all()
    return {asset_id: (number, attempt) for asset_id, number, attempt in rows}


# LIMIT 1 as a constant in the SQL, not a bound parameter: the statement runs prepared, and a
# generic plan of a prepared statement does not know the limit is 1.
_ONE: ColumnClause[int] = literal_column("1")


def earlier_pick(asset_id: Any, *, script_id: Any, position: Any) -> Any:
    """LATERAL ``pick`` (scene_id, attempt_id): the selected image of the asset's most recent live
    instance before ``position`` in ``script_id`` (each a bound parameter or a column of the
    enclosing statement; ``asset_id`` a column of it). See ``latest_earlier``."""
    selected = (
        select(Attempt.id)
        .where(Attempt.instance_id == Instance.id, Attempt.selected.is_(True))
        .scalar_subquery()
    )
    in_script_before = (
        select(Scene.id)
        .where(Scene.id == Instance.scene_id, Scene.script_id == script_id, Scene.position < position)
        # Explicit: ``script_id`` and ``position`` may be columns of the statement two levels up,
        # which SQLAlchemy's automatic correlation (one level) would add to this FROM instead.
        .correlate_except(Scene)
        .scalar_subquery()
    )
    link = (
        select(AssetSceneLink.id)
        .where(
            AssetSceneLink.asset_id == Instance.asset_id,
            AssetSceneLink.scene_id == Instance.scene_id,
            AssetSceneLink.removed.is_(False),
        )
        .scalar_subquery()
    )
    return (
        select(Instance.scene_id.label("scene_id"), selected.label("attempt_id"))
        .where(
            Instance.asset_id == asset_id,
            Instance.scene_position < position,
            in_script_before.is_not(None),
            link.is_not(None),
            selected.is_not(None),
        )
        .order_by(Instance.scene_position.desc())
        .limit(_ONE)
        .lateral("pick")
    )


def _latest_earlier() -> Any:
    assets = (
        select(ProjectAsset.id.label("asset_id")).where(ProjectAsset.id.in_(_uuids("asset_ids"))).subquery()
    )
    pick = earlier_pick(
        assets.c.asset_id, script_id=_uuid("script_id"), position=bindparam("position", type_=Integer)
    )
    return (
        select(assets.c.asset_id, Scene.number, Attempt)
        .select_from(assets)
        .join(pick, true())
        .join(Attempt, Attempt.id == pick.c.attempt_id)
        .join(Scene, Scene.id == pick.c.scene_id)
    )


_MASTERS = select(AssetAttempt).where(
    AssetAttempt.asset_id.in_(_uuids("asset_ids")), AssetAttempt.selected.is_(True)
)
_LATEST_EARLIER = _latest_earlier()


async def selected_images(
    session: AsyncSession, *, script_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, int, uuid.UUID]]:
    """(asset_id, position, attempt_id) of every live instance of the script with a selected image."""
    return (
        await session.execute(
            select(Instance.asset_id, Scene.position, Attempt.id)
            .join(Scene, Scene.id == Instance.scene_id)
            .join(Attempt, and_(Attempt.instance_id == Instance.id, Attempt.selected.is_(True)))
            .where(Scene.script_id == script_id, live())
        )
    ).all()


async def reference_targets(
    session: AsyncSession, attempt_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Row[Any]]:
    """The chosen instance references, with what decides whether they are still in a chain:
    their asset, script, position, and whether their instance is live."""
    if not attempt_ids:
        return {}
    rows = (
        await session.execute(
            select(
                Attempt,
                Instance.asset_id,
                Scene.script_id,
                Scene.position,
                Scene.number,
                live().label("is_live"),
            )
            .join(Instance, Instance.id == Attempt.instance_id)
            .join(Scene, Scene.id == Instance.scene_id)
            .where(Attempt.id.in_(list(attempt_ids)))
        )
    ).all()
    return {r[0].id: r for r in rows}


async def chain_rows(
    session: AsyncSession, *, script_id: uuid.UUID, asset_id: uuid.UUID, position: int, all_attempts: bool
) -> Sequence[Row[Attempt, uuid.UUID, int, str]]:
    """Images of the asset's live instances in scenes before ``position``, in script order."""
    q = (
        select(Attempt, Scene.id.label("scene_id"), Scene.number, Scene.heading)
        .join(Instance, Instance.id == Attempt.instance_id)
        .join(Scene, Scene.id == Instance.scene_id)
        .where(Instance.asset_id == asset_id, Scene.script_id == script_id, Scene.position < position, live())
        .order_by(Scene.position, Attempt.selected.desc(), Attempt.attempt_number.desc())
    )
    if not all_attempts:
        q = q.where(Attempt.selected.is_(True))
    return (await session.execute(q)).all()


async def stale_rows(
    session: AsyncSession, *, project_id: uuid.UUID, script_id: uuid.UUID | None
) -> Sequence[Row[Instance, str, int]]:
    """Instances whose scene is gone (row deleted) or belongs to an older script version."""
    attempt_count = select(func.count(Attempt.id)).where(Attempt.instance_id == Instance.id).scalar_subquery()
    in_current = (
        exists().where(Scene.id == Instance.scene_id, Scene.script_id == script_id)
        if script_id is not None
        else literal_column("false")
    )
    return (
        await session.execute(
            select(Instance, ProjectAsset.name, attempt_count.label("attempt_count"))
            .join(ProjectAsset, ProjectAsset.id == Instance.asset_id)
            .where(Instance.project_id == project_id, Instance.removed_at.is_(None), ~in_current)
            .order_by(Instance.scene_position, func.lower(ProjectAsset.name))
        )
    ).all()
