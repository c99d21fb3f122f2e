"""Short-lived, scoped tokens for a browser's ``EventSource``, which cannot send ``Authorization``.

A page asks for one with its bearer token (``POST /v1/projects/{pid}/events/token`` or
``POST /v1/jobs/{jid}/events/token``) and opens ``.../events?token=...``. The token is a JWT that
names one project or one job, lives ``events_token_ttl_s`` (5 minutes by default) and is only
accepted by the events routes. It is signed with a key *derived* from the JWT secret, so it never
verifies as a bearer token (whatever ``jwt_audience`` is), and a bearer token never verifies as one:
the long-lived token can not end up in a URL, where proxies and browser history would keep it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import jwt

from shared.config import Settings
from shared.errors import Unauthorized

Scope = Literal["project", "job"]
AUDIENCE = "filmassets:events"
_KEY_LABEL = b"filmassets events token v1"


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_secret.get_secret_value().encode(), _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class EventsToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class EventsGrant:
    """What a valid token allows: the events of ``target`` (a project or a job) of ``owner_id``."""

    owner_id: uuid.UUID
    scope: Scope
    target: uuid.UUID


def issue(settings: Settings, *, owner_id: uuid.UUID, scope: Scope, target: uuid.UUID) -> EventsToken:
    now = int(time.time())
    exp = now + settings.events_token_ttl_s
    claims = {"sub": str(owner_id), "aud": AUDIENCE, "scope": f"{scope}:{target}", "iat": now, "exp": exp}
    token = jwt.encode(claims, _key(settings), algorithm="HS256")
    return EventsToken(token, datetime.fromtimestamp(exp, UTC))


def verify(settings: Settings, token: str) -> EventsGrant:
    try:
        claims = jwt.decode(
            token,
            _key(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud", "scope"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized(
            "The events token has expired: ask for a new one", code="events_token_expired"
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(
            "The events token is not valid (a bearer token is never accepted in a URL)",
            code="invalid_events_token",
        ) from exc
    try:
        scope, _, target = str(claims["scope"]).partition(":")
        if scope not in ("project", "job"):
            raise ValueError(scope)
        return EventsGrant(uuid.UUID(str(claims["sub"])), scope, uuid.UUID(target))  # type: ignore[arg-type]
    except ValueError as exc:
        raise Unauthorized("The events token is not valid", code="invalid_events_token") from exc
