"""Attempt queries. Anything that changes an asset's carousel first takes the asset row's lock
(``lock_asset``): that one lock serializes the cap, the numbering and the selection flip across
every API request and imagegen process. See the lock order in ``shared/db.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import String, bindparam, cast, exists, func, select, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db_raw import RawQuery
from shared.models import AssetAttempt, Job, Project, ProjectAsset

# Job kinds that will add an attempt to the asset named in their payload.
IMAGE_JOB_KINDS = ("image.generate", "image.upload")


async def lock_asset(
    session: AsyncSession, *, asset_id: uuid.UUID, project_id: uuid.UUID | None = None
) -> ProjectAsset | None:
    """``SELECT ... FOR NO KEY UPDATE`` on the asset; None when it no longer exists (or is in another
    project). NO KEY UPDATE is enough to serialize carousel writers (it conflicts with itself and
    with the ``FOR UPDATE`` of select/delete/merge) and, unlike FOR UPDATE, lets scene links and
    other rows referencing the asset be inserted meanwhile. ``populate_existing``: the counter may
    have moved since the session last read the row."""
    q = (
        select(ProjectAsset)
        .where(ProjectAsset.id == asset_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if project_id is not None:
        q = q.where(ProjectAsset.project_id == project_id)
    return await session.scalar(q)


async def list_for_asset(session: AsyncSession, asset_id: uuid.UUID) -> Sequence[AssetAttempt]:
    # attempt_number is assigned under the asset lock, so it orders attempts exactly, unlike
    # created_at (transaction start time, which concurrent jobs may share or invert).
    rows = await session.scalars(_CAROUSEL, {"asset_id": asset_id})
    return rows.all()


# Built once (the carousel is polled): building the select cost more CPU than running it.
_CAROUSEL = (
    select(AssetAttempt)
    .where(AssetAttempt.asset_id == bindparam("asset_id", type_=UUID(as_uuid=True)))
    .order_by(AssetAttempt.attempt_number.desc())
    .execution_options(populate_existing=True)  # after a select/clear UPDATE in this session
)


_T = AssetAttempt
# The carousel of one asset in one statement: the asset (its project checked, and its texts for the
# stale mark) left-joined to its attempts, as plain columns. No row: no such asset in the project; one
# row with a null attempt id: an asset without images.
CAROUSEL_ROWS = (
    select(
        ProjectAsset.description,
        ProjectAsset.image_prompt,
        _T.id,
        _T.attempt_number,
        _T.source,
        _T.selected,
        _T.view,
        _T.storage_key,
        _T.thumbnail_key,
        _T.width,
        _T.height,
        _T.mime,
        _T.bytes,
        _T.provider,
        _T.model,
        _T.cost_usd,
        _T.prompt_snapshot,
        _T.style_snapshot,
        _T.job_id,
        _T.created_at,
        _T.accepted_for,
    )
    .select_from(ProjectAsset)
    .outerjoin(_T, _T.asset_id == ProjectAsset.id)
    .where(
        ProjectAsset.project_id == bindparam("project_id", type_=UUID(as_uuid=True)),
        ProjectAsset.id == bindparam("asset_id", type_=UUID(as_uuid=True)),
    )
    .order_by(_T.attempt_number.desc())
)

# The same rows for the polled carousel (services/api/routers/attempts.py), the caller's ownership of
# the project checked in the same statement: no row also when the project is not the caller's.
OWNED_CAROUSEL = RawQuery.of(
    CAROUSEL_ROWS.join(
        Project,
        (Project.id == ProjectAsset.project_id)
        & (Project.owner_id == bindparam("user", type_=UUID(as_uuid=True))),
    )
)


async def get(session: AsyncSession, *, asset_id: uuid.UUID, attempt_id: uuid.UUID) -> AssetAttempt | None:
    return await session.scalar(
        select(AssetAttempt).where(AssetAttempt.id == attempt_id, AssetAttempt.asset_id == asset_id)
    )


async def project_of_asset(session: AsyncSession, asset_id: uuid.UUID) -> uuid.UUID | None:
    """Unlocked read: which project to key-share before the asset lock (see ``add_attempt``)."""
    return await session.scalar(select(ProjectAsset.project_id).where(ProjectAsset.id == asset_id))


async def eviction_order(session: AsyncSession, asset_id: uuid.UUID) -> Sequence[AssetAttempt]:
    """Every attempt of the asset, the first to evict first: unselected before selected, then
    oldest first. The selected one only ever goes when the cap is 1."""
    rows = await session.scalars(
        select(AssetAttempt)
        .where(AssetAttempt.asset_id == asset_id)
        .order_by(AssetAttempt.selected, AssetAttempt.attempt_number)
    )
    return rows.all()


async def clear_selection(session: AsyncSession, asset_id: uuid.UUID) -> None:
    # Executed at once (not left to a flush) so the partial unique index sees the old selection
    # gone before the new one is written.
    await session.execute(
        update(AssetAttempt)
        .where(AssetAttempt.asset_id == asset_id, AssetAttempt.selected.is_(True))
        .values(selected=False)
    )


async def mark_selected(session: AsyncSession, attempt_id: uuid.UUID) -> None:
    await session.execute(update(AssetAttempt).where(AssetAttempt.id == attempt_id).values(selected=True))


async def assets_needing_images(session: AsyncSession, project_id: uuid.UUID) -> Sequence[ProjectAsset]:
    """Active assets (not deferred, not stale) with no attempt at all and no image job pending."""
    has_attempt = exists().where(AssetAttempt.asset_id == ProjectAsset.id)
    pending = exists().where(
        Job.project_id == project_id,
        Job.kind.in_(IMAGE_JOB_KINDS),
        Job.status.in_(("queued", "running")),
        Job.payload["asset_id"].astext == cast(ProjectAsset.id, String),
    )
    rows = await session.scalars(
        select(ProjectAsset)
        .where(
            ProjectAsset.project_id == project_id,
            ProjectAsset.deferred.is_(False),
            ProjectAsset.stale.is_(False),
            ~has_attempt,
            ~pending,
        )
        .order_by(ProjectAsset.type, func.lower(ProjectAsset.name), ProjectAsset.id)
    )
    return rows.all()
