"""The asset timeline (seed 3C.3): one asset across the current script in scene order, and the
repair of its broken links.

Per scene: whether the asset appears (a live link), its instance's visual state, its effective
image and where that image comes from (generated here, inherited from scene N, the master), whether
that image is stale, and the shots it is in. The reference chain is walked in Python over rows
read once, so a 300-scene script costs the same handful of statements as a 3-scene one.

The page polls it: its GET answers from four statements on the driver connection (``owned_rows``,
the caller's ownership in the first) when it can, and from the same statements through the session
otherwise (``timeline``, the repair); ``body`` builds the answer from either's rows as plain dicts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import bindparam, exists, literal_column, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.assets.service import require_asset
from shared.continuity import repository as crepo
from shared.continuity import stale
from shared.continuity.names import Named, NameMatcher
from shared.continuity.schemas import RepairOut
from shared.continuity.shots import presence
from shared.db_raw import RawQuery
from shared.errors import NotFound
from shared.models import (
    AssetAttempt,
    AssetSceneLink,
    Project,
    ProjectAsset,
    Scene,
    SceneAssetInstance,
    SceneInstanceAttempt,
    Script,
    Shot,
)
from shared.stage8.chain import pin_in_chain
from shared.stage8.gate import ensure_stage8_unlocked
from shared.stage8.schemas import StaleMark
from shared.storage.base import Storage

_FIXES = {
    "reference_deleted": "the reference goes back to the default (latest earlier image, else the master)",
    "reference_not_in_chain": "the reference goes back to the default",
    "master_missing": "the reference goes back to the default",
    "scene_vanished": "the instance is detached (kept with its images until the purge)",
}


# The statements, built once with bound parameters (see shared/assets/repository.py) and run either
# through the request's session (the full handler, the repair) or on the driver connection (the
# lean read, services/api/routers/continuity.py): the same rows either way, read by position.
def _uuid(name: str) -> Any:
    return bindparam(name, type_=UUID(as_uuid=True))


# What decides an image and its stale mark: (id, storage_key, thumbnail_key, source, prompt_snapshot,
# accepted_for). The asset's master (its selected Stage 5 image) comes with the asset.
def _image_columns(attempt: Any) -> list[Any]:
    return [
        attempt.id,
        attempt.storage_key,
        attempt.thumbnail_key,
        attempt.source,
        attempt.prompt_snapshot,
        attempt.accepted_for,
    ]


_master = aliased(AssetAttempt, name="master")
_CURRENT_SCRIPT = (
    select(Script.id)
    .where(Script.project_id == ProjectAsset.project_id)
    .order_by(Script.version.desc())
    .limit(literal_column("1"))  # in the SQL, not a parameter: the raw statement has named ones only
    .scalar_subquery()
)
# (asset_id, name, type, description, image_prompt, aliases, current script id, *master columns)
_HEAD = (
    select(
        ProjectAsset.id,
        ProjectAsset.name,
        ProjectAsset.type,
        ProjectAsset.description,
        ProjectAsset.image_prompt,
        ProjectAsset.aliases,
        _CURRENT_SCRIPT,
        *_image_columns(_master),
    )
    .outerjoin(_master, (_master.asset_id == ProjectAsset.id) & _master.selected.is_(True))
    .where(ProjectAsset.id == _uuid("asset_id"), ProjectAsset.project_id == _uuid("project_id"))
)
# The lean read checks the caller's ownership in the same statement: no row, the full handler answers.
OWNED_HEAD = RawQuery.of(
    _HEAD.join(Project, (Project.id == ProjectAsset.project_id) & (Project.owner_id == _uuid("user")))
)

_inst = aliased(SceneAssetInstance, name="inst")
_own = aliased(SceneInstanceAttempt, name="own")
_target = aliased(SceneInstanceAttempt, name="target")
_target_inst = aliased(SceneAssetInstance, name="target_inst")
_target_scene = aliased(Scene, name="target_scene")


def _linked(asset_id: Any, scene_id: Any) -> Any:
    return exists().where(
        AssetSceneLink.asset_id == asset_id,
        AssetSceneLink.scene_id == scene_id,
        AssetSceneLink.removed.is_(False),
    )


# One row per scene of the script, in order: the scene, whether the asset appears (a live link), its
# instance there, that instance's selected image, and the image it is pinned to with what decides
# whether the pin is still in the chain (the pinned image's asset, script, position, scene number,
# and whether its instance is live; its scene is null when that instance has been detached).
_SCENES = (
    select(
        Scene.id,
        Scene.number,
        Scene.heading,
        Scene.position,
        _linked(_uuid("asset_id"), Scene.id),
        _inst.id,
        _inst.visual_state,
        _inst.use_master_as_is,
        _inst.reference_kind,
        _inst.scene_number,
        _inst.scene_position,
        *_image_columns(_own),
        *_image_columns(_target),
        _target_inst.asset_id,
        _target_scene.script_id,
        _target_scene.position,
        _target_scene.number,
        _linked(_target_inst.asset_id, _target_inst.scene_id),
    )
    .outerjoin(_inst, (_inst.scene_id == Scene.id) & (_inst.asset_id == _uuid("asset_id")))
    .outerjoin(_own, (_own.instance_id == _inst.id) & _own.selected.is_(True))
    .outerjoin(_target, _target.id == _inst.reference_attempt_id)
    .outerjoin(_target_inst, _target_inst.id == _target.instance_id)
    .outerjoin(_target_scene, _target_scene.id == _target_inst.scene_id)
    .where(Scene.script_id == _uuid("script_id"))
    .order_by(Scene.position)
)
# (scene_id, number, action, assets) of every shot of the script.
_SHOTS = (
    select(Shot.scene_id, Shot.number, Shot.action, Shot.assets)
    .join(Scene, Scene.id == Shot.scene_id)
    .where(Scene.script_id == _uuid("script_id"))
)
# The asset's attached instances whose scene is not in the current script (or none at all):
# (id, scene_number, scene_heading, scene_position).
_VANISHED = (
    select(
        SceneAssetInstance.id,
        SceneAssetInstance.scene_number,
        SceneAssetInstance.scene_heading,
        SceneAssetInstance.scene_position,
    )
    .where(
        SceneAssetInstance.asset_id == _uuid("asset_id"),
        SceneAssetInstance.removed_at.is_(None),
        ~exists().where(Scene.id == SceneAssetInstance.scene_id, Scene.script_id == _uuid("script_id")),
    )
    .order_by(SceneAssetInstance.scene_position, SceneAssetInstance.id)
)
SCENES, SHOTS, VANISHED = RawQuery.of(_SCENES), RawQuery.of(_SHOTS), RawQuery.of(_VANISHED)


class _Asset(NamedTuple):
    """What the timeline reads of the asset (``Described`` for the stale marks)."""

    id: uuid.UUID
    name: str
    type: str
    description: str
    image_prompt: str | None
    aliases: list[str] | None


class _Shot(NamedTuple):
    number: int
    action: str
    assets: list[str]


class _Pinned(NamedTuple):
    """A pinned image with what ``pin_in_chain`` checks (a ``reference_targets`` row's shape)."""

    attempt: Sequence[Any]
    asset_id: uuid.UUID
    script_id: uuid.UUID
    position: int
    number: int
    is_live: bool


class Rows(NamedTuple):
    """The rows of one timeline, from either connection."""

    head: Sequence[Any]
    scenes: Sequence[Sequence[Any]]
    shots: Sequence[Sequence[Any]]
    vanished: Sequence[Sequence[Any]]


Broken = list[tuple[uuid.UUID, str]]
# (visual_state, use_master_as_is, reference_kind, scene_number, scene_position) of the instance
# Stage 8 will make for a linked scene it has not listed yet: its defaults (no visual state, use the
# master as is, the default reference). Never broken, so its snapshot is never read.
_PENDING: tuple[str, bool, None, int, int] = ("", True, None, 0, 0)


async def _rows(session: AsyncSession, project_id: uuid.UUID, asset_id: uuid.UUID) -> Rows | None:
    head = (await session.execute(_HEAD, {"asset_id": asset_id, "project_id": project_id})).first()
    if head is None:
        return None
    params = {"asset_id": asset_id, "script_id": head[6]}
    scenes = (await session.execute(_SCENES, params)).all() if head[6] else []
    shots = (await session.execute(_SHOTS, params)).all() if head[6] else []
    vanished = (await session.execute(_VANISHED, params)).all()
    return Rows(head, scenes, shots, vanished)


async def owned_rows(conn: Any, user: uuid.UUID, project_id: uuid.UUID, asset_id: uuid.UUID) -> Rows | None:
    """The same rows on the driver connection (``shared/db_raw.py``); None unless the caller owns
    the project and the asset is in it."""
    heads = await OWNED_HEAD.fetch(conn, asset_id=asset_id, project_id=project_id, user=user)
    if not heads:
        return None
    head = heads[0]
    params = {"asset_id": head[0], "script_id": head[6]}
    scenes = await SCENES.fetch(conn, **params) if head[6] else []
    shots = await SHOTS.fetch(conn, **params) if head[6] else []
    return Rows(head, scenes, shots, await VANISHED.fetch(conn, **params))


def _image(kind: str, number: int | None, attempt: Sequence[Any], storage: Storage) -> dict[str, Any]:
    """A ``SceneImage`` as a dict in its field order (``shared/stage8/chain.py`` builds the model)."""
    return {
        "kind": kind,
        "scene_number": number,
        "attempt_id": str(attempt[0]),
        "image_url": storage.signed_url(attempt[1]),
        "thumbnail_url": storage.signed_url(attempt[2]) if attempt[2] else None,
    }


def _mark(mark: StaleMark) -> dict[str, Any]:
    return {"stale": mark.stale, "made_from": mark.made_from, "reason": mark.reason}


def body(rows: Rows, storage: Storage) -> tuple[dict[str, Any], Broken]:
    """The timeline as a ``Timeline`` in plain dicts (field order kept, see
    services/api/rendering.py), and its broken links for the repair."""
    head = rows.head
    asset = _Asset(head[0], head[1], head[2], head[3], head[4], head[5])
    script_id = head[6]
    master = head[7:13] if head[7] is not None else None
    matcher = NameMatcher([Named(asset.id, asset.name, tuple(asset.aliases or ()))])
    grouped: dict[uuid.UUID, list[_Shot]] = {}
    for scene_id, number, action, assets in rows.shots:
        grouped.setdefault(scene_id, []).append(_Shot(number, action, assets))
    shots_by_scene = {
        sid: presence(shots, matcher).by_asset.get(asset.id, []) for sid, shots in grouped.items()
    }

    # The master is shown in many scenes, an image inherited down the chain too: each is built (its
    # URLs signed, its stale mark computed) once per read.
    master_out = _image("master", None, master, storage) if master else None
    master_mark = _mark(stale.master_mark(asset, *master[3:])) if master else None
    inherited: dict[tuple[Any, int], dict[str, Any]] = {}

    broken: list[tuple[int, uuid.UUID, str, int, str]] = []
    out: list[dict[str, Any]] = []
    # (scene number, selected image columns) of the latest earlier instance with an image.
    earlier: tuple[int, Sequence[Any]] | None = None
    for row in rows.scenes:
        scene_id, number, heading, position, appears, inst_id = row[:6]
        image: dict[str, Any] | None = None
        source: str | None = None
        from_scene: int | None = None
        mark: dict[str, Any] | None = None
        visual_state: str | None = None
        if appears:
            # No instance yet (Stage 8 has not listed the scene): the one it will make, with the
            # defaults (no visual state, use the master as is, the default reference).
            visual_state, as_is, kind, inst_number, inst_position = (
                row[6:11] if inst_id else ("", True, None, 0, 0)
            )
            mine = row[11:17] if row[11] is not None else None
            # (scene number or None for the master, image columns): what this scene starts from.
            ref: tuple[int | None, Sequence[Any]] | None
            pinned = _Pinned(row[17:23], *row[23:28]) if kind == "instance" and row[24] is not None else None
            if kind == "master" and master is not None:
                ref = (None, master)
            elif pinned is not None and pin_in_chain(
                cast(Any, pinned), asset_id=asset.id, script_id=script_id, position=position
            ):
                ref = (pinned.number, pinned.attempt)
            else:
                if kind == "instance":
                    problem = "reference_not_in_chain" if pinned else "reference_deleted"
                    broken.append((inst_position, inst_id, problem, inst_number, ""))
                elif kind == "master":
                    broken.append((inst_position, inst_id, "master_missing", inst_number, ""))
                ref = earlier if earlier else ((None, master) if master else None)
            if not as_is and mine is not None:
                image, source = _image("instance", number, mine, storage), "generated_here"
                mark = _mark(stale.instance_mark(asset, visual_state, *mine[3:]))
            elif as_is and ref is not None:
                ref_number, attempt = ref
                if ref_number is None:
                    image, source, mark = master_out, "master", master_mark
                else:
                    key = (attempt[0], ref_number)
                    if key not in inherited:
                        inherited[key] = _image("instance", ref_number, attempt, storage)
                    image, source, from_scene = inherited[key], "inherited", ref_number
                    mark = _mark(stale.instance_mark(asset, visual_state, *attempt[3:]))
            if mine is not None and inst_id is not None:
                earlier = (number, mine)
        out.append(
            {
                "scene_id": str(scene_id),
                "number": number,
                "heading": heading,
                "appears": appears,
                "instance_id": str(inst_id) if appears and inst_id else None,
                "visual_state": visual_state,
                "image": image,
                "image_source": source,
                "inherited_from_scene": from_scene,
                "stale": mark,
                "shots": shots_by_scene.get(scene_id, []),
            }
        )
    for inst_id, inst_number, inst_heading, inst_position in rows.vanished:
        broken.append((inst_position, inst_id, "scene_vanished", inst_number, inst_heading))
    broken.sort(key=lambda b: b[0])  # stable: scene order, then the vanished ones
    links = [
        {
            "instance_id": str(inst_id),
            "scene_number": inst_number,
            "problem": problem,
            "detail": _detail(problem, inst_number, inst_heading),
            "fix": _FIXES[problem],
        }
        for _, inst_id, problem, inst_number, inst_heading in broken
    ]
    timeline = {
        "asset_id": str(asset.id),
        "name": asset.name,
        "type": asset.type,
        "master": master_out,
        "scenes": out,
        "broken": links,
    }
    return timeline, [(inst_id, problem) for _, inst_id, problem, _, _ in broken]


def _detail(problem: str, number: int, heading: str) -> str:
    return {
        "reference_deleted": f"scene {number} was pinned to an image that has been deleted",
        "reference_not_in_chain": f"scene {number} is pinned to an image no longer before it",
        "master_missing": f"scene {number} is pinned to the master, which has no image",
        "scene_vanished": f"scene {number} ({heading}) is not in the current script",
    }[problem]


async def timeline(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID
) -> dict[str, Any]:
    """The timeline as plain dicts (``json_body`` serialises them as the ``Timeline`` model)."""
    rows = await _rows(session, project.id, asset_id)
    if rows is None:
        raise NotFound("Asset not found")
    return body(rows, storage)[0]


async def repair(session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID) -> RepairOut:
    """Fix what the timeline lists as broken; nothing is deleted."""
    ensure_stage8_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    rows = await _rows(session, project.id, asset.id)
    assert rows is not None  # the asset is locked
    before, broken = body(rows, storage)
    if broken:
        instances = {i.id: i for i in await crepo.asset_instances(session, asset.id)}
        now = datetime.now(UTC)
        for inst_id, problem in broken:
            inst = instances[inst_id]
            if problem == "scene_vanished":
                inst.removed_at = now
            else:
                inst.reference_kind, inst.reference_attempt_id, inst.inherited_from_instance_id = (
                    None,
                    None,
                    None,
                )
            inst.version += 1
        await session.flush()
    rows = await _rows(session, project.id, asset.id)
    assert rows is not None
    after, _ = body(rows, storage)
    return RepairOut.model_validate({"fixed": before["broken"], "timeline": after})


__all__ = ["Rows", "body", "owned_rows", "repair", "timeline"]
