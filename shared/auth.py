"""Bearer JWTs: HS256 with a shared secret, Supabase-compatible claims (``sub`` = user id)."""

from __future__ import annotations

import time
import uuid

import jwt

from shared.config import Settings
from shared.errors import Unauthorized

# Tokens that verified, with their user and expiry. A page polls with the same token many times a
# minute; checking its signature and claims again on every request was ~4% of a list request's
# CPU. Only ``exp`` can turn a verified token invalid later (``nbf``/``iat`` only become truer), and
# it is checked on every hit. The key holds the secret and audience, so an entry is never reused
# under other settings; unknown or failing tokens are never stored.
_VERIFIED: dict[tuple[str, str, str | None], tuple[uuid.UUID, int]] = {}
_VERIFIED_MAX = 4096


def decode_token(token: str, settings: Settings) -> uuid.UUID:
    """The user id of a valid token. Only HS256 is accepted, so ``alg: none`` or an RS/HS confusion
    never verifies; ``exp`` is required and checked."""
    key = (token, settings.jwt_secret.get_secret_value(), settings.jwt_audience)
    hit = _VERIFIED.get(key)
    if hit is not None:
        user, exp = hit
        if exp > time.time():  # PyJWT's rule: expired once exp <= now
            return user
        _VERIFIED.pop(key, None)
        raise Unauthorized("The token has expired", code="token_expired")
    user, exp = _verify(token, settings)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # simpler than LRU bookkeeping on every hit; refilled as requests come
    _VERIFIED[key] = (user, exp)
    return user


def _verify(token: str, settings: Settings) -> tuple[uuid.UUID, int]:
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
        user = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("The token's subject is not a user id", code="invalid_token") from exc
    return user, int(claims["exp"])


def make_token(settings: Settings, *, sub: uuid.UUID, ttl_s: int = 7 * 24 * 3600) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": str(sub), "iat": now, "exp": now + ttl_s, "role": "authenticated"}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
