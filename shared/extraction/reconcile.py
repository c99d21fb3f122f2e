"""Reconciling a preview with the project's assets.

Rules (re-extraction after a script edit goes through the same path):
- manual and cloned assets are never touched;
- an extracted asset that matches an entity (key, name or alias) keeps its id, its description
  edits, its images and its deferred state (unless the user decides again explicitly);
- new entities become assets (kept or deferred); deleted ones are remembered, not created;
- extracted assets whose entity vanished are marked ``stale``, never deleted;
- extracted scene links are refreshed for the current script; links the user removed stay removed
  and manual links are kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ValidationFailed
from shared.extraction.api_schemas import ConfirmSummary, DecisionIn
from shared.extraction.entities import name_forms, norm, union_names
from shared.extraction.schemas import PreviewEntity
from shared.models import AssetSceneLink, DismissedEntity, Project, ProjectAsset, Scene, Script


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


@dataclass
class Plan:
    entities: list[tuple[str, PreviewEntity]]
    decisions: dict[str, DecisionIn]
    index: AssetIndex
    assets: list[ProjectAsset]
    dismissed: set[str]
    script: Script


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
    counts = dict.fromkeys(("created", "updated", "deferred", "dismissed", "unchanged_manual", "stale"), 0)
    seen: set[uuid.UUID] = set()
    to_describe: list[uuid.UUID] = []
    new_links: list[AssetSceneLink] = []
    for key, entity in plan.entities:
        d = plan.decisions.get(key)
        decision = d.decision if d else ("delete" if key in plan.dismissed else "keep")
        existing = plan.index.match(key, entity)
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
            asset.aliases = union_names(asset.aliases or [], _aliases(entity, None), name=asset.name)
            asset.meta = {
                **(asset.meta or {}),
                "mentions": mentions,
                "extracted_from_version": plan.script.version,
            }
            asset.stale = False
            if d is not None:
                asset.deferred = decision == "defer"
                if d.name:
                    asset.name = d.name
                if d.type:
                    asset.type = d.type
            asset.version += 1
            counts["updated"] += 1
        if asset.deferred:
            counts["deferred"] += 1
        new_links += await _refresh_links(
            session, asset.id, [scene_ids[n] for n in numbers], existing_links.get(asset.id, [])
        )
        if not asset.deferred and asset.described_at is None:
            to_describe.append(asset.id)
    for asset in plan.assets:
        if asset.source == "extracted" and asset.id not in seen and not asset.stale:
            asset.stale = True
            asset.version += 1
            counts["stale"] += 1
    await session.flush()  # the new assets exist before their links
    session.add_all(new_links)
    await session.flush()
    return ConfirmSummary(**counts, to_describe=len(to_describe)), to_describe


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
) -> list[AssetSceneLink]:
    """Drop extracted links the new script no longer supports (the user's removals and manual links
    stay) and return the links to add."""
    have = {link.scene_id for link in links}
    target = set(wanted)
    for link in links:
        if link.source == "extracted" and link.scene_id not in target and not link.removed:
            await session.delete(link)
    return [
        AssetSceneLink(
            id=uuid.uuid4(), asset_id=asset_id, scene_id=scene_id, source="extracted", removed=False
        )
        for scene_id in dict.fromkeys(wanted)
        if scene_id not in have
    ]
