"""Extraction job kinds: pass 1 (``extract.preview``) and pass 2 (``extract.confirm`` after a
confirm, ``asset.describe`` when a deferred asset is restored). Both run on the extractor."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from shared.errors import NotFound
from shared.extraction import offline, passes
from shared.extraction.api_schemas import ConfirmSummary
from shared.extraction.schemas import PreviewEntity
from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun
from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, Script
from shared.scripts.parser import ParsedScript, parse_script
from shared.scripts.tasks import ScriptRef
from shared.styles.service import resolve_style

Engine = Literal["llm", "offline"]


class KeyedEntity(PreviewEntity):
    key: str = Field(description="Stable across extractions: use it in confirm decisions")


class PreviewResult(BaseModel):
    script_id: uuid.UUID
    script_version: int
    scene_count: int
    engine: Engine
    counts: dict[str, int]
    entities: list[KeyedEntity]


class DescribePayload(BaseModel):
    asset_ids: list[uuid.UUID]
    economy: bool = False  # through the Message Batches API: half price, answers arrive later


class ConfirmPayload(DescribePayload):
    script_id: uuid.UUID
    summary: ConfirmSummary  # what the confirm did, replayed to the client with the job


class DescribeResult(BaseModel):
    described: int
    kept_user_edits: int = Field(description="Descriptions the user edited meanwhile, left as they are")
    engine: Engine


async def _load_script(run: JobRun[ScriptRef]) -> tuple[Script, ParsedScript]:
    async with run.sessions() as session:
        script = await session.get(Script, run.payload.script_id)
    if script is None:
        raise NotFound("The script version no longer exists", code="script_missing")
    parsed = await asyncio.to_thread(parse_script, script.text, script.format)
    return script, parsed


@job_kind("extract.preview", worker="extractor", payload=ScriptRef, result=PreviewResult)
async def extract_preview(run: JobRun[ScriptRef]) -> PreviewResult:
    script, parsed = await _load_script(run)
    await run.progress(0.05, f"Parsed {len(parsed.scenes)} scenes")
    llm = run.ctx.llm

    async def chunk_done(done: int, total: int) -> None:
        await run.progress(round(0.05 + 0.9 * done / total, 4), f"Read {done} of {total} parts of the script")

    entities = await passes.preview(
        parsed, settings=run.settings, llm=llm, record=run.record_llm, on_progress=chunk_done
    )
    await run.progress(0.97, f"Found {len(entities)} assets in {len(parsed.scenes)} scenes")
    return PreviewResult(
        script_id=script.id,
        script_version=script.version,
        scene_count=len(parsed.scenes),
        engine="llm" if llm else "offline",
        counts=dict(Counter(e.type for e in entities)),
        entities=[KeyedEntity(key=offline.entity_key(e.type, e.name), **e.model_dump()) for e in entities],
    )


@job_kind("extract.confirm", worker="extractor", payload=ConfirmPayload, result=DescribeResult)
async def extract_confirm(run: JobRun[ConfirmPayload]) -> DescribeResult:
    return await describe_assets(run)


@job_kind("asset.describe", worker="extractor", payload=DescribePayload, result=DescribeResult)
async def asset_describe(run: JobRun[DescribePayload]) -> DescribeResult:
    return await describe_assets(run)


async def describe_assets(run: JobRun[ConfirmPayload] | JobRun[DescribePayload]) -> DescribeResult:
    """Pass 2 for the given assets. Descriptions the user edited meanwhile are not overwritten; the
    whole batch is written in one transaction together with the job's status."""
    asset_ids = run.payload.asset_ids
    async with run.sessions() as session:
        project = await session.get(Project, run.project_id)
        if project is None:
            raise NotFound("The project no longer exists")
        style = await resolve_style(session, project)
        script_row = await session.scalar(
            select(Script).where(Script.project_id == project.id).order_by(Script.version.desc()).limit(1)
        )
        assets = list(
            await session.scalars(
                select(ProjectAsset).where(ProjectAsset.id.in_(asset_ids)).order_by(ProjectAsset.created_at)
            )
        )
        numbers: dict[uuid.UUID, list[int]] = {}
        if script_row is not None:
            rows = (
                await session.execute(
                    select(AssetSceneLink.asset_id, Scene.number)
                    .join(Scene, Scene.id == AssetSceneLink.scene_id)
                    .where(
                        AssetSceneLink.asset_id.in_(asset_ids),
                        Scene.script_id == script_row.id,
                        AssetSceneLink.removed.is_(False),
                    )
                )
            ).all()
            for aid, n in rows:
                numbers.setdefault(aid, []).append(n)
    parsed = None
    if script_row is not None:
        parsed = await asyncio.to_thread(parse_script, script_row.text, script_row.format)
    entities = [
        PreviewEntity(
            name=a.name,
            type=a.type,
            aliases=list(a.aliases or []),
            scene_numbers=sorted(numbers.get(a.id, [])),
            mentions=passes.mentions_from_meta((a.meta or {}).get("mentions")),
        )
        for a in assets
    ]
    await run.progress(0.1, f"Describing {len(entities)} assets")
    llm = run.ctx.llm

    async def batch_done(done: int, total: int) -> None:
        await run.progress(round(0.1 + 0.85 * done / total, 4), f"Described {done} of {total} assets")

    if run.payload.economy and llm is not None:
        outcome = await passes.describe_economy(
            parsed,
            entities,
            settings=run.settings,
            llm=llm,
            style_hint=style.prompt_fragment if style else None,
            style_name=style.name if style else None,
            record=run.record_llm,
            record_once=run.record_llm_once,
            checkpoint=run.checkpoint,
        )
        if isinstance(outcome, passes.Waiting):
            # The provider answers within hours: give the worker slot back and look again later.
            run.wait_and_retry(run.settings.llm_batch_poll_s, outcome.message, outcome.checkpoint)
        described = outcome
    else:
        described = await passes.describe(
            parsed,
            entities,
            settings=run.settings,
            llm=llm,
            style_hint=style.prompt_fragment if style else None,
            style_name=style.name if style else None,
            record=run.record_llm,
            on_progress=batch_done,
        )
    await run.progress(0.96, f"Saving {len(described)} descriptions")
    now = datetime.now(UTC)
    written, kept_edits = 0, 0
    async with run.transaction() as session:
        # All rows locked in one statement, in id order, like confirm and merges (shared/db.py):
        # FOR NO KEY UPDATE, since only non-key columns change.
        locked = {
            row.id: row
            for row in await session.scalars(
                select(ProjectAsset)
                .where(ProjectAsset.id.in_([a.id for a in assets]))
                .order_by(ProjectAsset.id)
                .with_for_update(key_share=True)
            )
        }
        for asset, d in zip(assets, described, strict=True):
            row = locked.get(asset.id)
            if row is None:
                continue
            if row.description_edited_at is None:
                row.description = d.description
            else:
                kept_edits += 1
            row.meta = {
                **(row.meta or {}),
                "confidence": d.confidence,
                "priority": d.priority,
                "conflicts": [c.model_dump() for c in d.conflicts],
            }
            row.described_at = now
            row.version += 1
            written += 1
        result = DescribeResult(
            described=written, kept_user_edits=kept_edits, engine="llm" if llm else "offline"
        )
        await run.complete(session, result)
    return result
