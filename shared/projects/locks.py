"""Row locks on a project, named after what they protect. The order every transaction follows is
written in ``shared/db.py``; these helpers are the only places that lock a project row explicitly.

PostgreSQL row-lock modes, weakest first, and what each blocks:

- ``FOR KEY SHARE``: only a delete of the row (or a change of its key). Every insert of a row
  that references the project takes it implicitly (foreign-key check).
- ``FOR NO KEY UPDATE``: other ``NO KEY UPDATE``/``UPDATE`` locks and plain updates, but *not*
  ``KEY SHARE``: holders do not stop jobs, attempts or assets from being inserted.
- ``FOR UPDATE``: everything, including the ``KEY SHARE`` of those inserts. Only a delete needs it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Project, ProjectAsset


async def lock_project_exclusive_writes(session: AsyncSession, project_id: uuid.UUID) -> bool:
    """``FOR NO KEY UPDATE`` on the project: serializes the project-wide writers (script versions,
    extraction confirm) among themselves without blocking inserts that merely reference the
    project. False when the project no longer exists."""
    found = await session.scalar(
        # SQLAlchemy spells FOR NO KEY UPDATE as with_for_update(key_share=True).
        select(Project.id).where(Project.id == project_id).with_for_update(key_share=True)
    )
    return found is not None


async def share_project_key(session: AsyncSession, project_id: uuid.UUID) -> bool:
    """``FOR KEY SHARE`` on the project: it cannot be deleted until this transaction ends. Taken
    *before* an asset lock by writers that will insert a row referencing the project, so the
    implicit key-share of that insert never waits while an asset lock is held (a project delete
    holds the project and then deletes its assets: the other order deadlocks)."""
    found = await session.scalar(
        select(Project.id).where(Project.id == project_id).with_for_update(read=True, key_share=True)
    )
    return found is not None


async def lock_project_for_confirm(session: AsyncSession, project_id: uuid.UUID) -> None:
    """What ``extract/confirm`` needs before it reconciles: one confirm at a time per project
    (``FOR NO KEY UPDATE``, which image jobs inserting attempts do not wait for, unlike the
    ``FOR UPDATE`` confirm used to take), then every asset row of the project locked in id order,
    the order ``merge_assets`` uses, so a confirm and a merge cannot lock two assets in opposite
    orders. Confirm's own ``FOR UPDATE`` of the assets afterwards finds them already held."""
    await lock_project_exclusive_writes(session, project_id)
    await session.execute(
        select(ProjectAsset.id)
        .where(ProjectAsset.project_id == project_id)
        .order_by(ProjectAsset.id)
        .with_for_update()
    )
