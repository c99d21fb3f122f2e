"""Verified tokens are remembered (shared/auth.py): the shortcut must not outlive the token, nor carry
a token over to settings it was not verified with."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from pydantic import SecretStr

from shared.auth import decode_token, make_token
from shared.config import Settings
from shared.errors import Unauthorized


async def test_a_token_used_before_still_expires_on_time(
    client: httpx.AsyncClient, settings: Settings, user: uuid.UUID
) -> None:
    auth = {"Authorization": f"Bearer {make_token(settings, sub=user, ttl_s=2)}"}
    assert (await client.get("/v1/projects", headers=auth)).status_code == 200
    assert (await client.get("/v1/projects", headers=auth)).status_code == 200  # served from memory
    await asyncio.sleep(max(0.0, int(time.time()) + 2.05 - time.time()))  # past its whole-second exp
    r = await client.get("/v1/projects", headers=auth)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"


def test_a_token_verified_under_one_secret_is_refused_under_another(settings: Settings) -> None:
    user = uuid.uuid4()
    token = make_token(settings, sub=user)
    assert decode_token(token, settings) == user
    rotated = settings.model_copy(update={"jwt_secret": SecretStr("another-secret-of-enough-length-0123")})
    with pytest.raises(Unauthorized) as refused:
        decode_token(token, rotated)
    assert refused.value.code == "invalid_token"
