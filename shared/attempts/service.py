"""Carousel rules: list, select, delete, and adding an attempt under the cap.

Invariants, under any concurrency: at most ``cap`` attempts per asset and at most one selected.
Every write here first locks the asset row, so an API select racing twenty imagegen inserts sees
them one at a time. Stored objects of removed attempts are deleted only after the commit that
removed their rows; a crash in between leaves orphans for the sweep, never a row without its file.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assets.service import require_asset
from shared.attempts import repository as repo
from shared.attempts.schemas import AttemptList, AttemptOut
from shared.continuity.stale import accepted_key, is_master_stale, master_stale
from shared.errors import NotFound
from shared.images.processing import ProcessedImage
from shared.models import AssetAttempt, Project
from shared.projects.locks import share_project_key
from shared.projects.stage5 import ensure_unlocked
from shared.storage.base import Storage
from shared.storage.cleanup import delete_after_commit

log = structlog.get_logger()

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def attempt_out(a: AssetAttempt, storage: Storage) -> AttemptOut:
    return AttemptOut(
        id=a.id,
        asset_id=a.asset_id,
        attempt_number=a.attempt_number,
        source=a.source,
        selected=a.selected,
        view=a.view,
        image_url=storage.signed_url(a.storage_key),
        thumbnail_url=storage.signed_url(a.thumbnail_key) if a.thumbnail_key else None,
        width=a.width,
        height=a.height,
        mime=a.mime,
        bytes=a.bytes,
        provider=a.provider,
        model=a.model,
        cost_usd=float(a.cost_usd or 0),
        prompt=a.prompt_snapshot,
        style=a.style_snapshot,
        job_id=a.job_id,
        created_at=a.created_at,
    )


async def list_attempts(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID, *, cap: int
) -> AttemptList:
    asset = await require_asset(session, project, asset_id)
    rows = await repo.list_for_asset(session, asset_id)
    items = [attempt_out(a, storage) for a in rows]
    for item, row in zip(items, rows, strict=True):
        item.stale = master_stale(asset, row).stale
    return AttemptList(items=items, cap=cap)


async def carousel(
    session: AsyncSession, storage: Storage, project_id: uuid.UUID, asset_id: uuid.UUID, *, cap: int
) -> dict[str, Any]:
    """``list_attempts`` as plain dicts in ``AttemptList``'s field order, from one statement (the asset
    and its attempts): serialised straight to the same JSON as the model (tests/api/test_attempts_json.py).
    The carousel is polled; objects and models per attempt cost more CPU than the query."""
    rows = (await session.execute(repo.CAROUSEL_ROWS, {"project_id": project_id, "asset_id": asset_id})).all()
    if not rows:
        raise NotFound("Asset not found")
    return carousel_body(rows, storage, asset_id, cap=cap)


def carousel_body(rows: Sequence[Any], storage: Storage, asset_id: uuid.UUID, *, cap: int) -> dict[str, Any]:
    """The carousel from ``CAROUSEL_ROWS`` (or ``OWNED_CAROUSEL``) rows: at least one, the asset's."""
    asset = _Texts(rows[0][0], rows[0][1])
    items: list[dict[str, Any]] = []
    for (
        _,
        _,
        id_,
        number,
        source,
        selected,
        view,
        key,
        thumb,
        width,
        height,
        mime,
        size,
        provider,
        model,
        cost,
        prompt,
        style,
        job_id,
        created_at,
        accepted_for,
    ) in rows:
        if id_ is None:  # the outer join's row of an asset without attempts
            continue
        # Ids as text: pydantic-core serialises asyncpg's UUID subclass far slower (same JSON).
        items.append(
            {
                "id": str(id_),
                "asset_id": str(asset_id),
                "attempt_number": number,
                "source": source,
                "selected": selected,
                "view": view,
                "image_url": storage.signed_url(key),
                "thumbnail_url": storage.signed_url(thumb) if thumb else None,
                "width": width,
                "height": height,
                "mime": mime,
                "bytes": size,
                "provider": provider,
                "model": model,
                "cost_usd": float(cost or 0),
                "prompt": prompt,
                "style": style,
                "job_id": str(job_id) if job_id is not None else None,
                "created_at": created_at,
                "stale": is_master_stale(asset, source, prompt, accepted_for),
            }
        )
    return {"items": items, "cap": cap}


@dataclass(frozen=True, slots=True)
class _Texts:
    """The asset's texts the stale mark compares with (``Described``)."""

    description: str
    image_prompt: str | None


async def _require_attempt(session: AsyncSession, asset_id: uuid.UUID, attempt_id: uuid.UUID) -> AssetAttempt:
    attempt = await repo.get(session, asset_id=asset_id, attempt_id=attempt_id)
    if attempt is None:
        raise NotFound("Attempt not found")
    return attempt


async def select_attempt(
    session: AsyncSession, project: Project, asset_id: uuid.UUID, attempt_id: uuid.UUID
) -> None:
    ensure_unlocked(project)
    asset = await require_asset(session, project, asset_id, for_update=True)
    attempt = await _require_attempt(session, asset_id, attempt_id)
    if not attempt.selected:
        await repo.clear_selection(session, asset_id)
        await repo.mark_selected(session, attempt.id)
    # Selecting (also re-selecting the selected one) accepts the image for the current description:
    # a stale mark clears until the description changes again (shared/continuity/stale.py).
    attempt.accepted_for = accepted_key(asset)
    await session.flush()


async def delete_attempt(
    session: AsyncSession, storage: Storage, project: Project, asset_id: uuid.UUID, attempt_id: uuid.UUID
) -> None:
    """Delete any attempt. Deleting the selected one leaves the asset description-only: no other
    attempt is promoted behind the user's back (an asset does not need an image)."""
    ensure_unlocked(project)
    await require_asset(session, project, asset_id, for_update=True)
    attempt = await _require_attempt(session, asset_id, attempt_id)
    await session.execute(delete(AssetAttempt).where(AssetAttempt.id == attempt.id))
    delete_after_commit(session, storage, object_keys([attempt]))


def object_keys(attempts: list[AssetAttempt]) -> list[str]:
    return [k for a in attempts for k in (a.storage_key, a.thumbnail_key) if k]


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image and its thumbnail already in storage, waiting for their attempt row."""

    image: ProcessedImage
    storage_key: str
    thumbnail_key: str

    @property
    def keys(self) -> list[str]:
        return [self.storage_key, self.thumbnail_key]

    def columns(self) -> dict[str, Any]:
        """The attempt row's image columns (Stage 5 and Stage 8 attempts share them)."""
        return {
            "storage_key": self.storage_key,
            "thumbnail_key": self.thumbnail_key,
            "width": self.image.width,
            "height": self.image.height,
            "mime": self.image.mime,
            "bytes": len(self.image.data),
        }


async def store_image(
    storage: Storage, *, project_id: uuid.UUID, asset_id: uuid.UUID, image: ProcessedImage
) -> StoredImage:
    """Write the image and its thumbnail *before* their row exists (see the module docstring)."""
    base = f"projects/{project_id}/assets/{asset_id}/{uuid.uuid4()}"
    stored = StoredImage(image, f"{base}.{_EXT[image.mime]}", f"{base}.thumb.webp")
    await asyncio.gather(
        storage.put(stored.storage_key, image.data, content_type=image.mime),
        storage.put(stored.thumbnail_key, image.thumbnail, content_type=image.thumbnail_mime),
    )
    return stored


@dataclass(frozen=True, slots=True)
class ImageOrigin:
    """How an image came to be, recorded on its attempt (Stage 5 or Stage 8)."""

    source: str  # "generated" | "uploaded" (| "master_copy" in Stage 8)
    job_id: uuid.UUID | None
    prompt: str | None = None
    style: dict[str, Any] | None = None
    provider: str | None = None
    model: str | None = None
    cost_usd: float = 0.0

    def columns(self) -> dict[str, Any]:
        """The attempt row's origin columns."""
        return {
            "source": self.source,
            "job_id": self.job_id,
            "prompt_snapshot": self.prompt,
            "style_snapshot": self.style,
            "provider": self.provider,
            "model": self.model,
            "cost_usd": Decimal(str(round(self.cost_usd, 6))),
        }


@dataclass(frozen=True, slots=True)
class AttemptDetails(ImageOrigin):
    """A Stage 5 image's origin, and the view it draws (if any)."""

    view: str | None = None


def plan_insert(
    existing: Sequence[AssetAttempt], *, cap: int, view: str | None
) -> tuple[list[AssetAttempt], bool]:
    """What inserting one attempt evicts (``existing`` in eviction order) and whether it becomes the
    asset's selected image.

    A plain image joins the carousel under the cap and becomes the asset's image. A view (front,
    side, three-quarter, back) is a reference of its own beside the master: it replaces only an older
    unselected image of the same view, does not count against the cap, and becomes the asset's image
    only when the asset has none, so drawing the views never pushes out the master."""
    if view is not None:
        same_view = [a for a in existing if a.view == view and not a.selected]
        return same_view, not any(a.selected for a in existing)
    counted = [a for a in existing if a.view is None or a.selected]
    return list(counted[: max(0, len(counted) - cap + 1)]), True


async def add_attempt(
    session: AsyncSession,
    storage: Storage,
    *,
    asset_id: uuid.UUID,
    stored: StoredImage,
    details: AttemptDetails,
    cap: int,
) -> tuple[AssetAttempt, list[AssetAttempt]] | None:
    """Insert a new attempt, evicting and selecting as ``plan_insert`` says.
    Returns it and the evicted attempts, or None when the asset no longer exists (the caller
    then discards its stored objects)."""
    # Lock order (shared/db.py): the project before the asset. The attempt's foreign key will take
    # FOR KEY SHARE on the project anyway; taking it first means a project delete (which holds the
    # project, then deletes its assets) is waited for instead of deadlocking with this asset lock.
    project_id = await repo.project_of_asset(session, asset_id)
    if project_id is None or not await share_project_key(session, project_id):
        return None
    asset = await repo.lock_asset(session, asset_id=asset_id)
    if asset is None:
        return None
    # The asset's counter, read under its lock: never a number a deleted attempt had (the trigger
    # of migration 0003 moves the counter past it on insert).
    number = asset.next_attempt_number
    existing = await repo.eviction_order(session, asset_id)
    evicted, select_it = plan_insert(existing, cap=cap, view=details.view)
    if evicted:
        await session.execute(delete(AssetAttempt).where(AssetAttempt.id.in_([a.id for a in evicted])))
        delete_after_commit(session, storage, object_keys(evicted))
    if select_it:
        await repo.clear_selection(session, asset_id)
    attempt = AssetAttempt(
        id=uuid.uuid4(),
        asset_id=asset_id,
        project_id=asset.project_id,
        attempt_number=number,
        selected=select_it,
        view=details.view,
        **stored.columns(),
        **details.columns(),
    )
    session.add(attempt)
    await session.flush()
    log.info(
        "attempt.add.succeeded",
        asset_id=str(asset_id),
        attempt_number=number,
        evicted=[a.attempt_number for a in evicted],
    )
    return attempt, evicted
