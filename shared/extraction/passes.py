"""The two extraction passes, LLM-backed when a key is configured, offline otherwise.

Pass 1 (preview) runs the deterministic parser first, then asks the LLM only for what a parser
cannot know (props, extras, silent characters, aliases), one call per chunk of scenes, concurrently.
Pass 2 (describe) batches several entities per call, concurrently, behind a cached system prefix
(instructions + the project's style) so every call after the first reads it at the cache price.
An economy run (:func:`describe_economy`) sends the same calls as one Message Batch at half price
and comes back for the answers later; the job waits without a worker slot in between."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
RecordOnce = Callable[[Mapping[str, LLMCall]], Awaitable[int]]


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


@dataclass(frozen=True, slots=True)
class Waiting:
    """The provider is still working on the batch: come back later with ``checkpoint``."""

    checkpoint: dict[str, Any]
    message: str


_DESCRIBE_TOOL = "describe_assets"
_DESCRIBE_TOOL_DESCRIPTION = "One visual description per asset"


def _describe_user(batch: Sequence[PreviewEntity]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Describe these assets:\n\n" + "\n\n".join(_evidence(e) for e in batch)}
    ]


async def describe_economy(
    script: ParsedScript | None,
    entities: Sequence[PreviewEntity],
    *,
    settings: Settings,
    llm: LLMClient | None,
    style_hint: str | None,
    record: Record,
    record_once: RecordOnce,
    checkpoint: Mapping[str, Any] | None,
    style_name: str | None = None,
) -> list[EntityDescription] | Waiting:
    """:func:`describe` through the Message Batches API, in steps across a job's deliveries.

    Without a ``checkpoint``: submit one batch item per ``llm_batch_describe_size`` entities (the same
    prompt, cached prefix and schema as :func:`describe`) and return :class:`Waiting` with the
    batch id. With one: return :class:`Waiting` while the batch runs, else read its answers through
    the same schemas, bill them once (``record_once``, keyed by item, so a delivery killed after
    reading them does not bill them again), and make one normal call (with the corrective turn when
    the answer was invalid) for each item that did not give a valid answer."""
    if llm is None or not entities:
        return await describe(
            script,
            entities,
            settings=settings,
            llm=llm,
            style_hint=style_hint,
            record=record,
            style_name=style_name,
        )
    system = [cached_text_block(_describe_prefix(script, style_hint))]
    model = settings.llm_model_describe
    size = settings.llm_batch_describe_size
    if not checkpoint or "batch_id" not in checkpoint:
        items = {
            f"describe-{n}": [e.name for e in entities[i : i + size]]
            for n, i in enumerate(range(0, len(entities), size))
        }
        by_name = {norm(e.name): e for e in entities}
        requests = [
            llm.batch_request(
                cid,
                model=model,
                system=system,
                messages=_describe_user([by_name[norm(n)] for n in names]),
                schema=_batch_schema(names),
                tool_name=_DESCRIBE_TOOL,
                tool_description=_DESCRIBE_TOOL_DESCRIPTION,
                max_tokens=400 * len(names) + 200,
            )
            for cid, names in items.items()
        ]
        state = await llm.submit_batch(requests, purpose="describe")
        return Waiting(
            checkpoint={"batch_id": state.batch_id, "items": items},
            message=f"Waiting for the provider's batch: {len(requests)} requests",
        )
    batch_id = str(checkpoint["batch_id"])
    items = {str(k): list(v) for k, v in checkpoint["items"].items()}
    state = await llm.batch_state(batch_id, purpose="describe")
    if not state.ended:
        return Waiting(
            checkpoint=dict(checkpoint),
            message=(
                f"Waiting for the provider's batch: {state.total} requests, "
                f"{state.total - state.processing} answered"
            ),
        )
    answers = await llm.batch_results(batch_id, purpose="describe")
    by_name = {norm(e.name): e for e in entities}
    described: dict[str, EntityDescription] = {}
    spend: dict[str, LLMCall] = {}
    again: list[tuple[list[PreviewEntity], list[dict[str, Any]]]] = []
    for cid, names in items.items():
        # Entities are matched by name: one deleted since the submission is simply not written.
        asked = [by_name[norm(n)] for n in names if norm(n) in by_name]
        if not asked:
            continue
        messages = _describe_user(asked)
        message = answers.get(cid)
        if message is None:  # errored, expired or cancelled upstream: ask again, normally
            again.append((asked, messages))
            continue
        answer = llm.read_batch_answer(
            message,
            messages=messages,
            schema=_batch_schema(names),
            tool_name=_DESCRIBE_TOOL,
            purpose="describe",
        )
        spend[f"{batch_id}/{cid}"] = answer.call  # the batch's id too: keys unique per job
        if answer.result is None:
            assert answer.correction is not None
            again.append((asked, [dict(m) for m in answer.correction]))
            continue
        for d in _align(asked, answer.result.descriptions):
            described[norm(d.name)] = d
    await record_once(spend)
    covered = {norm(n) for names in items.values() for n in names}
    fresh = [e for e in entities if norm(e.name) not in covered]  # none unless the list changed
    again += [(fresh[i : i + size], _describe_user(fresh[i : i + size])) for i in range(0, len(fresh), size)]
    gate = asyncio.Semaphore(settings.llm_concurrency)

    async def one(batch: list[PreviewEntity], messages: list[dict[str, Any]]) -> None:
        async with gate:
            try:
                out, call = await llm.structured(
                    model=model,
                    system=system,
                    messages=messages,
                    schema=_batch_schema([e.name for e in batch]),
                    tool_name=_DESCRIBE_TOOL,
                    tool_description=_DESCRIBE_TOOL_DESCRIPTION,
                    max_tokens=400 * len(batch) + 200,
                    purpose="describe",
                )
            except Exception as exc:
                spent: LLMCall | None = getattr(exc, "call", None)
                if spent is not None:  # failed calls are billed too
                    record(spent)
                raise
        record(call)
        for d in _align(batch, out.descriptions):
            described[norm(d.name)] = d

    await asyncio.gather(*(one(b, m) for b, m in again))
    return [
        described.get(norm(e.name))
        or EntityDescription(name=e.name, description="", confidence=0.0, priority=False)
        for e in entities
    ]


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
