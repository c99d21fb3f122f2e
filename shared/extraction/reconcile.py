"""Reconciling a preview with the project's assets.

Rules (re-extraction after a script edit goes through the same path):
- manual and cloned assets are never touched;
- an extracted asset that matches an entity (key, name or alias) keeps its id, its description
  edits, its images and its deferred state (unless the user decides again explicitly);
- new entities become assets (kept or deferred); deleted ones are remembered, not created;
- extracted assets whose entity vanished are marked ``stale``, never deleted;
- extracted scene links are refreshed for the current script; links the user removed stay removed
  and manual links are kept;
- several entities matching one asset (after a merge, a rename, a retype) update it once with the
  union of their scenes, and links are inserted with ``ON CONFLICT DO NOTHING``: no path to a
  duplicate (asset, scene) pair can answer 500;
- a new entity that takes the scenes of an extracted asset the text no longer names is that asset
  renamed: it keeps its id, images and description, and the old name stays an alias.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ValidationFailed
from shared.extraction.api_schemas import ConfirmSummary, DecisionIn
from shared.extraction.entities import cap_mentions, name_forms, norm, union_names
from shared.extraction.schemas import EntityMention, PreviewEntity
from shared.models import AssetSceneLink, DismissedEntity, Project, ProjectAsset, Scene, Script
from shared.scripts import relink


@dataclass
class AssetIndex:
    """Finds the asset an entity already is: by entity key first (survives renames), then by any
    name or alias of the same type (catches manual assets the user added before extracting)."""

    by_key: dict[str, ProjectAsset] = field(default_factory=dict)
    by_form: dict[tuple[str, str], ProjectAsset] = field(default_factory=dict)

    @classmethod
    def build(cls, assets: list[ProjectAsset]) -> AssetIndex:
        index = cls()
        for a in assets:
            for key in (a.entity_key, *(a.meta or {}).get("merged_keys", [])):
                if key:
                    index.by_key.setdefault(key, a)
            probe = PreviewEntity(name=a.name, type=a.type, aliases=list(a.aliases or []))
            for form in name_forms(probe):
                index.by_form.setdefault((a.type, form), a)
        return index

    def match(self, key: str, entity: PreviewEntity) -> ProjectAsset | None:
        if key in self.by_key:
            return self.by_key[key]
        for form in name_forms(entity):
            if (hit := self.by_form.get((entity.type, form))) is not None:
                return hit
        return None


Change = Literal["new", "unchanged", "renamed"]
# Share of scenes a new entity and a vanished asset must have in common to be one renamed thing.
RENAME_OVERLAP = 0.5
# How alike (difflib ratio) one quote about each must be once their names are masked.
RENAME_QUOTE_SIMILARITY = 0.6


@dataclass(frozen=True, slots=True)
class Match:
    """What an entity is against the project's assets: a new one, an existing one, or an asset
    the text renamed (it vanished under its old name in the scenes where this entity appears)."""

    asset: ProjectAsset | None
    change: Change
    previous_name: str | None = None


def _last_scenes(asset: ProjectAsset, version: int, shown: dict[uuid.UUID, set[int]]) -> set[int]:
    seen = (asset.meta or {}).get("last_seen") or {}
    if seen.get("script_version") == version:
        return set(seen.get("scene_numbers", []))
    return shown.get(asset.id, set())


def match_entities(
    entities: list[tuple[str, PreviewEntity]],
    index: AssetIndex,
    assets: list[ProjectAsset],
    *,
    version: int,
    shown: dict[uuid.UUID, set[int]],
    dismissed: set[str],
) -> tuple[dict[str, Match], list[ProjectAsset]]:
    """Each entity's match, and the extracted assets no entity is (candidates for vanished: see
    ``still_there``).

    ``shown``: the scene numbers each asset is linked to in this version; ``metadata.last_seen``
    (written by the re-link when an asset goes stale) tells where a vanished one used to be."""
    out: dict[str, Match] = {}
    taken: set[uuid.UUID] = set()
    unmatched: list[tuple[str, PreviewEntity]] = []
    for key, entity in entities:
        hit = index.match(key, entity)
        if hit is None:
            unmatched.append((key, entity))
            out[key] = Match(None, "new")
        else:
            taken.add(hit.id)
            out[key] = Match(hit, "unchanged")
    vanished = [a for a in assets if a.source == "extracted" and a.id not in taken]
    pairs: list[tuple[float, int, int]] = []
    for i, (key, entity) in enumerate(unmatched):
        if key in dismissed:
            continue
        scenes = set(entity.scene_numbers)
        for j, asset in enumerate(vanished):
            before = _last_scenes(asset, version, shown)
            if asset.type != entity.type or not before or not scenes:
                continue
            overlap = len(scenes & before) / len(scenes | before)
            if overlap >= RENAME_OVERLAP and _same_evidence(entity, asset):
                pairs.append((-overlap, i, j))
    used_e: set[int] = set()
    used_a: set[int] = set()
    for _, i, j in sorted(pairs):
        if i in used_e or j in used_a:
            continue
        used_e.add(i)
        used_a.add(j)
        out[unmatched[i][0]] = Match(vanished[j], "renamed", previous_name=vanished[j].name)
    return out, [a for j, a in enumerate(vanished) if j not in used_a]


async def still_there(
    script: Script, assets: list[ProjectAsset], shown: dict[uuid.UUID, set[int]]
) -> set[uuid.UUID]:
    """Of assets no entity matched, those the script still has: shown in one of its scenes, or
    named in it (the same evidence the re-link reads). The extractor missing a name does not make
    the thing vanish from the script."""
    unseen = [a for a in assets if not shown.get(a.id)]
    return {a.id for a in assets if shown.get(a.id)} | await relink.named_in(script, unseen)


def _masked(quote: str, names: list[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 2:
            quote = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "@", quote, flags=re.IGNORECASE)
    return " ".join(quote.split())


def _same_evidence(entity: PreviewEntity, asset: ProjectAsset) -> bool:
    """Scenes alone do not make a rename (a telescope cut and a gull added in the same scene are
    two things): the script must also say the same thing about it, names aside ("TOM (20s) runs
    along the quay" / "NED (20s) runs along the quay")."""
    new = {_masked(m.quote, [entity.name, *entity.aliases]) for m in entity.mentions}
    old_names = [asset.name, *(asset.aliases or [])]
    if asset.entity_key:
        old_names.append(asset.entity_key.split(":", 1)[-1].replace("-", " "))
    old = {_masked(m.quote, old_names) for m in mentions_of(asset)}
    return any(
        a == b or difflib.SequenceMatcher(None, a, b).ratio() >= RENAME_QUOTE_SIMILARITY
        for a in new
        for b in old
        if "@" in a and "@" in b
    )


async def shown_scenes(session: AsyncSession, script_id: uuid.UUID) -> dict[uuid.UUID, set[int]]:
    shown: dict[uuid.UUID, set[int]] = {}
    rows = await session.execute(
        select(AssetSceneLink.asset_id, Scene.number)
        .join(Scene, Scene.id == AssetSceneLink.scene_id)
        .where(Scene.script_id == script_id, AssetSceneLink.removed.is_(False))
    )
    for asset_id, number in rows.all():
        shown.setdefault(asset_id, set()).add(number)
    return shown


@dataclass
class Plan:
    entities: list[tuple[str, PreviewEntity]]
    decisions: dict[str, DecisionIn]
    index: AssetIndex
    assets: list[ProjectAsset]
    dismissed: set[str]
    script: Script
    shown: dict[uuid.UUID, set[int]] = field(default_factory=dict)


async def apply(
    session: AsyncSession, project: Project, plan: Plan
) -> tuple[ConfirmSummary, list[uuid.UUID]]:
    scene_ids = {
        n: sid
        for n, sid in (
            await session.execute(select(Scene.number, Scene.id).where(Scene.script_id == plan.script.id))
        ).all()
    }
    # Every link of the current script, fetched once: a feature script has hundreds of entities.
    existing_links: dict[uuid.UUID, list[AssetSceneLink]] = {}
    for link in await session.scalars(
        select(AssetSceneLink).where(AssetSceneLink.scene_id.in_(list(scene_ids.values())))
    ):
        existing_links.setdefault(link.asset_id, []).append(link)
    matches, _ = match_entities(
        plan.entities,
        plan.index,
        plan.assets,
        version=plan.script.version,
        shown=plan.shown,
        dismissed=plan.dismissed,
    )
    counts = dict.fromkeys(
        ("created", "updated", "deferred", "dismissed", "unchanged_manual", "stale", "renamed"), 0
    )
    seen: set[uuid.UUID] = set()
    # Several entities may be one asset (after a merge, a rename or a retype): each asset is
    # updated once and gets the union of their scenes, so no link is ever written twice.
    kept: dict[uuid.UUID, ProjectAsset] = {}
    wanted: dict[uuid.UUID, dict[uuid.UUID, None]] = {}
    for key, entity in plan.entities:
        d = plan.decisions.get(key)
        decision = d.decision if d else ("delete" if key in plan.dismissed else "keep")
        match = matches[key]
        existing = match.asset
        if existing is not None:
            seen.add(existing.id)
        if decision == "delete":
            await _dismiss(session, project.id, key, entity)
            counts["dismissed"] += 1
            continue
        if key in plan.dismissed:  # the user changed their mind
            await session.execute(
                delete(DismissedEntity).where(
                    DismissedEntity.project_id == project.id, DismissedEntity.entity_key == key
                )
            )
        numbers = d.scene_numbers if d and d.scene_numbers is not None else entity.scene_numbers
        unknown = sorted(set(numbers) - scene_ids.keys())
        if unknown:
            raise ValidationFailed(
                f"Decision for {key!r} names unknown scenes {unknown}", code="unknown_scene"
            )
        if existing is not None and existing.source != "extracted":
            counts["unchanged_manual"] += 1
            continue
        mentions = [m.model_dump() for m in entity.mentions]
        if existing is None:
            asset = ProjectAsset(
                id=uuid.uuid4(),
                project_id=project.id,
                name=(d.name if d and d.name else entity.name),
                type=(d.type if d and d.type else entity.type),
                description="",
                aliases=_aliases(entity, d.name if d else None),
                deferred=decision == "defer",
                source="extracted",
                stale=False,
                entity_key=key,
                version=1,
                meta={"mentions": mentions, "extracted_from_version": plan.script.version},
            )
            session.add(asset)
            counts["created"] += 1
        else:
            asset = existing
            first = asset.id not in kept
            if first:
                asset.version += 1
                counts["updated"] += 1
            else:
                mentions = [
                    m.model_dump()
                    for m in cap_mentions(
                        [*mentions_of(asset), *entity.mentions],
                    )
                ]
            asset.aliases = union_names(asset.aliases or [], _aliases(entity, None), name=asset.name)
            meta = {**(asset.meta or {}), "mentions": mentions, "extracted_from_version": plan.script.version}
            meta.pop("last_seen", None)
            if match.change == "renamed":
                counts["renamed"] += 1
                _rename(asset, key, entity, meta)
            asset.meta = meta
            asset.stale = False
            if d is not None:
                asset.deferred = decision == "defer"
                if d.name:
                    asset.name = d.name
                if d.type:
                    asset.type = d.type
        kept[asset.id] = asset
        wanted.setdefault(asset.id, {}).update(dict.fromkeys(scene_ids[n] for n in numbers))
    to_describe = [a.id for a in kept.values() if not a.deferred and a.described_at is None]
    counts["deferred"] = sum(a.deferred for a in kept.values())
    unseen = [a for a in plan.assets if a.source == "extracted" and a.id not in seen]
    kept_by_script = await still_there(plan.script, unseen, plan.shown)
    for asset in unseen:
        if asset.id not in kept_by_script:
            # Counted even when an earlier re-link already marked it: the summary says what this
            # version of the script lacks. An asset still shown in a scene of it is not stale.
            counts["stale"] += 1
            if not asset.stale:
                asset.stale = True
                asset.version += 1
    await session.flush()  # the new assets exist before their links
    rows: list[dict[str, object]] = []
    for asset_id, targets in wanted.items():
        rows += await _refresh_links(session, asset_id, list(targets), existing_links.get(asset_id, []))
    await session.flush()  # dropped links go before the new ones arrive
    if rows:
        # ON CONFLICT: whatever path leads to an existing (asset, scene) pair, it is never a 500.
        stmt = insert(AssetSceneLink).on_conflict_do_nothing(index_elements=["asset_id", "scene_id"])
        await session.execute(stmt, rows)  # executemany: compiled once, rows sent in batches
    return ConfirmSummary(**counts, to_describe=len(to_describe)), to_describe


def mentions_of(asset: ProjectAsset) -> list[EntityMention]:
    return [EntityMention.model_validate(m) for m in (asset.meta or {}).get("mentions", [])]


def _rename(asset: ProjectAsset, key: str, entity: PreviewEntity, meta: dict[str, Any]) -> None:
    """The script now calls the asset by another name: the new name is how the next extraction
    finds it (its key joins the merged keys); the old one stays an alias. A name the user chose
    (not the one the script used) is kept."""
    keys = {k for k in (asset.entity_key, *meta.get("merged_keys", [])) if k}
    meta["merged_keys"] = sorted(keys | {key})
    script_named = asset.entity_key is not None and norm(asset.entity_key.split(":", 1)[-1]) == norm(
        asset.name
    )
    if script_named and norm(entity.name) != norm(asset.name):
        old = asset.name
        asset.name = entity.name
        asset.aliases = union_names(asset.aliases or [], [old], name=asset.name)
    else:
        asset.aliases = union_names(asset.aliases or [], [entity.name], name=asset.name)


def _aliases(entity: PreviewEntity, renamed: str | None) -> list[str]:
    names = list(entity.aliases)
    if renamed and norm(renamed) != norm(entity.name):
        names.insert(0, entity.name)
    return names


async def _dismiss(session: AsyncSession, project_id: uuid.UUID, key: str, entity: PreviewEntity) -> None:
    stmt = insert(DismissedEntity).values(
        id=uuid.uuid4(), project_id=project_id, entity_key=key, name=entity.name, type=entity.type
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["project_id", "entity_key"]))


async def _refresh_links(
    session: AsyncSession, asset_id: uuid.UUID, wanted: list[uuid.UUID], links: list[AssetSceneLink]
) -> list[dict[str, object]]:
    """Drop extracted links the new script no longer supports (the user's removals and manual links
    stay) and return the rows to add."""
    have = {link.scene_id for link in links}
    target = set(wanted)
    for link in links:
        if link.source == "extracted" and link.scene_id not in target and not link.removed:
            await session.delete(link)
    return [
        {
            "id": uuid.uuid4(),
            "asset_id": asset_id,
            "scene_id": scene_id,
            "source": "extracted",
            "removed": False,
        }
        for scene_id in wanted
        if scene_id not in have
    ]
