"""``Idempotency-Key``: insert-or-return in one statement, scoped to owner and request.

The key row is inserted when the request starts, inside the request's transaction. A concurrent
repeat's insert waits on the primary key until the first transaction ends: if that one committed an
answer, the repeat replays it; if it rolled back (an error), the repeat does the work itself. So a
key never does the work twice and never answers with a 500 for a race."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ValidationFailed
from shared.models import IdempotencyKey

_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII: UUIDs, ULIDs, "order-42:retry" ...
_SCOPE_MAX = 300


def validate_key(raw: str) -> str:
    if not _KEY.fullmatch(raw):
        raise ValidationFailed(
            "Idempotency-Key must be 1-200 visible ASCII characters (no spaces)",
            code="invalid_idempotency_key",
        )
    return raw


def scope_of(method: str, path: str) -> str:
    scope = f"{method} {path}"
    if len(scope) > _SCOPE_MAX:
        scope = "sha256:" + hashlib.sha256(scope.encode()).hexdigest()
    return scope


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    location: str | None


async def reserve(session: AsyncSession, *, owner_id: uuid.UUID, scope: str, key: str) -> Answer | None:
    """Reserve the key for this request (None), or return the answer a previous request gave."""
    for _ in range(2):
        inserted = await session.scalar(
            insert(IdempotencyKey)
            .values(owner_id=owner_id, scope=scope, key=key)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )
        if inserted is not None:
            return None
        row = (
            await session.execute(
                select(IdempotencyKey.status_code, IdempotencyKey.body, IdempotencyKey.location).where(
                    IdempotencyKey.owner_id == owner_id,
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                )
            )
        ).first()
        if row is not None and row.status_code is not None:
            return Answer(row.status_code, row.body or {}, row.location)
        # The holder removed its row (it gave no answer to keep): take the key ourselves.
    raise ValidationFailed(
        "This Idempotency-Key is in use by a request in progress", code="idempotency_key_busy"
    )


async def settle(
    session: AsyncSession, *, owner_id: uuid.UUID, scope: str, key: str, answer: Answer | None
) -> None:
    """Store the answer with the key, or free the key when the route gave none worth replaying."""
    where = (
        (IdempotencyKey.owner_id == owner_id) & (IdempotencyKey.scope == scope) & (IdempotencyKey.key == key)
    )
    if answer is None:
        await session.execute(delete(IdempotencyKey).where(where))
        return
    await session.execute(
        update(IdempotencyKey)
        .where(where)
        .values(status_code=answer.status_code, body=answer.body, location=answer.location)
    )
