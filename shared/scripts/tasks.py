"""The ``script.parse`` kind: parse a script version too big to parse inside its request."""

from __future__ import annotations

import asyncio
import uuid

from pydantic import BaseModel

from shared.errors import NotFound
from shared.jobs.registry import job_kind
from shared.jobs.run import JobRun
from shared.models import Script
from shared.scripts.parser import parse_script
from shared.scripts.service import write_scenes


class ScriptRef(BaseModel):
    script_id: uuid.UUID


class ParseResult(BaseModel):
    script_id: uuid.UUID
    version: int
    scene_count: int


@job_kind("script.parse", worker="extractor", payload=ScriptRef, result=ParseResult)
async def script_parse(run: JobRun[ScriptRef]) -> ParseResult:
    """Re-parse one script version into scenes (idempotent: scenes are rewritten, not appended)."""
    script_id = run.payload.script_id
    async with run.sessions() as session:
        script = await session.get(Script, script_id)
        if script is None:
            raise NotFound("The script version no longer exists", code="script_missing")
        text, fmt = script.text, script.format
    # Parsing is CPU work; keep the event loop free for the worker's other jobs.
    parsed = await asyncio.to_thread(parse_script, text, fmt)
    async with run.transaction() as session:
        script = await session.get(Script, script_id)
        if script is None:
            raise NotFound("The script version no longer exists", code="script_missing")
        count = await write_scenes(session, script, parsed)
        result = ParseResult(script_id=script_id, version=script.version, scene_count=count)
        await run.complete(session, result)
    return result
