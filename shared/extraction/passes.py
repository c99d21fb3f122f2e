"""The two extraction passes, LLM-backed when a key is configured, offline otherwise.

Pass 1 (preview) runs the deterministic parser first, then asks the LLM only for what a parser
cannot know (props, extras, silent characters, aliases), one call per chunk of scenes, concurrently.
Pass 2 (describe) batches several entities per call, concurrently, behind a cached system prefix
(instructions + the project's style) so every call after the first reads it at the cache price."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from pydantic import BaseModel, Field, model_validator

from shared.config import Settings
from shared.extraction import offline
from shared.extraction.chunking import chunk_scenes
from shared.extraction.entities import cap_mentions, merge_entities, name_forms, norm
from shared.extraction.prompts import load
from shared.extraction.schemas import EntityDescription, EntityMention, PreviewEntity
from shared.llm.client import LLMCall, LLMClient, cached_text_block
from shared.scripts.parser import ParsedScript

Record = Callable[[LLMCall], None]
# Told (done, total) as the LLM calls finish: chunks of scenes in preview, assets in describe.
OnProgress = Callable[[int, int], Awaitable[None]]


class ChunkFindings(BaseModel):
    entities: list[PreviewEntity] = Field(default_factory=list)
    same_as: list[list[str]] = Field(default_factory=list, description="Groups of names that are one entity")


class DescribedBatch(BaseModel):
    descriptions: list[EntityDescription]


def _batch_schema(names: Sequence[str]) -> type[DescribedBatch]:
    """The batch schema plus a check that every asked name is answered, so a skipped asset is an
    invalid answer (and gets the one corrective retry) rather than a silently empty description."""
    wanted = {norm(n): n for n in names}

    class Batch(DescribedBatch):
        @model_validator(mode="after")
        def _complete(self) -> Batch:
            missing = sorted(set(wanted) - {norm(d.name) for d in self.descriptions})
            if missing:
                raise ValueError(f"missing descriptions for: {', '.join(wanted[m] for m in missing)}")
            return self

    return Batch


def _known_list(seeds: Sequence[PreviewEntity], scene_numbers: Sequence[int]) -> str:
    wanted = set(scene_numbers)
    lines = [
        f"- {e.type}: {e.name}" + (f" (also: {', '.join(e.aliases[:4])})" if e.aliases else "")
        for e in seeds
        if e.type in ("character", "location") and wanted.intersection(e.scene_numbers)
    ]
    return "\n".join(lines) or "(none)"


async def preview(
    script: ParsedScript,
    *,
    settings: Settings,
    llm: LLMClient | None,
    record: Record,
    on_progress: OnProgress | None = None,
) -> list[PreviewEntity]:
    seeds = offline.preview_entities(script)
    if llm is None or not script.scenes:
        return seeds
    chunks = chunk_scenes(script.scenes, budget_tokens=settings.llm_chunk_token_budget)
    gate = asyncio.Semaphore(settings.llm_concurrency)
    system = load("preview_system")
    done, reporting = 0, asyncio.Lock()  # reports go out in order, so progress never goes back

    async def one(chunk_text: str, numbers: Sequence[int]) -> ChunkFindings:
        user = (
            f"Entities the parser already found in these scenes:\n{_known_list(seeds, numbers)}\n\n"
            f"Scenes {numbers[0]}-{numbers[-1]}:\n\n{chunk_text}"
        )
        async with gate:
            try:
                findings, call = await llm.structured(
                    model=settings.llm_model_preview,
                    system=system,
                    messages=[{"role": "user", "content": user}],
                    schema=ChunkFindings,
                    tool_name="report_entities",
                    tool_description="Report the visual assets of these scenes",
                    max_tokens=4096,
                    purpose="preview",
                )
            except Exception as exc:
                spent: LLMCall | None = getattr(exc, "call", None)
                if spent is not None:  # failed calls are billed too
                    record(spent)
                raise
        record(call)
        allowed = set(numbers)  # the model must not invent scenes outside its chunk
        for e in findings.entities:
            e.scene_numbers = sorted(n for n in e.scene_numbers if n in allowed)
            e.mentions = [m for m in e.mentions if m.scene_number in allowed]
        nonlocal done
        async with reporting:
            done += 1
            if on_progress is not None:
                await on_progress(done, len(chunks))
        return findings

    results = await asyncio.gather(*(one(c.text, c.scene_numbers) for c in chunks))
    # The model was told what the parser knows; an entity that repeats a known name under another
    # type ("Brick Braddock" as a prop) is a misreading, not a new asset.
    known = {form for e in seeds for form in name_forms(e)}
    found = [
        e
        for r in results
        for e in r.entities
        if (e.scene_numbers or e.mentions) and not name_forms(e) & known
    ]
    groups = [g for r in results for g in r.same_as if len(g) > 1]
    return merge_entities([*seeds, *found], groups)


def _evidence(entity: PreviewEntity, limit: int = 6) -> str:
    mentions = cap_mentions(entity.mentions)[:limit]
    quotes = "\n".join(f"  - scene {m.scene_number}: {m.quote}" for m in mentions) or "  - (no quotes)"
    aliases = f"; also called {', '.join(entity.aliases[:6])}" if entity.aliases else ""
    scenes = ", ".join(map(str, entity.scene_numbers[:30]))
    return f"- {entity.name} ({entity.type}{aliases}); scenes {scenes or '?'}\n{quotes}"


async def describe(
    script: ParsedScript | None,
    entities: Sequence[PreviewEntity],
    *,
    settings: Settings,
    llm: LLMClient | None,
    style_hint: str | None,
    record: Record,
    style_name: str | None = None,
    on_progress: OnProgress | None = None,
) -> list[EntityDescription]:
    """One description per entity, in the same order. ``style_hint`` (the style's prompt fragment)
    guides the model; the offline engine only names the style (``style_name``)."""
    if not entities:
        return []
    if llm is None:
        if script is None:
            return [
                EntityDescription(name=e.name, description="", confidence=0.0, priority=False)
                for e in entities
            ]
        return offline.describe_entities(script, entities, style_hint=style_name or style_hint)
    system = [cached_text_block(_describe_prefix(script, style_hint))]
    size = max(1, settings.llm_describe_batch_size)
    batches = [list(entities[i : i + size]) for i in range(0, len(entities), size)]
    gate = asyncio.Semaphore(settings.llm_concurrency)
    described, reporting = 0, asyncio.Lock()

    async def one(batch: list[PreviewEntity]) -> list[EntityDescription]:
        user = "Describe these assets:\n\n" + "\n\n".join(_evidence(e) for e in batch)
        async with gate:
            try:
                out, call = await llm.structured(
                    model=settings.llm_model_describe,
                    system=system,
                    messages=[{"role": "user", "content": user}],
                    schema=_batch_schema([e.name for e in batch]),
                    tool_name="describe_assets",
                    tool_description="One visual description per asset",
                    max_tokens=400 * len(batch) + 200,
                    purpose="describe",
                )
            except Exception as exc:
                spent: LLMCall | None = getattr(exc, "call", None)
                if spent is not None:  # failed calls are billed too
                    record(spent)
                raise
        record(call)
        nonlocal described
        async with reporting:
            described += len(batch)
            if on_progress is not None:
                await on_progress(described, len(entities))
        return _align(batch, out.descriptions)

    results = await asyncio.gather(*(one(b) for b in batches))
    return [d for r in results for d in r]


def _describe_prefix(script: ParsedScript | None, style_hint: str | None) -> str:
    """The part every describe call shares, cached once per job: instructions, the project's style
    and the scene list (the story's places and times, so details fit its world). Long enough to
    pass the API's minimum cacheable prefix on a real script."""
    scenes = "\n".join(f"{s.number}. {s.heading}" for s in script.scenes) if script else "(unknown)"
    return (
        f"{load('describe_system')}\n\nThe project's visual style (for plausible choices, never to be "
        f"named): {style_hint or 'not set'}\n\nThe script's scenes:\n{scenes}"
    )


def _align(batch: Sequence[PreviewEntity], got: Sequence[EntityDescription]) -> list[EntityDescription]:
    """Match answers to the asked entities by name, falling back to position; an entity the model
    skipped gets an empty, zero-confidence description rather than someone else's."""
    by_name = {norm(d.name): d for d in got}
    out = []
    for i, e in enumerate(batch):
        d = by_name.get(norm(e.name))
        if d is None and i < len(got) and norm(got[i].name) not in {norm(x.name) for x in batch}:
            d = got[i]
        out.append(
            d.model_copy(update={"name": e.name})
            if d
            else EntityDescription(name=e.name, description="", confidence=0.0, priority=False)
        )
    return out


def mentions_from_meta(raw: object) -> list[EntityMention]:
    if not isinstance(raw, list):
        return []
    return [EntityMention.model_validate(m) for m in raw if isinstance(m, dict)]
