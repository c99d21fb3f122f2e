"""The asset timeline (seed 3C.3): one asset across the current script in scene order, and the
repair of its broken links.

Per scene: whether the asset appears (a live link), its instance's visual state, its effective
image and where that image comes from (generated here, inherited from scene N, the master), whether
that image is stale, and the shots it is in. The reference chain is walked in Python over rows
read once, so a 300-scene script costs the same handful of statements as a 3-scene one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.continuity import repository as crepo
from shared.continuity.names import Named, NameMatcher
from shared.continuity.schemas import BrokenLink, RepairOut, Timeline, TimelineScene
from shared.continuity.shots import presence
from shared.continuity.stale import stale_of
from shared.models import (
    AssetAttempt,
    AssetSceneLink,
    Project,
    ProjectAsset,
    Scene,
    SceneAssetInstance,
    SceneInstanceAttempt,
)
from shared.stage8 import repository as s8repo
from shared.stage8.chain import instance_image, master_image, pin_in_chain
from shared.stage8.gate import ensure_stage8_unlocked
from shared.stage8.schemas import SceneImage
from shared.storage.base import Storage

_FIXES = {
    "reference_deleted": "the reference goes back to the default (latest earlier image, else the master)",
    "reference_not_in_chain": "the reference goes back to the default",
    "master_missing": "the reference goes back to the default",
    "scene_vanished": "the instance is detached (kept with its images until the purge)",
}


class _Pending(NamedTuple):
    """The instance Stage 8 will make for a linked scene it has not listed yet (its defaults: no
    visual state, use-master-as-is, default reference). Not an ORM object: a feature's timeline has
    a hundred of these per read, and building transient ORM instances was a tenth of its CPU."""

    id: None = None
    visual_state: str = ""
    use_master_as_is: bool = True
    reference_kind: None = None
    reference_attempt_id: None = None


_PENDING = _Pending()
# Built once, with bound parameters (see shared/assets/repository.py). Scenes as plain rows: the
# timeline reads five columns of every scene of the script.
_SCENES = (
    select(Scene.id, Scene.number, Scene.heading, Scene.script_id, Scene.position)
    .where(Scene.script_id == bindparam("script_id", type_=UUID(as_uuid=True)))
    .order_by(Scene.position)
)
_LIVE = (
    select(AssetSceneLink.scene_id)
    .join(Scene, Scene.id == AssetSceneLink.scene_id)
    .where(
        AssetSceneLink.asset_id == bindparam("asset_id", type_=UUID(as_uuid=True)),
        AssetSceneLink.removed.is_(False),
        Scene.script_id == bindparam("script_id", type_=UUID(as_uuid=True)),
    )
)
_OWN = select(SceneInstanceAttempt).where(
    SceneInstanceAttempt.instance_id.in_(bindparam("instance_ids", type_=UUID(as_uuid=True), expanding=True)),
    SceneInstanceAttempt.selected,
)


async def _build(
    session: AsyncSession, storage: Storage, project: Project, asset: ProjectAsset
) -> tuple[Timeline, dict[uuid.UUID, tuple[SceneAssetInstance, str]]]:
    script_id = await s8repo.current_script_id(session, project.id)
    params = {"script_id": script_id, "asset_id": asset.id}
    scenes = (await session.execute(_SCENES, params)).all() if script_id else []
    scene_ids = {s.id for s in scenes}
    live = set(await session.scalars(_LIVE, params)) if script_id else set()
    instances = list(await crepo.asset_instances(session, asset.id))
    own = (
        {a.instance_id: a for a in await session.scalars(_OWN, {"instance_ids": [i.id for i in instances]})}
        if instances
        else {}
    )
    pinned = [i.reference_attempt_id for i in instances if i.reference_attempt_id is not None]
    targets = await s8repo.reference_targets(session, pinned)
    master = (await s8repo.masters(session, [asset.id])).get(asset.id)
    shots = await crepo.script_shots(session, script_id) if script_id else []
    matcher = NameMatcher([Named(asset.id, asset.name, tuple(asset.aliases or ()))])
    grouped: dict[uuid.UUID, list[Any]] = {}
    for row in shots:
        grouped.setdefault(row.scene_id, []).append(row)
    shots_by_scene = {
        sid: presence(rows, matcher).by_asset.get(asset.id, []) for sid, rows in grouped.items()
    }

    # The same image is shown in many scenes (the master, an image inherited down the chain): each
    # is built (and its URLs signed) once per read.
    master_out = master_image(master, storage) if master else None
    inherited: dict[tuple[uuid.UUID, int], SceneImage] = {}

    def inherited_image(attempt: SceneInstanceAttempt, number: int) -> SceneImage:
        key = (attempt.id, number)
        if key not in inherited:
            inherited[key] = instance_image(attempt, number, storage)
        return inherited[key]

    by_scene = {i.scene_id: i for i in instances if i.scene_id in scene_ids}
    broken: dict[uuid.UUID, tuple[SceneAssetInstance, str]] = {}
    out: list[TimelineScene] = []
    earlier: tuple[int, SceneInstanceAttempt] | None = None
    for scene in scenes:
        appears = scene.id in live
        inst: SceneAssetInstance | _Pending | None = by_scene.get(scene.id) if appears else None
        if appears and inst is None:
            # Linked, but Stage 8 has not listed the scene yet: the instance it will make.
            inst = _PENDING
        image: SceneImage | None = None
        attempt: AssetAttempt | SceneInstanceAttempt | None = None
        source: str | None = None
        from_scene: int | None = None
        if inst is not None:
            # (scene number or None for the master, attempt): what this scene starts from.
            ref: tuple[int | None, AssetAttempt | SceneInstanceAttempt] | None
            target = targets.get(inst.reference_attempt_id) if inst.reference_attempt_id else None
            if inst.reference_kind == "master" and master is not None:
                ref = (None, master)
            elif (
                target is not None
                and inst.reference_kind == "instance"
                and pin_in_chain(
                    target, asset_id=asset.id, script_id=scene.script_id, position=scene.position
                )
            ):
                ref = (target.number, target[0])
            else:
                if inst.reference_kind == "instance":
                    assert isinstance(inst, SceneAssetInstance)  # a pending one has no reference
                    broken[inst.id] = (inst, "reference_not_in_chain" if target else "reference_deleted")
                elif inst.reference_kind == "master":
                    assert isinstance(inst, SceneAssetInstance)
                    broken[inst.id] = (inst, "master_missing")
                ref = earlier if earlier else ((None, master) if master else None)
            mine = own.get(inst.id) if inst.id is not None else None
            if not inst.use_master_as_is and mine is not None:
                attempt, image, source = mine, instance_image(mine, scene.number, storage), "generated_here"
            elif inst.use_master_as_is and ref is not None:
                number, attempt = ref
                if isinstance(attempt, AssetAttempt):
                    master_ref = master_out if attempt is master else None
                    image, source = master_ref or master_image(attempt, storage), "master"
                elif number is not None:
                    image, source, from_scene = inherited_image(attempt, number), "inherited", number
            if mine is not None and inst.id is not None:
                earlier = (scene.number, mine)
        out.append(
            TimelineScene(
                scene_id=scene.id,
                number=scene.number,
                heading=scene.heading,
                appears=appears,
                instance_id=inst.id if inst else None,
                visual_state=inst.visual_state if inst else None,
                image=image,
                image_source=source,
                inherited_from_scene=from_scene,
                stale=stale_of(asset, inst.visual_state if inst else None, attempt),
                shots=shots_by_scene.get(scene.id, []),
            )
        )
    for inst in instances:
        if inst.removed_at is None and inst.scene_id not in scene_ids:
            broken[inst.id] = (inst, "scene_vanished")
    links = [
        BrokenLink(
            instance_id=inst.id,
            scene_number=inst.scene_number,
            problem=problem,
            detail=_detail(problem, inst),
            fix=_FIXES[problem],
        )
        for inst, problem in sorted(broken.values(), key=lambda b: b[0].scene_position)
    ]
    timeline = Timeline(
        asset_id=asset.id,
        name=asset.name,
        type=asset.type,
        master=master_out,
        scenes=out,
        broken=links,
    )
    return timeline, broken


def _detail(problem: str, inst: SceneAssetInstance) -> str:
    return {
        "reference_deleted": f"scene {inst.scene_number} was pinned to an image that has been deleted",
        "reference_not_in_chain": f"scene {inst.scene_number} is pinned to an image no longer before it",
        "master_missing": f"scene {inst.scene_number} is pinned to the master, which has no image",
        "scene_vanished": f"scene {inst.scene_number} ({inst.scene_heading}) is not in the current script",
    }[problem]


async def timeline(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID
) -> Timeline:
    asset = await require_asset(session, project, asset_id)
    return (await _build(session, storage, project, asset))[0]


async def repair(session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID) -> RepairOut:
    """Fix what the timeline lists as broken; nothing is deleted."""
    ensure_stage8_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    before, broken = await _build(session, storage, project, asset)
    now = datetime.now(UTC)
    for inst, problem in broken.values():
        if problem == "scene_vanished":
            inst.removed_at = now
        else:
            inst.reference_kind, inst.reference_attempt_id, inst.inherited_from_instance_id = None, None, None
        inst.version += 1
    await session.flush()
    after, _ = await _build(session, storage, project, asset)
    return RepairOut(fixed=before.broken, timeline=after)


__all__ = ["Scene", "repair", "timeline"]
