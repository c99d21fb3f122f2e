"""The app served by a real uvicorn on a loopback port, for what ASGITransport cannot show: endless
Server-Sent Event streams read as they arrive, as a browser's EventSource reads them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from services.api.app import create_app
from shared.config import Settings


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """Serve a fresh app on ``settings`` in this event loop; yields its base URL."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class Event:
    event: str
    data: Any
    id: str | None = None


@dataclass
class EventReader:
    """Reads one SSE response event by event (comments and retry lines skipped)."""

    response: httpx.Response
    seen: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lines = self.response.aiter_lines()

    async def next(self, within_s: float = 15.0) -> Event:
        async with asyncio.timeout(within_s):
            fields: dict[str, str] = {}
            async for line in self._lines:
                if not line:
                    if "data" in fields:
                        ev = Event(
                            fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")
                        )
                        self.seen.append(ev)
                        return ev
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    async def until(self, predicate: Any, within_s: float = 30.0) -> Event:
        """The first event (from now on) that satisfies ``predicate``."""
        async with asyncio.timeout(within_s):
            while True:
                ev = await self.next(within_s)
                if predicate(ev):
                    return ev


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[EventReader]:
    async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(30, read=30)) as r:
        assert r.status_code == 200, (await r.aread()).decode()
        assert r.headers["content-type"].startswith("text/event-stream")
        yield EventReader(r)
