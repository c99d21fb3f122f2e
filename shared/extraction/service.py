"""The extraction flow on the database side: start a preview, read it back annotated against the
project's assets, and apply the user's keep / defer / delete decisions (which is also how a
re-extraction after a script edit reconciles with the existing manifest)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import ensure_unlocked
from shared.config import Settings
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.extraction import reconcile
from shared.extraction.api_schemas import ConfirmIn, ConfirmOut, ConfirmSummary, PreviewEntityOut, PreviewOut
from shared.extraction.entities import name_forms
from shared.extraction.schemas import PreviewEntity
from shared.jobs.service import create_job, job_out
from shared.models import DismissedEntity, Job, Project, ProjectAsset, Script
from shared.scripts.service import current_script, require_current_script


def require_style(project: Project) -> None:
    if project.style_capsule_id is None and not project.manual_tone:
        raise Conflict("Choose the project's visual style first (PUT .../style)", code="style_required")


async def start_preview(
    session: AsyncSession,
    *,
    settings: Settings,
    project: Project,
    request_id: str | None,
    idempotency_key: str | None,
) -> Job:
    require_style(project)
    script = await require_current_script(session, project.id)
    return await create_job(
        session,
        settings=settings,
        kind="extract.preview",
        owner_id=project.owner_id,
        project_id=project.id,
        payload={"script_id": str(script.id)},
        idempotency_key=idempotency_key,
        request_id=request_id,
    )


async def _latest(session: AsyncSession, project_id: uuid.UUID, *, succeeded: bool) -> Job | None:
    q = select(Job).where(Job.project_id == project_id, Job.kind == "extract.preview")
    if succeeded:
        q = q.where(Job.status == "succeeded")
    return await session.scalar(q.order_by(Job.created_at.desc()).limit(1))


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


def preview_entities(job: Job) -> list[tuple[str, PreviewEntity]]:
    raw: list[dict[str, Any]] = (job.result or {}).get("entities", [])
    return [(e["key"], PreviewEntity.model_validate({k: v for k, v in e.items() if k != "key"})) for e in raw]


async def _assets(session: AsyncSession, project_id: uuid.UUID, *, lock: bool = False) -> list[ProjectAsset]:
    q = select(ProjectAsset).where(ProjectAsset.project_id == project_id).order_by(ProjectAsset.created_at)
    if lock:
        q = q.with_for_update()
    return list(await session.scalars(q))


async def _dismissed(session: AsyncSession, project_id: uuid.UUID) -> set[str]:
    return set(
        await session.scalars(
            select(DismissedEntity.entity_key).where(DismissedEntity.project_id == project_id)
        )
    )


async def read_preview(session: AsyncSession, project: Project) -> PreviewOut:
    latest = await _latest(session, project.id, succeeded=False)
    done = (
        latest
        if latest is not None and latest.status == "succeeded"
        else await _latest(session, project.id, succeeded=True)
    )
    current = await current_script(session, project.id)
    entities: list[PreviewEntityOut] = []
    version = None
    if done is not None:
        version = (done.result or {}).get("script_version")
        index = AssetIndex.build(await _assets(session, project.id))
        dismissed = await _dismissed(session, project.id)
        for key, e in preview_entities(done):
            hit = index.match(key, e)
            entities.append(
                PreviewEntityOut(
                    key=key,
                    name=e.name,
                    type=e.type,
                    aliases=e.aliases,
                    scene_numbers=e.scene_numbers,
                    mentions=e.mentions,
                    existing_asset_id=hit.id if hit else None,
                    existing_source=hit.source if hit else None,
                    dismissed=key in dismissed,
                )
            )
    return PreviewOut(
        job=job_out(latest) if latest else None,
        script_version=version,
        current_script_version=current.version if current else None,
        outdated=bool(current and version is not None and current.version != version),
        entities=entities,
    )


async def confirm(
    session: AsyncSession,
    *,
    settings: Settings,
    project: Project,
    body: ConfirmIn,
    request_id: str | None,
    idempotency_key: str | None,
) -> ConfirmOut:
    """Apply decisions to the latest preview in this transaction; the description pass for what
    was kept runs as a job. Entities without a decision are kept (dismissed ones stay deleted)."""
    require_style(project)
    ensure_unlocked(project)
    if idempotency_key:
        existing = await session.scalar(
            select(Job).where(Job.owner_id == project.owner_id, Job.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return ConfirmOut(
                summary=ConfirmSummary(**(existing.payload.get("summary") or {})), job=job_out(existing)
            )
    job = (
        await session.get(Job, body.preview_job_id)
        if body.preview_job_id
        else await _latest(session, project.id, succeeded=True)
    )
    if job is None or job.project_id != project.id or job.kind != "extract.preview":
        raise NotFound(
            "No finished preview to confirm; run POST .../extract/preview first", code="preview_missing"
        )
    if job.status != "succeeded":
        raise Conflict("That preview has not finished", code="preview_not_ready")
    script = await session.get(Script, uuid.UUID(job.result["script_id"])) if job.result else None
    current = await require_current_script(session, project.id)
    if script is None or script.id != current.id:
        raise Conflict("The script changed since this preview; run a new preview", code="preview_outdated")
    entities = preview_entities(job)
    known = {k for k, _ in entities}
    unknown = sorted({d.key for d in body.decisions} - known)
    if unknown:
        raise ValidationFailed(
            "Decisions name entities that are not in the preview",
            code="unknown_entity",
            details={"keys": unknown[:50]},
        )
    # One confirm at a time per project: the asset rows are locked for the reconciliation.
    await session.scalar(select(Project.id).where(Project.id == project.id).with_for_update())
    assets = await _assets(session, project.id, lock=True)
    plan = reconcile.Plan(
        entities=entities,
        decisions={d.key: d for d in body.decisions},
        index=AssetIndex.build(assets),
        assets=assets,
        dismissed=await _dismissed(session, project.id),
        script=current,
    )
    summary, to_describe = await reconcile.apply(session, project, plan)
    out_job = None
    if to_describe:
        out_job = await create_job(
            session,
            settings=settings,
            kind="extract.confirm",
            owner_id=project.owner_id,
            project_id=project.id,
            payload={
                "asset_ids": [str(a) for a in to_describe],
                "script_id": str(current.id),
                "summary": summary.model_dump(),
            },
            idempotency_key=idempotency_key,
            request_id=request_id,
        )
    return ConfirmOut(summary=summary, job=job_out(out_job) if out_job else None)


async def forget_dismissal(session: AsyncSession, project_id: uuid.UUID, key: str) -> None:
    await session.execute(
        delete(DismissedEntity).where(
            DismissedEntity.project_id == project_id, DismissedEntity.entity_key == key
        )
    )
