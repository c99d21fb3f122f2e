"""Scene instances: the scene's asset list (instances made on first read), edits, use-master-as-is,
adding an asset to a scene (existing or new) and removing it from that scene only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.continuity.shots import scene_presence
from shared.errors import Conflict, NotFound
from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, SceneAssetInstance
from shared.stage8 import repository as repo
from shared.stage8.chain import References
from shared.stage8.gate import ensure_stage8_unlocked, is_required
from shared.stage8.schemas import AddToScene, InstanceList, InstanceOut, InstancePatch, SceneImage, SceneRef
from shared.storage.base import Storage


async def require_scene(session: AsyncSession, project: Project, scene_id: uuid.UUID) -> Scene:
    """A scene of the project's *current* script. Another project's scene is a 404; a scene of an
    older script version is a 409 (its instances moved to the new version's matching scene)."""
    scene = await repo.get_scene(session, project_id=project.id, scene_id=scene_id)
    if scene is None:
        raise NotFound("Scene not found")
    if scene.script_id != await repo.current_script_id(session, project.id):
        raise Conflict(
            "This scene belongs to an older script version; use the current version's scenes",
            code="scene_not_current",
        )
    return scene


async def require_instance(
    session: AsyncSession, scene: Scene, instance_id: uuid.UUID, *, for_update: bool = False
) -> SceneAssetInstance:
    instance = await repo.get_instance(
        session, scene_id=scene.id, instance_id=instance_id, for_update=for_update
    )
    if instance is None:
        raise NotFound("Instance not found in this scene")
    return instance


def _out(row: Row[Any], refs: References, storage: Storage) -> InstanceOut:
    inst: SceneAssetInstance = row[0]
    reference, pinned = refs.resolve(inst, storage)
    if inst.use_master_as_is:
        image = reference
    elif row.own_id is not None:
        image = instance_image_from_row(row, storage)
    else:
        image = None
    assert inst.scene_id is not None  # listed rows are joined to their scene
    return InstanceOut(
        id=inst.id,
        asset_id=inst.asset_id,
        scene_id=inst.scene_id,
        scene_number=row.scene_number,
        name=row.name,
        type=row.type,
        deferred=row.deferred,
        description=row.description,
        visual_state=inst.visual_state,
        use_master_as_is=inst.use_master_as_is,
        reference=reference,
        reference_pinned=pinned,
        image=image,
        attempt_count=row.attempt_count,
        required=is_required(row),
        generate_later=inst.generate_later,
        camera_angle=inst.camera_angle,
        version=inst.version,
    )


def instance_image_from_row(row: Row[Any], storage: Storage) -> SceneImage:
    return SceneImage(
        kind="instance",
        scene_number=row.scene_number,
        attempt_id=row.own_id,
        image_url=storage.signed_url(row.own_key),
        thumbnail_url=storage.signed_url(row.own_thumb) if row.own_thumb else None,
    )


async def read_instances(
    session: AsyncSession, storage: Storage, scene: Scene, instance_ids: Sequence[uuid.UUID] | None = None
) -> list[InstanceOut]:
    rows = await repo.instance_rows(session, scene_id=scene.id, instance_ids=instance_ids)
    refs = await References.load(
        session, script_id=scene.script_id, position=scene.position, instances=[r[0] for r in rows]
    )
    items = [_out(r, refs, storage) for r in rows]
    # Shot presence from the scene's shot list (the shot-list stage's input), when there is one.
    presence = await scene_presence(session, scene.project_id, scene.id) if items else {}
    for item in items:
        if (found := presence.get(item.asset_id)) is not None:
            item.shots = list(found.shots)
            item.camera_angles = list(found.camera_angles)
    return items


async def read_instance(
    session: AsyncSession, storage: Storage, scene: Scene, instance_id: uuid.UUID
) -> InstanceOut:
    items = await read_instances(session, storage, scene, [instance_id])
    if not items:
        raise NotFound("Instance not found in this scene")
    return items[0]


async def list_scene(
    session: AsyncSession, storage: Storage, project: Project, scene_id: uuid.UUID
) -> InstanceList:
    scene = await require_scene(session, project, scene_id)
    await repo.ensure_instances(session, script_id=scene.script_id, scene_id=scene.id)
    return InstanceList(
        scene=SceneRef(id=scene.id, number=scene.number, heading=scene.heading),
        items=await read_instances(session, storage, scene),
    )


async def patch_instance(
    session: AsyncSession, project: Project, scene: Scene, instance_id: uuid.UUID, data: InstancePatch
) -> None:
    ensure_stage8_unlocked(project)
    inst = await require_instance(session, scene, instance_id, for_update=True)
    if data.version is not None and data.version != inst.version:
        raise Conflict(
            "The instance changed since you read it",
            code="version_conflict",
            details={"current_version": inst.version},
        )
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    for name, value in fields.items():
        # null means "back to the default rule" for required and "none" for the camera angle;
        # for the other fields it means "leave as is".
        if value is None and name not in ("required", "camera_angle"):
            continue
        setattr(inst, name, value)
    inst.version += 1
    await session.flush()


async def use_master(
    session: AsyncSession, project: Project, scene: Scene, instance_ids: list[uuid.UUID]
) -> None:
    ensure_stage8_unlocked(project)
    wanted = set(instance_ids)
    found = list(
        await session.scalars(
            select(SceneAssetInstance)
            .where(SceneAssetInstance.id.in_(wanted), SceneAssetInstance.scene_id == scene.id, repo.live())
            .with_for_update()
        )
    )
    missing = sorted(str(i) for i in wanted - {i.id for i in found})
    if missing:
        raise NotFound("Some instances are not in this scene", details={"instance_ids": missing})
    for inst in found:
        if not inst.use_master_as_is:
            inst.use_master_as_is = True
            inst.version += 1
    await session.flush()


async def add_to_scene(
    session: AsyncSession, project: Project, scene: Scene, data: AddToScene
) -> tuple[uuid.UUID, bool]:
    """Link an existing asset (deferred ones too) or a new scene-specific one to the scene, with
    link source ``stage8``. Returns the instance id and whether the asset was not in the scene
    before. Re-adding a removed asset brings its instance back with its images."""
    ensure_stage8_unlocked(project)
    if data.new is not None:
        now = datetime.now(UTC)
        asset = ProjectAsset(
            id=uuid.uuid4(),
            project_id=project.id,
            name=data.new.name.strip(),
            type=data.new.type,
            description=data.new.description,
            aliases=[],
            deferred=False,
            source="manual",
            stale=False,
            meta={"created_in_scene": scene.number},
            version=1,
            described_at=now if data.new.description.strip() else None,
        )
        session.add(asset)
        await session.flush()
    else:
        # Locked so two adds of one asset to one scene take turns instead of racing on the link.
        found = await session.scalar(
            select(ProjectAsset)
            .where(ProjectAsset.id == data.asset_id, ProjectAsset.project_id == project.id)
            .with_for_update()
        )
        if found is None:
            raise NotFound("Asset not found")
        asset = found
    link = await session.scalar(
        select(AssetSceneLink).where(AssetSceneLink.asset_id == asset.id, AssetSceneLink.scene_id == scene.id)
    )
    added = link is None or link.removed
    if link is None:
        session.add(
            AssetSceneLink(
                id=uuid.uuid4(), asset_id=asset.id, scene_id=scene.id, source="stage8", removed=False
            )
        )
    elif link.removed:
        link.removed, link.source = False, "stage8"
    if added and data.new is None:
        asset.version += 1  # its scene numbers changed
    await session.flush()
    await repo.ensure_instances(session, script_id=scene.script_id, scene_id=scene.id)
    inst = await session.scalar(
        select(SceneAssetInstance)
        .where(SceneAssetInstance.asset_id == asset.id, SceneAssetInstance.scene_id == scene.id)
        .execution_options(populate_existing=True)
    )
    assert inst is not None  # ensure_instances just made it, or it existed
    if inst.removed_at is not None:
        inst.removed_at = None
        inst.version += 1
        await session.flush()
    return inst.id, added


async def remove_from_scene(
    session: AsyncSession, project: Project, scene: Scene, instance_id: uuid.UUID
) -> None:
    """The asset leaves this scene only: the link is kept as ``removed`` (re-extraction does not
    bring it back), the asset stays, and the instance keeps its images until the purge."""
    ensure_stage8_unlocked(project)
    found = await require_instance(session, scene, instance_id)
    # The asset row first, then the instance: the order add_to_scene takes them in, so a remove
    # racing an add of the same asset waits instead of deadlocking.
    await session.execute(select(ProjectAsset.id).where(ProjectAsset.id == found.asset_id).with_for_update())
    inst = await require_instance(session, scene, instance_id, for_update=True)
    link = await session.scalar(
        select(AssetSceneLink).where(
            AssetSceneLink.asset_id == inst.asset_id, AssetSceneLink.scene_id == scene.id
        )
    )
    assert link is not None  # a live instance has its link
    link.removed = True
    inst.removed_at = datetime.now(UTC)
    inst.version += 1
    asset = await session.get(ProjectAsset, inst.asset_id)
    if asset is not None:
        asset.version += 1
    await session.flush()
