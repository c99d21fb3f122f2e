"""Persisted asset suggestions of a scene (seed 3B.8), found by rules over the script, never by a
model call per scene:

- ``named_in_text``: a name or alias of an asset occurs in the scene's text but the asset is not
  linked to the scene. One pass over the whole script with one compiled pattern of every name.
- ``continuity``: the asset is in the scene before and the scene after, all three in the same
  location, but not in this one.

Links the user removed are never suggested back. ``refresh_suggestions`` recomputes everything for
the project in a constant number of statements and records the dependency fingerprint it saw; a
read whose fingerprint differs (a new script version, links added or removed, names changed)
refreshes first, and an unchanged map is read as stored. Stage 8 adds and removes deliberately
do not refresh there and then: a refresh costs ~90-110 ms p50 (up to ~400 ms) on a 150-300 scene
feature under the project's advisory lock, several times the add or remove itself, and a user
adding ten assets would pay it ten times; the next read pays it once. A dismissal is remembered
by its evidence hash: the same evidence is not offered again, even on a new script version;
changed evidence is.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.continuity import repository as crepo
from shared.continuity.names import NameMatcher
from shared.continuity.schemas import AcceptOut, SuggestionList, SuggestionOut
from shared.errors import Conflict, NotFound
from shared.models import ContinuityState, Project, ProjectAsset, Scene, SceneAssetSuggestion, Script
from shared.scripts.elements import split_lines
from shared.stage8 import service as s8service
from shared.stage8.schemas import AddToScene

Key = tuple[uuid.UUID, uuid.UUID, str]  # scene, asset, rule


def evidence_hash(rule: str, asset_id: uuid.UUID, facts: dict[str, Any]) -> str:
    blob = json.dumps({"rule": rule, "asset": str(asset_id), **facts}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _loc(scene: Scene) -> str:
    return " ".join((scene.location or "").split()).lower()


def compute(
    script_text: str, scenes: list[Scene], links: list[Any], matcher: NameMatcher, types: dict[uuid.UUID, str]
) -> dict[Key, tuple[dict[str, Any], str]]:
    """What should be suggested now: key -> (evidence, evidence hash)."""
    lines = split_lines(script_text)
    body = "\n".join(lines)  # offsets in the same line numbering the parser used
    line_starts = [0]
    for line in lines[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    by_start = sorted(scenes, key=lambda s: s.start_line)
    starts = [s.start_line for s in by_start]
    mentions: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
    for offset, term, ids in matcher.finditer(body):
        line_no = bisect.bisect_right(line_starts, offset) - 1
        i = bisect.bisect_right(starts, line_no) - 1
        if i < 0 or line_no >= by_start[i].end_line:
            continue  # title page or text outside any scene
        scene = by_start[i]
        for asset_id in ids:
            m = mentions.setdefault(
                (scene.id, asset_id), {"terms": set(), "mentions": 0, "excerpt": lines[line_no].strip()[:240]}
            )
            m["terms"].add(" ".join(term.split()))
            m["mentions"] += 1
    linked: dict[tuple[uuid.UUID, uuid.UUID], bool] = {(r.asset_id, r.scene_id): r.removed for r in links}
    live_in: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for r in links:
        if not r.removed:
            live_in[r.scene_id].add(r.asset_id)
    scene_by_id = {s.id: s for s in scenes}
    out: dict[Key, tuple[dict[str, Any], str]] = {}
    for (scene_id, asset_id), m in mentions.items():
        if (asset_id, scene_id) in linked or asset_id not in types:
            continue
        terms = sorted(m["terms"], key=str.lower)
        heading = scene_by_id[scene_id].heading
        facts = {"heading": heading, "terms": [t.lower() for t in terms], "mentions": m["mentions"]}
        evidence = {"terms": terms, "mentions": m["mentions"], "excerpt": m["excerpt"]}
        out[(scene_id, asset_id, "named_in_text")] = (
            evidence,
            evidence_hash("named_in_text", asset_id, facts),
        )
    ordered = sorted(scenes, key=lambda s: s.position)
    for prev, cur, nxt in zip(ordered, ordered[1:], ordered[2:], strict=False):
        loc = _loc(cur)
        if not loc or _loc(prev) != loc or _loc(nxt) != loc:
            continue
        for asset_id in sorted(live_in[prev.id] & live_in[nxt.id]):
            if (asset_id, cur.id) in linked or types.get(asset_id) in (None, "location"):
                continue
            facts = {"heading": cur.heading, "before": prev.heading, "after": nxt.heading, "location": loc}
            evidence = {"before": prev.number, "after": nxt.number, "location": cur.location}
            out[(cur.id, asset_id, "continuity")] = (evidence, evidence_hash("continuity", asset_id, facts))
    return out


async def refresh_suggestions(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Recompute the project's suggestions from its current script and dependency map. Call it
    after anything that changes the map (a new script version, links added or removed)."""
    # One refresh per project at a time: concurrent ones would race on the unique key.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"suggestions:{project_id}"}
    )
    fingerprint = await crepo.dependency_fingerprint(session, project_id)
    script = await session.scalar(
        select(Script).where(Script.project_id == project_id).order_by(Script.version.desc()).limit(1)
    )
    desired: dict[Key, tuple[dict[str, Any], str]] = {}
    if script is not None:
        scenes = list(await crepo.script_scenes(session, script.id))
        links = list(await crepo.script_links(session, script.id))
        assets = await crepo.project_assets(session, project_id)
        desired = compute(
            script.text, scenes, links, NameMatcher(assets), {a.asset_id: a.type for a in assets}
        )
    rows = (
        await session.scalars(
            select(SceneAssetSuggestion).where(SceneAssetSuggestion.project_id == project_id)
        )
    ).all()
    dismissed = {r.evidence_hash for r in rows if r.dismissed_at is not None}
    now = datetime.now(UTC)
    existing: dict[Key, SceneAssetSuggestion] = {(r.scene_id, r.asset_id, r.suggested_by): r for r in rows}
    gone = [
        r.id
        for k, r in existing.items()
        if k not in desired and r.dismissed_at is None and r.accepted_at is None
    ]
    if gone:
        await session.execute(delete(SceneAssetSuggestion).where(SceneAssetSuggestion.id.in_(gone)))
    new: list[dict[str, Any]] = []
    for key, (evidence, digest) in desired.items():
        row = existing.get(key)
        if row is None:
            new.append(
                {
                    "id": uuid.uuid4(),
                    "project_id": project_id,
                    "scene_id": key[0],
                    "asset_id": key[1],
                    "suggested_by": key[2],
                    "evidence": evidence,
                    "evidence_hash": digest,
                    "dismissed_at": now if digest in dismissed else None,
                }
            )
        elif row.evidence_hash != digest:
            # Changed evidence is a new suggestion, unless the user already dismissed exactly this.
            row.evidence, row.evidence_hash, row.accepted_at = evidence, digest, None
            row.dismissed_at = now if digest in dismissed else None
        elif row.accepted_at is not None:
            row.accepted_at = None  # accepted, then the link was removed again: offered again
    if new:
        await session.execute(insert(SceneAssetSuggestion).values(new))
    await session.execute(
        insert(ContinuityState)
        .values(project_id=project_id, fingerprint=fingerprint)
        .on_conflict_do_update(
            index_elements=["project_id"], set_={"fingerprint": fingerprint, "refreshed_at": func.now()}
        )
    )
    await session.flush()


async def ensure_fresh(session: AsyncSession, project_id: uuid.UUID) -> bool:
    """Refresh when the dependency map changed since the last refresh; True when it did."""
    current = await crepo.dependency_fingerprint(session, project_id)
    stored = await session.scalar(
        select(ContinuityState.fingerprint).where(ContinuityState.project_id == project_id)
    )
    if stored == current:
        return False
    await refresh_suggestions(session, project_id)
    return True


async def list_suggestions(session: AsyncSession, project: Project, scene: Scene) -> SuggestionList:
    await ensure_fresh(session, project.id)
    rows = (
        await session.execute(
            select(SceneAssetSuggestion, ProjectAsset.name, ProjectAsset.type)
            .join(ProjectAsset, ProjectAsset.id == SceneAssetSuggestion.asset_id)
            .where(
                SceneAssetSuggestion.scene_id == scene.id,
                SceneAssetSuggestion.accepted_at.is_(None),
                SceneAssetSuggestion.dismissed_at.is_(None),
            )
            .order_by(SceneAssetSuggestion.suggested_by.desc(), func.lower(ProjectAsset.name))
            .execution_options(populate_existing=True)
        )
    ).all()
    return SuggestionList(
        scene_id=scene.id,
        items=[
            SuggestionOut(
                id=s.id,
                scene_id=s.scene_id,
                asset_id=s.asset_id,
                name=name,
                type=type_,
                suggested_by=s.suggested_by,
                evidence=s.evidence,
            )
            for s, name, type_ in rows
        ],
    )


async def _require(session: AsyncSession, scene: Scene, gid: uuid.UUID) -> SceneAssetSuggestion:
    row = await session.scalar(
        select(SceneAssetSuggestion)
        .where(SceneAssetSuggestion.id == gid, SceneAssetSuggestion.scene_id == scene.id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("Suggestion not found in this scene")
    return row


async def accept(session: AsyncSession, project: Project, scene: Scene, gid: uuid.UUID) -> AcceptOut:
    """Add the suggested asset to the scene through Stage 8 (an instance, link source ``stage8``)."""
    row = await _require(session, scene, gid)
    if row.accepted_at is not None:
        raise Conflict("This suggestion was already accepted", code="suggestion_accepted")
    instance_id, _ = await s8service.add_to_scene(session, project, scene, AddToScene(asset_id=row.asset_id))
    row.accepted_at, row.dismissed_at = datetime.now(UTC), None
    await session.flush()
    await refresh_suggestions(session, project.id)  # the map changed: other rules may now differ
    return AcceptOut(suggestion_id=row.id, instance_id=instance_id, asset_id=row.asset_id)


async def dismiss(session: AsyncSession, scene: Scene, gid: uuid.UUID) -> None:
    row = await _require(session, scene, gid)
    if row.accepted_at is not None:
        raise Conflict("This suggestion was already accepted", code="suggestion_accepted")
    row.dismissed_at = row.dismissed_at or datetime.now(UTC)
    await session.flush()
