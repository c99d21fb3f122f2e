"""The extraction flow on the database side: start a preview, read it back annotated against the
project's assets, and apply the user's keep / defer / delete decisions (which is also how a
re-extraction after a script edit reconciles with the existing manifest)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, ValidationFailed
from shared.extraction import reconcile
from shared.extraction.api_schemas import (
    ConfirmIn,
    ConfirmOut,
    PreviewEntityOut,
    PreviewOut,
    VanishedAssetOut,
)
from shared.extraction.schemas import PreviewEntity
from shared.extraction.tasks import ConfirmPayload, PreviewResult, extract_confirm, extract_preview
from shared.jobs.service import job_out
from shared.jobs.starter import JobStarter
from shared.models import DismissedEntity, Job, Project, ProjectAsset, Script
from shared.projects.locks import lock_project_for_confirm
from shared.projects.stage5 import ensure_unlocked, require_style
from shared.scripts.service import current_script, require_current_script
from shared.scripts.tasks import ScriptRef


async def start_preview(jobs: JobStarter, *, project: Project) -> Job:
    await require_style(jobs.session, project)
    script = await require_current_script(jobs.session, project.id)
    return await jobs.start(extract_preview, project=project, payload=ScriptRef(script_id=script.id))


async def _latest(session: AsyncSession, project_id: uuid.UUID, *, succeeded: bool) -> Job | None:
    q = select(Job).where(Job.project_id == project_id, Job.kind == "extract.preview")
    if succeeded:
        q = q.where(Job.status == "succeeded")
    return await session.scalar(q.order_by(Job.created_at.desc()).limit(1))


def preview_entities(result: PreviewResult | None) -> list[tuple[str, PreviewEntity]]:
    entities = result.entities if result is not None else []
    return [(e.key, PreviewEntity.model_validate(e.model_dump(exclude={"key"}))) for e in entities]


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
    vanished: list[VanishedAssetOut] = []
    if done is not None:
        result = extract_preview.read_result(done.result)
        version = result.script_version if result else None
        assets = await _assets(session, project.id)
        dismissed = await _dismissed(session, project.id)
        keyed = preview_entities(result)
        shown = await reconcile.shown_scenes(session, result.script_id) if result else {}
        matches, gone = reconcile.match_entities(
            keyed,
            reconcile.AssetIndex.build(assets),
            assets,
            version=version or 0,
            shown=shown,
            dismissed=dismissed,
        )
        for key, e in keyed:
            m = matches[key]
            hit = m.asset
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
                    change=m.change,
                    previous_name=m.previous_name,
                )
            )
        script = await session.get(Script, result.script_id) if result else None
        there = await reconcile.still_there(script, gone, shown) if script else set()
        vanished = [
            VanishedAssetOut(asset_id=a.id, name=a.name, type=a.type, stale=a.stale, deferred=a.deferred)
            for a in gone
            if a.id not in there
        ]
    return PreviewOut(
        job=job_out(latest) if latest else None,
        script_version=version,
        current_script_version=current.version if current else None,
        outdated=bool(current and version is not None and current.version != version),
        entities=entities,
        vanished=vanished,
    )


async def confirm(jobs: JobStarter, *, project: Project, body: ConfirmIn) -> tuple[ConfirmOut, Job | None]:
    """Apply decisions to the latest preview in this transaction; the description pass for what
    was kept runs as a job. Entities without a decision are kept (dismissed ones stay deleted)."""
    session = jobs.session
    await require_style(session, project)
    ensure_unlocked(project)
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
    preview = extract_preview.read_result(job.result)
    script = await session.get(Script, preview.script_id) if preview else None
    current = await require_current_script(session, project.id)
    if script is None or script.id != current.id:
        raise Conflict("The script changed since this preview; run a new preview", code="preview_outdated")
    entities = preview_entities(preview)
    known = {k for k, _ in entities}
    unknown = sorted({d.key for d in body.decisions} - known)
    if unknown:
        raise ValidationFailed(
            "Decisions name entities that are not in the preview",
            code="unknown_entity",
            details={"keys": unknown[:50]},
        )
    # One confirm at a time per project (FOR NO KEY UPDATE: attempt inserts are not blocked),
    # then its assets in id order, like merges (lock order in shared/db.py).
    await lock_project_for_confirm(session, project.id)
    assets = await _assets(session, project.id, lock=True)
    plan = reconcile.Plan(
        entities=entities,
        decisions={d.key: d for d in body.decisions},
        index=reconcile.AssetIndex.build(assets),
        assets=assets,
        dismissed=await _dismissed(session, project.id),
        script=current,
        shown=await reconcile.shown_scenes(session, current.id),
    )
    summary, to_describe = await reconcile.apply(session, project, plan)
    out_job = None
    if to_describe:
        payload = ConfirmPayload(
            asset_ids=to_describe, script_id=current.id, summary=summary, economy=body.economy
        )
        out_job = await jobs.start(extract_confirm, project=project, payload=payload)
    return ConfirmOut(summary=summary, job=job_out(out_job) if out_job else None), out_job


async def forget_dismissal(session: AsyncSession, project_id: uuid.UUID, key: str) -> None:
    await session.execute(
        delete(DismissedEntity).where(
            DismissedEntity.project_id == project_id, DismissedEntity.entity_key == key
        )
    )
