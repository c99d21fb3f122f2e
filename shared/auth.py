"""Bearer JWTs: HS256 with a shared secret, Supabase-compatible claims (``sub`` = user id)."""

from __future__ import annotations

import time
import uuid

import jwt

from shared.config import Settings
from shared.errors import Unauthorized


def decode_token(token: str, settings: Settings) -> uuid.UUID:
    """The user id of a valid token. Only HS256 is accepted, so ``alg: none`` or an RS/HS confusion
    never verifies; ``exp`` is required and checked."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            options={"require": ["exp", "sub"], "verify_aud": settings.jwt_audience is not None},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The token is not valid", code="invalid_token") from exc
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("The token's subject is not a user id", code="invalid_token") from exc


def make_token(settings: Settings, *, sub: uuid.UUID, ttl_s: int = 7 * 24 * 3600) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": str(sub), "iat": now, "exp": now + ttl_s, "role": "authenticated"}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
