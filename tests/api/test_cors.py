"""CORS: a page on an allowed origin can call the API, send our headers and read our answers' headers;
a page on any other origin cannot, and production allows no origin unless told."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from services.api.app import create_app
from shared.config import Settings

DEV_ORIGIN = "http://localhost:5173"


async def test_preflight_from_the_dev_server_allows_our_headers(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/v1/projects",
        headers={
            "Origin": DEV_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, if-match, "
            "last-event-id",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == DEV_ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "if-match", "last-event-id"} <= allowed
    assert "PATCH" in r.headers["access-control-allow-methods"]


async def test_answers_expose_location_etag_and_request_id(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    headers = {**auth, "Origin": "http://127.0.0.1:5173"}
    r = await client.post("/v1/projects", json={"title": "Cors", "aspect_ratio": "16:9"}, headers=headers)
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"location", "etag", "x-request-id"} <= exposed
    # Errors carry the headers too, or the page could not read why it failed.
    r = await client.get("/v1/projects", headers={"Origin": DEV_ORIGIN})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == DEV_ORIGIN


async def test_other_origins_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/v1/projects",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


async def test_production_allows_only_the_configured_origins(settings: Settings) -> None:
    secrets = {
        "environment": "production",
        "jwt_secret": SecretStr("x" * 40),
        "storage_signing_secret": SecretStr("y" * 40),
    }
    closed = settings.model_copy(update=secrets)
    assert closed.allowed_origins == []
    # As an operator sets it: FILMASSETS_CORS_ORIGINS, comma-separated.
    opened = Settings(
        **{**settings.model_dump(), **secrets, "cors_origins": "https://app.example.com, https://b.example"}
    )
    assert opened.allowed_origins == ["https://app.example.com", "https://b.example"]
    preflight = {"Access-Control-Request-Method": "GET"}
    for conf, origin, allowed in (
        (closed, DEV_ORIGIN, False),
        (opened, DEV_ORIGIN, False),
        (opened, "https://app.example.com", True),
    ):
        app = create_app(conf)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.options("/v1/projects", headers={**preflight, "Origin": origin})
        assert (r.status_code == 200) is allowed, (origin, r.status_code)
        assert (r.headers.get("access-control-allow-origin") == origin) is allowed
