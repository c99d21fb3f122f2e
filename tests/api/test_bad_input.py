"""Bad input answers a clear 4xx in the one error shape, and writes nothing."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import Project, Script
from tests.support.factories import create_project


def assert_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_malformed_json(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.post(
        "/v1/projects", content=b'{"title": "x",', headers={**auth, "content-type": "application/json"}
    )
    assert_error(r, 400, "malformed_json")
    assert await count(sessions, Project) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"title": 42},
        {"title": ""},
        {"title": "ok", "aspect_ratio": "21:9"},
        {"title": "ok", "extra": "field"},
        [],
    ],
)
async def test_wrong_types_and_unknown_enums(
    client: httpx.AsyncClient, auth: dict[str, str], body: object, sessions: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.post("/v1/projects", json=body, headers=auth)
    assert_error(r, 422, "validation_error")
    assert r.json()["error"]["details"]
    assert await count(sessions, Project) == 0


async def test_unknown_enum_in_asset_and_filter(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    pid = (await create_project(client, auth))["id"]
    r = await client.post(f"/v1/projects/{pid}/assets", json={"name": "X", "type": "vehicle"}, headers=auth)
    assert_error(r, 422, "validation_error")
    r = await client.get(f"/v1/projects/{pid}/assets?status=archived", headers=auth)
    assert_error(r, 422, "validation_error")
    r = await client.get("/v1/projects/not-a-uuid", headers=auth)
    assert_error(r, 422, "validation_error")


async def test_oversize_script_is_413_and_not_stored(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = (await create_project(client, auth))["id"]
    text = "INT. ROOM - DAY\n\n" + "A line of action.\n" * (settings.max_script_bytes // 18 + 10)
    r = await client.put(f"/v1/projects/{pid}/script", json={"text": text}, headers=auth)
    assert_error(r, 413, "script_too_large")
    assert r.json()["error"]["details"]["limit"] == settings.max_script_bytes
    huge = "x" * (settings.max_body_bytes + 10)
    r = await client.put(f"/v1/projects/{pid}/script", json={"text": huge}, headers=auth)
    assert_error(r, 413, "payload_too_large")
    assert await count(sessions, Script) == 0


def _token(secret: str, **claims: object) -> str:
    base: dict[str, object] = {"sub": str(uuid.uuid4()), "exp": int(time.time()) + 600}
    base.update(claims)
    return jwt.encode(base, secret, algorithm="HS256")


async def test_bad_tokens(
    client: httpx.AsyncClient, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    secret = settings.jwt_secret.get_secret_value()
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    payload = jwt.utils.base64url_encode(
        f'{{"sub":"{uuid.uuid4()}","exp":{int(time.time()) + 600}}}'.encode()
    ).decode()
    cases = {
        "no token": ({}, "unauthorized"),
        "garbage": ({"Authorization": "Bearer not.a.jwt"}, "invalid_token"),
        "expired": (
            {"Authorization": f"Bearer {_token(secret, exp=int(time.time()) - 10)}"},
            "token_expired",
        ),
        "other secret": (
            {"Authorization": f"Bearer {_token('another-secret-entirely-0123456789')}"},
            "invalid_token",
        ),
        "alg none": ({"Authorization": f"Bearer {header}.{payload}."}, "invalid_token"),
        "no exp": (
            {"Authorization": f"Bearer {jwt.encode({'sub': str(uuid.uuid4())}, secret)}"},
            "invalid_token",
        ),
        "sub not uuid": ({"Authorization": f"Bearer {_token(secret, sub='alice')}"}, "invalid_token"),
        "basic auth": ({"Authorization": "Basic dXNlcjpwYXNz"}, "unauthorized"),
    }
    for name, (headers, code) in cases.items():
        r = await client.post("/v1/projects", json={"title": "x"}, headers=headers)
        assert r.status_code == 401, name
        assert r.json()["error"]["code"] == code, name
    assert await count(sessions, Project) == 0


async def test_unknown_route_and_method(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    assert_error(await client.get("/v1/nope", headers=auth), 404, "not_found")
    assert_error(await client.put("/v1/projects", json={}, headers=auth), 405, "method_not_allowed")


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32
