"""The instance carousel (seed 3B.1, 3B.3): list, select, delete, add under the cap, and promote an
instance image into the asset's Stage 5 carousel.

The Stage 5 rules, with the instance row as the lock: every write first takes ``SELECT ... FOR
UPDATE`` on the instance, so selects, deletes and job inserts racing on one instance run one at a
time, the cap holds and at most one attempt is selected (the partial unique index backs it up).
Attempt numbers come from the instance's counter and never repeat. Stored objects of removed
attempts are deleted after the commit that removed their rows.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import dataclass

import structlog
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.attempts.schemas import AttemptOut
from shared.attempts.service import (
    AttemptDetails,
    ImageOrigin,
    StoredImage,
    add_attempt,
    attempt_out,
    store_image,
)
from shared.continuity.stale import accepted_key, instance_stale
from shared.db import after_commit
from shared.errors import NotFound
from shared.images.processing import ProcessedImage
from shared.models import Project, ProjectAsset, Scene, SceneInstanceAttempt
from shared.projects.stage5 import ensure_unlocked as ensure_stage5_unlocked
from shared.stage8 import carousel_repository as repo
from shared.stage8.gate import ensure_stage8_unlocked
from shared.stage8.schemas import InstanceAttemptList, InstanceAttemptOut, ReferenceUsed, StaleMark
from shared.stage8.service import require_instance
from shared.storage.base import ObjectNotFound, Storage

log = structlog.get_logger()

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def attempt_out_(a: SceneInstanceAttempt, storage: Storage, stale: StaleMark) -> InstanceAttemptOut:
    reference = None
    if a.reference_kind in ("master", "instance") and a.reference_attempt_id is not None:
        reference = ReferenceUsed(
            kind=a.reference_kind,
            attempt_id=a.reference_attempt_id,
            scene_number=a.reference_scene_number,
        )
    return InstanceAttemptOut(
        id=a.id,
        instance_id=a.instance_id,
        attempt_number=a.attempt_number,
        source=a.source,
        selected=a.selected,
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
        reference=reference,
        job_id=a.job_id,
        created_at=a.created_at,
        stale=stale,
    )


async def list_attempts(
    session: AsyncSession, storage: Storage, scene: Scene, instance_id: uuid.UUID, *, cap: int
) -> InstanceAttemptList:
    inst = await require_instance(session, scene, instance_id)
    # One read of the asset's text for the whole carousel; each mark is computed from it in memory.
    asset = await _asset_text(session, inst.asset_id)
    rows = await repo.list_attempts(session, instance_id)
    items = [attempt_out_(a, storage, instance_stale(asset, inst.visual_state, a)) for a in rows]
    return InstanceAttemptList(items=items, cap=cap)


async def _asset_text(session: AsyncSession, asset_id: uuid.UUID) -> ProjectAsset:
    asset = await session.scalar(
        select(ProjectAsset).where(ProjectAsset.id == asset_id).execution_options(populate_existing=True)
    )
    if asset is None:  # an instance goes with its asset (cascade)
        raise NotFound("Asset not found")
    return asset


async def _require_attempt(
    session: AsyncSession, instance_id: uuid.UUID, attempt_id: uuid.UUID
) -> SceneInstanceAttempt:
    attempt = await repo.get_attempt(session, instance_id=instance_id, attempt_id=attempt_id)
    if attempt is None:
        raise NotFound("Attempt not found")
    return attempt


async def select_attempt(
    session: AsyncSession, project: Project, scene: Scene, instance_id: uuid.UUID, attempt_id: uuid.UUID
) -> None:
    """Make the attempt the instance's own image; the scene stops using its reference as-is."""
    ensure_stage8_unlocked(project)
    inst = await require_instance(session, scene, instance_id, for_update=True)
    attempt = await _require_attempt(session, inst.id, attempt_id)
    if not attempt.selected:
        await repo.clear_selection(session, inst.id)
        await repo.mark_selected(session, attempt.id)
    # Selecting (also re-selecting the selected one) accepts the image for the current text: a
    # stale mark clears until the description or the visual state changes again.
    attempt.accepted_for = accepted_key(await _asset_text(session, inst.asset_id), inst.visual_state)
    inst.use_master_as_is = False
    inst.version += 1
    await session.flush()


async def delete_attempt(
    session: AsyncSession,
    storage: Storage,
    project: Project,
    scene: Scene,
    instance_id: uuid.UUID,
    attempt_id: uuid.UUID,
) -> None:
    """Delete any attempt. Deleting the selected one leaves the instance with no own image: nothing
    else is promoted. Later scenes that started from it fall back to their default reference."""
    ensure_stage8_unlocked(project)
    inst = await require_instance(session, scene, instance_id, for_update=True)
    attempt = await _require_attempt(session, inst.id, attempt_id)
    await session.execute(delete(SceneInstanceAttempt).where(SceneInstanceAttempt.id == attempt.id))
    inst.version += 1
    await session.flush()
    _delete_after_commit(session, storage, [attempt])


def _delete_after_commit(
    session: AsyncSession, storage: Storage, attempts: list[SceneInstanceAttempt]
) -> None:
    keys = [k for a in attempts for k in (a.storage_key, a.thumbnail_key) if k]
    if keys:
        after_commit(session, lambda: storage.delete_many(keys))


async def store_instance_image(
    storage: Storage, *, project_id: uuid.UUID, instance_id: uuid.UUID, image: ProcessedImage
) -> StoredImage:
    """Write the image and its thumbnail *before* their row exists (the sweep removes orphans)."""
    base = f"projects/{project_id}/instances/{instance_id}/{uuid.uuid4()}"
    stored = StoredImage(image, f"{base}.{_EXT[image.mime]}", f"{base}.thumb.webp")
    await asyncio.gather(
        storage.put(stored.storage_key, image.data, content_type=image.mime),
        storage.put(stored.thumbnail_key, image.thumbnail, content_type=image.thumbnail_mime),
    )
    return stored


@dataclass(frozen=True, slots=True)
class InstanceAttemptDetails(ImageOrigin):
    """A scene image's origin, and the reference it was made from."""

    reference_kind: str | None = None
    reference_attempt_id: uuid.UUID | None = None
    reference_scene_number: int | None = None


async def add_instance_attempt(
    session: AsyncSession,
    storage: Storage,
    *,
    instance_id: uuid.UUID,
    stored: StoredImage,
    details: InstanceAttemptDetails,
    cap: int,
) -> tuple[SceneInstanceAttempt, list[SceneInstanceAttempt]] | None:
    """Insert a new, selected attempt, evicting the oldest unselected ones down to ``cap``; the
    instance stops using its reference as-is. Returns it and the evicted attempts, or None when
    the instance no longer exists (the caller then discards its stored objects)."""
    inst = await repo.lock_instance(session, instance_id)
    if inst is None:
        return None
    inst.attempt_counter += 1
    number = inst.attempt_counter
    existing = await repo.eviction_order(session, instance_id)
    evicted = list(existing[: max(0, len(existing) - cap + 1)])
    if evicted:
        await session.execute(
            delete(SceneInstanceAttempt).where(SceneInstanceAttempt.id.in_([a.id for a in evicted]))
        )
        _delete_after_commit(session, storage, evicted)
    await repo.clear_selection(session, instance_id)
    attempt = SceneInstanceAttempt(
        id=uuid.uuid4(),
        instance_id=instance_id,
        project_id=inst.project_id,
        attempt_number=number,
        selected=True,
        reference_kind=details.reference_kind,
        reference_attempt_id=details.reference_attempt_id,
        reference_scene_number=details.reference_scene_number,
        **stored.columns(),
        **details.columns(),
    )
    session.add(attempt)
    inst.use_master_as_is = False
    inst.version += 1
    await session.flush()
    log.info(
        "stage8.attempt.add.succeeded",
        instance_id=str(instance_id),
        attempt_number=number,
        evicted=[a.attempt_number for a in evicted],
    )
    return attempt, evicted


async def promote(
    session: AsyncSession,
    storage: Storage,
    project: Project,
    scene: Scene,
    instance_id: uuid.UUID,
    attempt_id: uuid.UUID,
    *,
    cap: int,
) -> AttemptOut:
    """Copy a scene image into the asset's Stage 5 carousel as a new, selected master attempt
    (source ``cloned``; the Stage 5 cap evicts as usual). The bytes are copied, not shared, so
    deleting either image never removes the other's file."""
    ensure_stage5_unlocked(project)
    inst = await require_instance(session, scene, instance_id)
    attempt = await _require_attempt(session, inst.id, attempt_id)
    try:
        data, thumb = await asyncio.gather(storage.get(attempt.storage_key), _thumbnail(storage, attempt))
    except ObjectNotFound as exc:
        raise NotFound("The image's stored file is missing", code="image_missing") from exc
    thumb_w, thumb_h = Image.open(io.BytesIO(thumb)).size  # header only: no decode
    image = ProcessedImage(
        data=data,
        mime=attempt.mime,
        width=attempt.width,
        height=attempt.height,
        thumbnail=thumb,
        thumbnail_mime="image/webp",
        thumbnail_width=thumb_w,
        thumbnail_height=thumb_h,
    )
    stored = await store_image(storage, project_id=project.id, asset_id=inst.asset_id, image=image)
    added = await add_attempt(
        session,
        storage,
        asset_id=inst.asset_id,
        stored=stored,
        details=AttemptDetails(
            source="cloned",
            job_id=None,
            prompt=attempt.prompt_snapshot,
            style=attempt.style_snapshot,
            provider=attempt.provider,
            model=attempt.model,
        ),
        cap=cap,
    )
    if added is None:  # the asset went meanwhile (its instance would have gone with it)
        await storage.delete_many(stored.keys)
        raise NotFound("Asset not found")
    return attempt_out(added[0], storage)


async def _thumbnail(storage: Storage, attempt: SceneInstanceAttempt) -> bytes:
    if attempt.thumbnail_key is None:
        raise NotFound("The image has no thumbnail", code="thumbnail_missing")
    return await storage.get(attempt.thumbnail_key)
