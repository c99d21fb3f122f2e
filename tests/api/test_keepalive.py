"""A 500 over a real server: the response carries its request id and the keep-alive connection
keeps serving (it used to be closed by the server once the exception escaped the app)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import Request

from services.api.app import create_app
from shared.config import Settings


@pytest.fixture
async def server(settings: Settings, migrated: str) -> AsyncIterator[str]:
    app = create_app(settings)

    async def crash() -> None:
        raise RuntimeError("boom (test route)")

    async def peer(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    app.add_api_route("/test-crash", crash, methods=["GET"])
    app.add_api_route("/test-peer", peer, methods=["GET"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="on", timeout_keep_alive=30)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    for _ in range(200):
        if srv.started:
            break
        await asyncio.sleep(0.02)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task
        sock.close()


async def test_500_keeps_the_connection_and_names_its_request(server: str) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server, limits=limits, trust_env=False) as c:
        before = await c.get("/test-peer")
        crash = await c.get("/test-crash")
        after = await c.get("/test-peer")
        assert crash.status_code == 500
        assert crash.json()["error"]["code"] == "internal_error"
        assert crash.headers["x-request-id"]
        assert crash.headers.get("connection", "").lower() != "close"
        assert after.status_code == 200
        # One TCP connection served all three: the 500 did not close it.
        assert before.json()["port"] == after.json()["port"]
        for _ in range(5):
            assert (await c.get("/healthz")).status_code == 200
