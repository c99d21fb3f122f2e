"""A scene's shot list (input from the shot-list stage) and what it tells Stage 8: which shots each
asset is in (listed explicitly, or named in the action by name or alias) and the camera angles of
those shots.

Presence is computed on read from the stored shots and the assets' current names, so it follows
every change of the shot list or of a name without a refresh step (one scene's shots and one
compiled pattern: microseconds)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.continuity import repository as crepo
from shared.continuity.angles import CameraAngles, parse_camera, prompt_line
from shared.continuity.names import NameMatcher
from shared.continuity.schemas import (
    CameraAnglesOut,
    InstanceShots,
    ShotAsset,
    ShotList,
    ShotOut,
    ShotsIn,
    ShotsPatch,
)
from shared.errors import NotFound, ValidationFailed
from shared.models import Project, Scene, SceneAssetInstance, Shot
from shared.stage8 import repository as s8repo
from shared.stage8.schemas import ShotAngles


@dataclass
class Presence:
    """Per shot, the assets in it and how they were found; per asset, its shots."""

    in_shot: dict[int, list[tuple[uuid.UUID, str]]] = field(default_factory=dict)
    by_asset: dict[uuid.UUID, list[int]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


class ShotLike(Protocol):
    """A stored shot or a plain row of its columns."""

    @property
    def number(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def assets(self) -> list[str]: ...


def presence(shots: Sequence[ShotLike], matcher: NameMatcher) -> Presence:
    out = Presence()
    for shot in sorted(shots, key=lambda s: s.number):
        listed = matcher.resolve(shot.assets or [])
        out.unknown += [n for n in shot.assets or [] if not matcher.resolve([n])]
        named = matcher.assets_in(shot.action) - listed
        found = [(a, "listed") for a in sorted(listed)] + [(a, "named_in_action") for a in sorted(named)]
        out.in_shot[shot.number] = found
        for asset_id, _ in found:
            out.by_asset.setdefault(asset_id, []).append(shot.number)
    return out


def shot_angles(shot: Shot) -> ShotAngles:
    return ShotAngles(shot=shot.number, framing=shot.framing, angle=shot.angle, side=shot.side)


def angles_of(shots: Sequence[Shot], numbers: Sequence[int]) -> list[ShotAngles]:
    wanted = set(numbers)
    return [shot_angles(s) for s in sorted(shots, key=lambda s: s.number) if s.number in wanted]


def as_camera_angles(items: Sequence[ShotAngles]) -> list[CameraAngles]:
    return [CameraAngles(a.framing, a.angle, a.side) for a in items]


async def put_shots(session: AsyncSession, project: Project, scene: Scene, data: ShotsIn) -> None:
    """Replace the scene's shot list. A shot whose camera text is unchanged keeps angles a user
    edited; any other shot gets the angles parsed from its camera text."""
    numbers = [s.number for s in data.shots]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    if dupes:
        raise ValidationFailed(
            "Shot numbers must be unique within a scene",
            code="duplicate_shot_number",
            details={"numbers": dupes},
        )
    old = {s.number: s for s in await crepo.shots_of(session, [scene.id])}
    await session.execute(delete(Shot).where(Shot.scene_id == scene.id))
    for item in data.shots:
        prev = old.get(item.number)
        keep = prev is not None and prev.angles_edited and prev.camera == item.camera
        parsed = parse_camera(item.camera)
        session.add(
            Shot(
                id=uuid.uuid4(),
                project_id=project.id,
                scene_id=scene.id,
                number=item.number,
                camera=item.camera,
                action=item.action,
                assets=[n.strip() for n in item.assets or [] if n.strip()],
                framing=prev.framing if keep and prev else parsed.framing,
                angle=prev.angle if keep and prev else parsed.angle,
                side=prev.side if keep and prev else parsed.side,
                angles_edited=keep,
            )
        )
    await session.flush()


async def patch_angles(session: AsyncSession, scene: Scene, data: ShotsPatch) -> None:
    """Correct shots' camera angles (a field sent as null clears it); kept across re-PUTs of the
    same camera text. All or nothing: an unknown shot number is a 404 and nothing changes."""
    wanted = {p.number: p for p in data.shots}
    shots = {
        s.number: s
        for s in await session.scalars(
            select(Shot).where(Shot.scene_id == scene.id, Shot.number.in_(list(wanted))).with_for_update()
        )
    }
    missing = sorted(set(wanted) - set(shots))
    if missing:
        raise NotFound("Shot not found in this scene", code="shot_not_found", details={"numbers": missing})
    for number, patch in wanted.items():
        shot = shots[number]
        for name, value in patch.model_dump(exclude_unset=True, exclude={"number"}).items():
            setattr(shot, name, value)
        shot.angles_edited = True
    await session.flush()


def shot_out(
    shot: Shot,
    found: list[tuple[uuid.UUID, str]],
    info: dict[uuid.UUID, tuple[str, str]],
    instance_of: dict[uuid.UUID, uuid.UUID],
) -> ShotOut:
    return ShotOut(
        number=shot.number,
        camera=shot.camera,
        action=shot.action,
        listed=list(shot.assets or []),
        camera_angles=CameraAnglesOut(
            framing=shot.framing,
            angle=shot.angle,
            side=shot.side,
            edited=shot.angles_edited,
        ),
        assets=[
            ShotAsset(
                asset_id=a,
                instance_id=instance_of.get(a),
                name=info[a][0],
                type=info[a][1],
                how=how,
            )
            for a, how in found
            if a in info
        ],
    )


async def read_shots(session: AsyncSession, project: Project, scene: Scene) -> ShotList:
    await s8repo.ensure_instances(session, script_id=scene.script_id, scene_id=scene.id)
    shots = await crepo.shots_of(session, [scene.id])
    assets = await crepo.project_assets(session, project.id)
    info = {a.asset_id: (a.name, a.type) for a in assets}
    instance_of = dict(
        (
            await session.execute(
                select(SceneAssetInstance.asset_id, SceneAssetInstance.id).where(
                    SceneAssetInstance.scene_id == scene.id, s8repo.live()
                )
            )
        ).all()
    )
    p = presence(shots, NameMatcher(assets))
    by_number = {s.number: s for s in shots}
    wanted = list(instance_of) + [a for a in p.by_asset if a not in instance_of]
    return ShotList(
        scene_id=scene.id,
        scene_number=scene.number,
        shots=[shot_out(by_number[n], found, info, instance_of) for n, found in p.in_shot.items()],
        instances=[
            InstanceShots(
                instance_id=instance_of.get(a),
                asset_id=a,
                name=info[a][0],
                shots=p.by_asset.get(a, []),
                camera_angles=angles_of(shots, p.by_asset.get(a, [])),
            )
            for a in sorted(wanted, key=lambda x: info[x][0].lower() if x in info else "")
            if a in info
        ],
        unknown_names=sorted(set(p.unknown)),
    )


async def scene_presence(
    session: AsyncSession, project_id: uuid.UUID, scene_id: uuid.UUID
) -> dict[uuid.UUID, InstanceShots]:
    """Per asset of one scene's shot list: its shot numbers and their camera angles (two
    statements). What Stage 8's instance list can merge into each instance as ``shots`` and
    ``camera_angles``."""
    shots = await crepo.shots_of(session, [scene_id])
    if not shots:
        return {}
    assets = await crepo.project_assets(session, project_id)
    names = {a.asset_id: a.name for a in assets}
    p = presence(shots, NameMatcher(assets))
    return {
        a: InstanceShots(
            instance_id=None,
            asset_id=a,
            name=names[a],
            shots=numbers,
            camera_angles=angles_of(shots, numbers),
        )
        for a, numbers in p.by_asset.items()
    }


async def camera_prompt_line(
    session: AsyncSession, project_id: uuid.UUID, scene_id: uuid.UUID, asset_id: uuid.UUID
) -> str:
    """The line a scene-image prompt of this asset gets for its shots' camera angles ("" if none),
    for ``shared/stage8/prompts.py``: the image should serve the shots it will be used in."""
    found = (await scene_presence(session, project_id, scene_id)).get(asset_id)
    return prompt_line(as_camera_angles(found.camera_angles)) if found else ""
