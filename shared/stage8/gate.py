"""The Stage 8 gate (seed 3B.5): what still blocks, lock, unlock.

An instance blocks when it is required, not marked generate-later, and has no effective image.
Required by default: characters that extraction marked priority; everything else is optional
(seed 3B.5: "mark primary characters as required, secondary props/locations as optional"). The
user overrides per instance. Stale instances (their scene left the script) are listed, never
blocking: there is no scene left to finish them in. Stage 8 locks only after Stage 5.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.models import AssetAttempt, Project
from shared.stage8 import repository as repo
from shared.stage8.chain import pin_in_chain
from shared.stage8.schemas import Blocker, Readiness, SceneBlockers, StaleInstance


def ensure_stage8_unlocked(project: Project) -> None:
    if project.stage8_locked_at is not None:
        raise Conflict("Stage 8 is locked; unlock it to change scene instances", code="stage_locked")


def default_required(asset_type: str, priority: str | None) -> bool:
    return asset_type == "character" and priority == "true"


def required_of(required: bool | None, asset_type: str, priority: str | None) -> bool:
    """The instance's own choice (``required``), else the default rule."""
    return required if required is not None else default_required(asset_type, priority)


def is_required(row: Row[Any]) -> bool:
    return required_of(row[0].required, row.type, row.priority)


async def readiness(session: AsyncSession, project: Project) -> Readiness:
    script_id = await repo.current_script_id(session, project.id)
    scenes: list[SceneBlockers] = []
    counts = {"instances": 0, "required": 0, "blocking": 0}
    if script_id is not None:
        await repo.ensure_instances(session, script_id=script_id)
        rows = await repo.script_instance_rows(session, script_id=script_id)
        has_reference = await _reference_finder(session, project, script_id, rows)
        by_scene: dict[uuid.UUID, SceneBlockers] = {}
        for row in rows:
            inst = row[0]
            counts["instances"] += 1
            if not is_required(row):
                continue
            counts["required"] += 1
            effective = has_reference(row) if inst.use_master_as_is else row.own_id is not None
            if effective or inst.generate_later:
                continue
            counts["blocking"] += 1
            assert inst.scene_id is not None  # live rows are joined to their scene
            entry = by_scene.setdefault(
                inst.scene_id,
                SceneBlockers(
                    scene_id=inst.scene_id, number=row.scene_number, heading=inst.scene_heading, blockers=[]
                ),
            )
            entry.blockers.append(
                Blocker(instance_id=inst.id, asset_id=inst.asset_id, name=row.name, type=row.type)
            )
        scenes = list(by_scene.values())  # rows come in script order
    stale = [
        StaleInstance(
            instance_id=inst.id,
            asset_id=inst.asset_id,
            name=name,
            last_scene_number=inst.scene_number,
            last_heading=inst.scene_heading,
            attempt_count=count,
        )
        for inst, name, count in await repo.stale_rows(session, project_id=project.id, script_id=script_id)
    ]
    stage5_locked = project.stage5_locked_at is not None
    return Readiness(
        locked_at=project.stage8_locked_at,
        stage5_locked=stage5_locked,
        ready=stage5_locked and counts["blocking"] == 0,
        scenes=scenes,
        stale=stale,
        **counts,
    )


async def _reference_finder(session: AsyncSession, project: Project, script_id: uuid.UUID, rows: Any) -> Any:
    """A predicate "this instance has a reference image", from three project-wide queries (not one
    per instance): the assets with a master image, every selected scene image by position, and
    the pinned targets."""
    with_master = set(
        await session.scalars(
            select(AssetAttempt.asset_id).where(
                AssetAttempt.project_id == project.id, AssetAttempt.selected.is_(True)
            )
        )
    )
    positions: dict[uuid.UUID, list[int]] = defaultdict(list)
    for asset_id, position, _ in await repo.selected_images(session, script_id=script_id):
        positions[asset_id].append(position)
    for p in positions.values():
        p.sort()
    pinned = [r[0].reference_attempt_id for r in rows if r[0].reference_attempt_id is not None]
    targets = await repo.reference_targets(session, pinned)

    def has_reference(row: Row[Any]) -> bool:
        inst = row[0]
        if inst.asset_id in with_master:
            return True  # the master is always in the chain, so a fallback always exists
        if inst.reference_kind == "instance" and inst.reference_attempt_id is not None:
            target = targets.get(inst.reference_attempt_id)
            if pin_in_chain(target, asset_id=inst.asset_id, script_id=script_id, position=row.position):
                return True
        earlier = positions.get(inst.asset_id, [])
        return bisect.bisect_left(earlier, row.position) > 0

    return has_reference


async def lock(session: AsyncSession, project: Project) -> Readiness:
    if project.stage5_locked_at is None:
        raise Conflict("Lock Stage 5 before Stage 8", code="stage5_unlocked")
    state = await readiness(session, project)
    if state.blocking:
        raise Conflict(
            f"{state.blocking} required scene instance(s) have no image",
            code="stage8_blocked",
            details=state.model_dump(mode="json"),
        )
    if project.stage8_locked_at is None:
        project.stage8_locked_at = datetime.now(UTC)
        await session.flush()
    state.locked_at = project.stage8_locked_at
    return state


async def unlock(session: AsyncSession, project: Project) -> Readiness:
    project.stage8_locked_at = None
    await session.flush()
    return await readiness(session, project)
