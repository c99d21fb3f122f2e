"""Queries of the instance carousel. Anything that changes it first takes the instance row's lock
(``lock_instance``): that one lock serializes the cap, the numbering and the selection flip across
API requests and imagegen processes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import SceneAssetInstance as Instance
from shared.models import SceneInstanceAttempt as Attempt


async def lock_instance(session: AsyncSession, instance_id: uuid.UUID) -> Instance | None:
    """``SELECT ... FOR UPDATE``: serializes the cap, the numbering and the selection of one carousel."""
    return await session.scalar(
        select(Instance)
        .where(Instance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def list_attempts(session: AsyncSession, instance_id: uuid.UUID) -> Sequence[Attempt]:
    rows = await session.scalars(
        select(Attempt)
        .where(Attempt.instance_id == instance_id)
        .order_by(Attempt.attempt_number.desc())
        .execution_options(populate_existing=True)
    )
    return rows.all()


async def get_attempt(
    session: AsyncSession, *, instance_id: uuid.UUID, attempt_id: uuid.UUID
) -> Attempt | None:
    return await session.scalar(
        select(Attempt).where(Attempt.id == attempt_id, Attempt.instance_id == instance_id)
    )


async def eviction_order(session: AsyncSession, instance_id: uuid.UUID) -> Sequence[Attempt]:
    """Unselected before selected, then oldest first (the Stage 5 rule)."""
    rows = await session.scalars(
        select(Attempt)
        .where(Attempt.instance_id == instance_id)
        .order_by(Attempt.selected, Attempt.attempt_number)
    )
    return rows.all()


async def clear_selection(session: AsyncSession, instance_id: uuid.UUID) -> None:
    # Executed at once so the partial unique index sees the old selection gone before the new one.
    await session.execute(
        update(Attempt)
        .where(Attempt.instance_id == instance_id, Attempt.selected.is_(True))
        .values(selected=False)
    )


async def mark_selected(session: AsyncSession, attempt_id: uuid.UUID) -> None:
    await session.execute(update(Attempt).where(Attempt.id == attempt_id).values(selected=True))
