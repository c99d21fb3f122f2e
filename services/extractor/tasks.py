"""Extractor job handlers. Each receives a claimed ``JobRun`` and returns the job's result."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from shared.db import session_scope
from shared.errors import NotFound
from shared.jobs.runner import JobRun
from shared.models import Script
from shared.scripts.parser import parse_script
from shared.scripts.service import write_scenes


async def script_parse(run: JobRun) -> dict[str, Any]:
    """Re-parse one script version into scenes (idempotent: scenes are rewritten, not appended)."""
    script_id = uuid.UUID(run.payload["script_id"])
    async with run.sessions() as session:
        script = await session.get(Script, script_id)
        if script is None:
            raise NotFound("The script version no longer exists", code="script_missing")
        text, fmt = script.text, script.format
    # Parsing is CPU work; keep the event loop free for the worker's other jobs.
    parsed = await asyncio.to_thread(parse_script, text, fmt)  # type: ignore[arg-type]
    async with session_scope(run.sessions) as session:
        script = await session.get(Script, script_id)
        if script is None:
            raise NotFound("The script version no longer exists", code="script_missing")
        count = await write_scenes(session, script, parsed)
        result = {"script_id": str(script_id), "version": script.version, "scene_count": count}
        await run.complete(session, result)
    return result


async def noop(run: JobRun) -> dict[str, Any]:
    """A probe of the whole job path (POST /v1/jobs/ping) and the queue benchmark. With
    ``hold_ms`` it holds the worker slot that long, reporting progress, so operators can watch
    events flow and tests can interrupt a running job."""
    hold_ms = int(run.payload.get("hold_ms", 0))
    steps = 4 if hold_ms else 0
    for i in range(steps):
        await asyncio.sleep(hold_ms / 1000 / steps)
        await run.progress((i + 1) / steps)
    return {"pong": True, "held_ms": hold_ms}


CORE_HANDLERS = {"script.parse": script_parse, "noop": noop}
