"""Extractor job: describe an asset from one of its images (``attempt.describe``).

The result holds three candidate descriptions (keep / replace / merge); nothing is written to the
asset until the user applies one (POST .../description/apply), so the job has no domain writes.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from shared.attempts import repository as attempts_repo
from shared.attempts.describe import (
    describe_with_model,
    model_options,
    offline_description,
    offline_options,
    prepare_for_vision,
)
from shared.errors import NotFound
from shared.jobs.runner import Handler, JobRun, LLMUsage
from shared.llm.client import LLMCall, LLMClient
from shared.models import ProjectAsset
from shared.storage.base import ObjectNotFound, Storage
from shared.storage.factory import build_storage


async def attempt_describe(run: JobRun) -> dict[str, Any]:
    asset_id = uuid.UUID(run.payload["asset_id"])
    attempt_id = uuid.UUID(run.payload["attempt_id"])
    async with run.sessions() as session:
        asset = await session.get(ProjectAsset, asset_id)
        attempt = await attempts_repo.get(session, asset_id=asset_id, attempt_id=attempt_id)
    if asset is None or attempt is None:
        raise NotFound("The image no longer exists", code="attempt_missing")
    try:
        data = await (await _storage(run)).get(attempt.storage_key)
    except ObjectNotFound as exc:
        raise NotFound("The image's file no longer exists", code="attempt_missing") from exc
    result: dict[str, Any] = {
        "asset_id": str(asset_id),
        "attempt_id": str(attempt_id),
        "description_at_request": asset.description,
    }
    llm: LLMClient | None = run.ctx.get("llm")
    if llm is None:
        text = await asyncio.to_thread(offline_description, data)
        return {
            **result,
            "engine": "offline",
            "model": None,
            "image_description": text,
            "script_details_missing": [],
            "options": offline_options(asset.description, text),
        }
    image, media_type = await asyncio.to_thread(prepare_for_vision, data)
    try:
        found, call = await describe_with_model(
            llm,
            model=run.settings.llm_model_describe,
            image=image,
            media_type=media_type,
            name=asset.name,
            asset_type=asset.type,
            current=asset.description,
        )
    except Exception as exc:
        # Every LLM client error carries the spend so far: bill it even though the job fails.
        spent: LLMCall | None = getattr(exc, "call", None)
        if spent is not None:
            _record(run, spent)
        raise
    _record(run, call)
    return {
        **result,
        "engine": "llm",
        "model": call.model,
        "image_description": found.description,
        "script_details_missing": found.script_details_missing,
        "options": model_options(asset.description, found),
    }


async def _storage(run: JobRun) -> Storage:
    # The extractor worker does not build storage at startup (only this job needs it): build it
    # once per process on first use. S3 may create its bucket here, which blocks: use a thread.
    storage: Storage | None = run.ctx.get("storage")
    if storage is None:
        storage = await asyncio.to_thread(build_storage, run.settings)
        run.ctx["storage"] = storage
    return storage


def _record(run: JobRun, call: LLMCall) -> None:
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


IMAGE_HANDLERS: dict[str, Handler] = {"attempt.describe": attempt_describe}
