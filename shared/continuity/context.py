"""The scene context for frame generation (seed 3C.4): what a frame prompt needs, ready to use.

Built from rows read once per request (the Stage 8 list of the scene and of the scene before it,
the style, shots, views, the images' attempts), a constant number of statements per request.

``max_tokens`` bounds the answer (estimated at 4 characters per token). The scene's heading, style
and aspect ratio always stay. Then, in order while they fit: required assets (and, with ``shot``,
the assets in that shot), the previous scene's end state of those, the other assets, their
previous states. An asset that does not fit whole is summarised (first sentence of its
description, no stale prompt), else dropped; a previous state that does not fit is dropped. The
answer lists what was summarised or dropped and its token estimate."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.continuity import repository as crepo
from shared.continuity.names import NameMatcher
from shared.continuity.schemas import (
    CameraAnglesOut,
    ContextAsset,
    LeftOut,
    PreviousState,
    SceneContext,
    ShotOut,
    StyleContext,
)
from shared.continuity.shots import angles_of, presence, shot_out
from shared.continuity.stale import instance_stale, master_stale
from shared.continuity.views import choose_view
from shared.errors import NotFound
from shared.models import AssetAttempt, Project, Scene, SceneInstanceAttempt
from shared.stage8 import repository as s8repo
from shared.stage8 import service as s8service
from shared.stage8.schemas import InstanceOut, StaleMark
from shared.storage.base import Storage
from shared.styles.service import resolve_style

_SENTENCE = re.compile(r"(?<=[.!?])\s")


def tokens(model: Any) -> int:
    return math.ceil(len(model.model_dump_json()) / 4)


def summarise(asset: ContextAsset) -> ContextAsset:
    first = _SENTENCE.split(asset.description.strip(), maxsplit=1)[0]
    stale = asset.stale.model_copy(update={"made_from": None}) if asset.stale else None
    return asset.model_copy(update={"description": first, "summarised": True, "stale": stale, "view": None})


async def _previous(
    session: AsyncSession, storage: Storage, scene: Scene
) -> tuple[Scene | None, list[InstanceOut]]:
    prev = await session.scalar(
        select(Scene)
        .where(Scene.script_id == scene.script_id, Scene.position < scene.position)
        .order_by(Scene.position.desc())
        .limit(1)
    )
    if prev is None:
        return None, []
    await s8repo.ensure_instances(session, script_id=prev.script_id, scene_id=prev.id)
    return prev, await s8service.read_instances(session, storage, prev)


async def _attempts(
    session: AsyncSession, items: list[InstanceOut]
) -> tuple[dict[uuid.UUID, AssetAttempt], dict[uuid.UUID, SceneInstanceAttempt]]:
    masters = [i.image.attempt_id for i in items if i.image and i.image.kind == "master"]
    scenes = [i.image.attempt_id for i in items if i.image and i.image.kind == "instance"]
    m = (
        {a.id: a for a in await session.scalars(select(AssetAttempt).where(AssetAttempt.id.in_(masters)))}
        if masters
        else {}
    )
    s = (
        {
            a.id: a
            for a in await session.scalars(
                select(SceneInstanceAttempt).where(SceneInstanceAttempt.id.in_(scenes))
            )
        }
        if scenes
        else {}
    )
    return m, s


async def scene_context(
    session: AsyncSession,
    storage: Storage,
    project: Project,
    scene_id: uuid.UUID,
    *,
    shot: int | None,
    max_tokens: int | None,
) -> SceneContext:
    listing = await s8service.list_scene(session, storage, project, scene_id)
    scene = await s8service.require_scene(session, project, scene_id)
    style = await resolve_style(session, project)
    shots = list(await crepo.shots_of(session, [scene.id]))
    chosen = next((s for s in shots if s.number == shot), None)
    if shot is not None and chosen is None:
        raise NotFound("Shot not found in this scene", code="shot_not_found")
    assets = await crepo.project_assets(session, project.id)
    by_id = {a.asset_id: a for a in assets}
    p = presence(shots, NameMatcher(assets))
    items = listing.items
    if chosen is not None:
        # One shot: the assets in it, and the scene's locations (the shot happens there).
        in_shot = {a for a, _ in p.in_shot.get(chosen.number, [])}
        items = [i for i in items if i.asset_id in in_shot or i.type == "location"]
    views = await crepo.views_of(session, [i.asset_id for i in items])
    masters, scene_attempts = await _attempts(session, items)

    out: list[ContextAsset] = []
    for i in items:
        asset = by_id.get(i.asset_id)
        stale: StaleMark | None = None
        if i.image is not None and asset is not None:
            if i.image.kind == "master" and i.image.attempt_id in masters:
                stale = master_stale(asset, masters[i.image.attempt_id])
            elif i.image.attempt_id in scene_attempts:
                stale = instance_stale(asset, i.visual_state, scene_attempts[i.image.attempt_id])
        numbers = p.by_asset.get(i.asset_id, [])
        angles = angles_of(shots, numbers)
        # The side to hand a view on for: the shot's, else the first of the asset's shots that has one.
        side, side_shot = (chosen.side, shot) if chosen is not None else (None, None)
        if chosen is None:
            side, side_shot = next(((a.side, a.shot) for a in angles if a.side), (None, None))
        out.append(
            ContextAsset(
                asset_id=i.asset_id,
                instance_id=i.id,
                name=i.name,
                type=i.type,
                required=i.required,
                description=i.description,
                visual_state=i.visual_state,
                shots=numbers,
                camera_angles=angles,
                image_url=i.image.image_url if i.image else None,
                image=i.image,
                stale=stale,
                view=choose_view(views.get(i.asset_id, {}), side, side_shot, storage),
            )
        )
    prev_scene, prev_items = await _previous(session, storage, scene)
    wanted = {a.asset_id for a in out}
    previous = [
        PreviousState(
            asset_id=i.asset_id,
            name=i.name,
            scene_number=i.scene_number,
            visual_state=i.visual_state,
            image_url=i.image.image_url if i.image else None,
        )
        for i in prev_items
        if i.asset_id in wanted
    ]
    info = {a.asset_id: (a.name, a.type) for a in assets}
    instance_of = {i.asset_id: i.id for i in listing.items}
    shot_model: ShotOut | None = (
        shot_out(chosen, p.in_shot.get(chosen.number, []), info, instance_of) if chosen is not None else None
    )
    ctx = SceneContext(
        scene_id=scene.id,
        scene_number=scene.number,
        heading=scene.heading,
        location=scene.location,
        int_ext=scene.int_ext,
        time_of_day=scene.time_of_day,
        aspect_ratio=project.aspect_ratio,
        style=StyleContext(
            source=style.source,
            name=style.name,
            prompt_fragment=style.prompt_fragment,
            negative_fragment=style.negative_fragment,
        )
        if style
        else None,
        shot=shot_model,
        assets=out,
        previous_scene=prev_scene.number if prev_scene else None,
        previous_states=previous,
        token_estimate=0,
        max_tokens=max_tokens,
        left_out=[],
        tokens_left_out=0,
    )
    ctx.token_estimate = tokens(ctx)
    if max_tokens is None:
        return ctx
    in_shot = {a for a, _ in p.in_shot.get(shot, [])} if shot is not None else set()
    # The report of what was left out costs tokens too: shrink the items' budget by any overshoot.
    budget, best = max_tokens, ctx
    for _ in range(4):
        best = fit(ctx, budget, in_shot)
        best.token_estimate = tokens(best)
        if best.token_estimate <= max_tokens:
            break
        budget -= best.token_estimate - max_tokens
    return best


def fit(ctx: SceneContext, budget: int, in_shot: set[uuid.UUID]) -> SceneContext:
    """Greedy fill by priority (see the module docstring); order of the answer stays the scene's."""
    base = ctx.model_copy(update={"assets": [], "previous_states": []})
    used = tokens(base)
    first = [a for a in ctx.assets if a.required or a.asset_id in in_shot]
    rest = [a for a in ctx.assets if a not in first]
    prev = {p.asset_id: p for p in ctx.previous_states}
    plan: list[ContextAsset | PreviousState] = [
        *first,
        *[prev[a.asset_id] for a in first if a.asset_id in prev],
        *rest,
        *[prev[a.asset_id] for a in rest if a.asset_id in prev],
    ]
    kept_assets: dict[uuid.UUID, ContextAsset] = {}
    kept_prev: set[uuid.UUID] = set()
    left: list[LeftOut] = []
    for item in plan:
        cost = tokens(item) + 1  # the comma between items
        if used + cost <= budget:
            used += cost
            if isinstance(item, ContextAsset):
                kept_assets[item.asset_id] = item
            else:
                kept_prev.add(item.asset_id)
            continue
        if isinstance(item, ContextAsset):
            short = summarise(item)
            short_cost = tokens(short) + 1
            if used + short_cost <= budget:
                used += short_cost
                kept_assets[item.asset_id] = short
                left.append(
                    LeftOut(kind="asset", name=item.name, action="summarised", tokens=cost - short_cost)
                )
                continue
            left.append(LeftOut(kind="asset", name=item.name, action="dropped", tokens=cost))
        else:
            left.append(LeftOut(kind="previous_state", name=item.name, action="dropped", tokens=cost))
    return ctx.model_copy(
        update={
            "assets": [kept_assets[a.asset_id] for a in ctx.assets if a.asset_id in kept_assets],
            "previous_states": [p for p in ctx.previous_states if p.asset_id in kept_prev],
            "left_out": left,
            "tokens_left_out": sum(x.tokens for x in left),
        }
    )


__all__ = ["CameraAnglesOut", "scene_context"]
