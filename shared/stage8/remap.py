"""Stage 8 work across script versions, and the cleanup policy of removed instances.

``remap_instances`` moves each instance to the new version's matching scene: same heading (case
and spacing ignored) and, among scenes with that heading, the nearest position (a one-to-one
greedy assignment, nearest pairs first). A scene that moved keeps its instances; one that
vanished leaves them *stale*: kept with their images, listed by the readiness check, never
deleted. It must run in the transaction that writes the new version's scenes, after they are
flushed (``shared/scripts/service.write_scenes``).

``carry_shots`` copies the shot lists of the scenes that carried over onto their new scene rows
(called by ``shared/scripts/relink.relink`` with its old -> new scene pairing, in the same
transaction). Shots of a scene without a match are not copied: the new version has no place for
them (a new version leaves them on the old version's rows; a re-parse drops them with its rows).

Cleanup policy: an instance removed from its scene keeps its images, so re-adding the asset
brings them back. ``purge_removed_instances`` deletes instances that have been out of their scene
for longer than ``instance_purge_after_days`` (and their stored objects, after commit). Stale
instances are not purged: they were never removed by anyone.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import after_commit
from shared.models import Scene, SceneAssetInstance, SceneInstanceAttempt, Script, Shot
from shared.stage8 import repository as repo
from shared.storage.base import Storage

log = structlog.get_logger()


def heading_key(heading: str) -> str:
    return " ".join(heading.upper().split())


@dataclass(frozen=True, slots=True)
class OldScene:
    """Where a group of instances was: their scene row if it still exists, and its snapshot."""

    scene_id: uuid.UUID | None
    heading: str
    position: int


def match_scenes(old: list[OldScene], new: list[Scene]) -> dict[OldScene, Scene]:
    """One-to-one: equal headings only, nearest positions first (ties: script order)."""
    by_heading: dict[str, list[Scene]] = defaultdict(list)
    for scene in new:
        by_heading[heading_key(scene.heading)].append(scene)
    pairs = sorted(
        (abs(o.position - s.position), o.position, s.position, i, s)
        for i, o in enumerate(old)
        for s in by_heading.get(heading_key(o.heading), [])
    )
    out: dict[OldScene, Scene] = {}
    used: set[uuid.UUID] = set()
    for _, _, _, i, scene in pairs:
        if old[i] in out or scene.id in used:
            continue
        out[old[i]] = scene
        used.add(scene.id)
    return out


@dataclass(frozen=True, slots=True)
class RemapSummary:
    moved: int
    stale: int


async def remap_instances(
    session: AsyncSession, *, old_script_id: uuid.UUID, new_script_id: uuid.UUID
) -> RemapSummary:
    """Attach the instances of ``old_script_id``'s scenes (and any whose scene row is gone, as after
    a re-parse, where both ids are the same script) to the matching scenes of ``new_script_id``."""
    project_id = await session.scalar(select(Script.project_id).where(Script.id == new_script_id))
    if project_id is None:
        return RemapSummary(moved=0, stale=0)
    new_scenes = list(await session.scalars(select(Scene).where(Scene.script_id == new_script_id)))
    new_ids = {s.id for s in new_scenes}
    old_scene_ids = select(Scene.id).where(Scene.script_id == old_script_id)
    candidates = list(
        await session.scalars(
            select(SceneAssetInstance)
            .where(
                SceneAssetInstance.project_id == project_id,
                or_(SceneAssetInstance.scene_id.is_(None), SceneAssetInstance.scene_id.in_(old_scene_ids)),
            )
            .order_by(SceneAssetInstance.updated_at.desc())
            .with_for_update()
        )
    )
    candidates = [i for i in candidates if i.scene_id not in new_ids]
    # When an asset has two candidates for one new scene (a stale leftover and the instance the
    # user worked on last), the latter wins and the leftover stays stale. Across versions that is
    # the one still on an old scene row; in a re-parse (same script) it is one the re-parse just
    # detached. The sort is stable, so most recently updated first within each group.
    reparse = old_script_id == new_script_id
    candidates.sort(key=lambda i: (i.scene_id is None) != reparse)
    taken: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    if new_ids:
        existing = await session.execute(
            select(SceneAssetInstance.asset_id, SceneAssetInstance.scene_id).where(
                SceneAssetInstance.scene_id.in_(new_ids)
            )
        )
        taken = {(a, s) for a, s in existing.all()}

    def where(inst: SceneAssetInstance) -> OldScene:
        return OldScene(inst.scene_id, inst.scene_heading, inst.scene_position)

    mapping = match_scenes(sorted({where(i) for i in candidates}, key=lambda o: o.position), new_scenes)
    moved = 0
    for inst in candidates:
        target = mapping.get(where(inst))
        if target is None or (inst.asset_id, target.id) in taken:
            continue
        taken.add((inst.asset_id, target.id))
        inst.scene_id = target.id
        inst.scene_number, inst.scene_heading, inst.scene_position = (
            target.number,
            target.heading,
            target.position,
        )
        moved += 1
    await session.flush()
    summary = RemapSummary(moved=moved, stale=len(candidates) - moved)
    log.info("stage8.remap.succeeded", new_script_id=str(new_script_id), moved=moved, stale=summary.stale)
    return summary


@dataclass(frozen=True, slots=True)
class OldShot:
    """A shot of the previous version's scene, read before its rows may be rewritten."""

    scene_id: uuid.UUID
    number: int
    camera: str
    action: str
    assets: list[str]
    framing: str | None
    angle: str | None
    side: str | None
    angles_edited: bool


async def carry_shots(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    shots: list[OldShot],
    new_scene_of: dict[uuid.UUID, uuid.UUID],
) -> int:
    """Copy each shot whose scene carried over onto the new scene (angles and the user's angle
    edits included): one INSERT per 2000 shots, whatever the number of scenes. Returns the count."""
    rows = [
        {
            "id": uuid.uuid4(),
            "project_id": project_id,
            "scene_id": new_scene_of[s.scene_id],
            "number": s.number,
            "camera": s.camera,
            "action": s.action,
            "assets": list(s.assets or []),
            "framing": s.framing,
            "angle": s.angle,
            "side": s.side,
            "angles_edited": s.angles_edited,
        }
        for s in shots
        if s.scene_id in new_scene_of  # a vanished scene's shots are dropped here
    ]
    # asyncpg takes at most 32767 parameters per statement: 11 per row, so 2000 rows at a time.
    for start in range(0, len(rows), 2000):
        await session.execute(insert(Shot).values(rows[start : start + 2000]))
    log.info("stage8.shots.carried", copied=len(rows), dropped=len(shots) - len(rows))
    return len(rows)


async def purge_removed_instances(session: AsyncSession, storage: Storage, *, older_than: timedelta) -> int:
    """Delete instances out of their scene for longer than ``older_than``, with their images.
    An instance that lost its link some other way (a Stage 5 scene edit) is stamped now and goes
    after the same delay; one whose link came back is never deleted."""
    now = datetime.now(UTC)
    await session.execute(
        update(SceneAssetInstance)
        .where(
            SceneAssetInstance.removed_at.is_(None),
            SceneAssetInstance.scene_id.is_not(None),
            ~repo.live(),
        )
        .values(removed_at=now)
        .execution_options(synchronize_session=False)
    )
    doomed = select(SceneAssetInstance.id).where(
        SceneAssetInstance.removed_at < now - older_than, ~repo.live()
    )
    keys = [
        k
        for row in (
            await session.execute(
                select(SceneInstanceAttempt.storage_key, SceneInstanceAttempt.thumbnail_key).where(
                    SceneInstanceAttempt.instance_id.in_(doomed)
                )
            )
        ).all()
        for k in row
        if k
    ]
    result = await session.execute(
        delete(SceneAssetInstance)
        .where(SceneAssetInstance.id.in_(doomed))
        .execution_options(synchronize_session=False)
    )
    if keys:
        after_commit(session, lambda: storage.delete_many(keys))
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    log.info("stage8.purge.succeeded", instances=count, objects=len(keys))
    return count
