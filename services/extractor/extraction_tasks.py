"""Extraction job handlers: pass 1 (preview) and pass 2 (descriptions of kept assets)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shared.db import session_scope
from shared.errors import NotFound
from shared.extraction import offline, passes
from shared.extraction.schemas import PreviewEntity
from shared.jobs.runner import Handler, JobRun, LLMUsage
from shared.llm.client import LLMCall, LLMClient
from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, Script
from shared.scripts.parser import ParsedScript, parse_script
from shared.styles.service import resolve_style


def _recorder(run: JobRun) -> passes.Record:
    def record(call: LLMCall) -> None:
        run.record_llm(
            LLMUsage(
                model=call.model,
                purpose=call.purpose,
                input_tokens=call.usage.input_tokens,
                output_tokens=call.usage.output_tokens,
                cache_write_tokens=call.usage.cache_creation_input_tokens,
                cache_read_tokens=call.usage.cache_read_input_tokens,
                cost_usd=call.cost_usd,
                latency_ms=call.latency_ms,
            )
        )

    return record


async def _load_script(run: JobRun, script_id: uuid.UUID) -> tuple[Script, ParsedScript]:
    async with run.sessions() as session:
        script = await session.get(Script, script_id)
    if script is None:
        raise NotFound("The script version no longer exists", code="script_missing")
    parsed = await asyncio.to_thread(parse_script, script.text, script.format)  # type: ignore[arg-type]
    return script, parsed


async def extract_preview(run: JobRun) -> dict[str, Any]:
    script, parsed = await _load_script(run, uuid.UUID(run.payload["script_id"]))
    llm: LLMClient | None = run.ctx.get("llm")
    entities = await passes.preview(parsed, settings=run.settings, llm=llm, record=_recorder(run))
    keyed = [{"key": offline.entity_key(e.type, e.name), **e.model_dump(mode="json")} for e in entities]
    return {
        "script_id": str(script.id),
        "script_version": script.version,
        "scene_count": len(parsed.scenes),
        "engine": "llm" if llm else "offline",
        "counts": dict(Counter(e.type for e in entities)),
        "entities": keyed,
    }


async def describe_assets(run: JobRun) -> dict[str, Any]:
    """Pass 2 for the given assets. Descriptions the user edited meanwhile are not overwritten; the
    whole batch is written in one transaction together with the job's status."""
    asset_ids = [uuid.UUID(a) for a in run.payload["asset_ids"]]
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
        parsed = await asyncio.to_thread(parse_script, script_row.text, script_row.format)  # type: ignore[arg-type]
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
    await run.progress(0.1)
    described = await passes.describe(
        parsed,
        entities,
        settings=run.settings,
        llm=run.ctx.get("llm"),
        style_hint=style.prompt_fragment if style else None,
        style_name=style.name if style else None,
        record=_recorder(run),
    )
    now = datetime.now(UTC)
    written, kept_edits = 0, 0
    async with session_scope(run.sessions) as session:
        for asset, d in zip(assets, described, strict=True):
            row = await session.scalar(
                select(ProjectAsset).where(ProjectAsset.id == asset.id).with_for_update()
            )
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
        result = {
            "described": written,
            "kept_user_edits": kept_edits,
            "engine": "llm" if run.ctx.get("llm") else "offline",
        }
        await run.complete(session, result)
    return result


EXTRACTION_HANDLERS: dict[str, Handler] = {
    "extract.preview": extract_preview,
    "extract.confirm": describe_assets,
    "asset.describe": describe_assets,
}
