"""Views (seed 3C.2): front, side, three-quarter and back images of a character, prop or extra in
its Stage 5 carousel, and which one a shot should hand on.

``generate-views`` starts one ``image.generate`` job (with ``view``) per view the carousel lacks,
all in one batch (followed and cancelled as one, like generate-all); no batch when none is missing."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from shared.assets.service import require_asset
from shared.attempts.tasks import GeneratePayload, image_generate
from shared.continuity.angles import VIEW_FOR_SIDE
from shared.continuity.schemas import ViewChoice, ViewsOut
from shared.errors import ValidationFailed
from shared.jobs.batches import create_batch
from shared.jobs.service import job_out
from shared.jobs.starter import JobStarter
from shared.models import AssetAttempt, Job, Project
from shared.models.asset import VIEWS
from shared.projects.stage5 import ensure_unlocked, require_style
from shared.storage.base import Storage

VIEW_TYPES = ("character", "prop", "extra_archetype")


async def pending_views(jobs: JobStarter, asset_id: uuid.UUID) -> dict[str, uuid.UUID | None]:
    """Views already being drawn (queued or running image.generate jobs of this asset), with the
    batch each is drawn in."""
    rows = await jobs.session.execute(
        select(Job.payload, Job.batch_id).where(
            Job.kind == image_generate.name,
            Job.status.in_(("queued", "running")),
            Job.payload["asset_id"].astext == str(asset_id),
        )
    )
    return {str(p["view"]): b for p, b in rows if p.get("view")}


async def generate_views(jobs: JobStarter, *, project: Project, asset_id: uuid.UUID) -> ViewsOut:
    ensure_unlocked(project)
    # Locked: two clicks at the same moment must not both find nothing on its way and start every
    # view twice; the second waits here and then sees the first one's jobs as pending.
    asset = await require_asset(jobs.session, project, asset_id, for_update=True)
    if asset.type not in VIEW_TYPES:
        raise ValidationFailed(
            "Views are drawn for characters, props and extras, not locations", code="view_not_allowed"
        )
    await require_style(jobs.session, project)
    have = set(
        await jobs.session.scalars(
            select(AssetAttempt.view).where(AssetAttempt.asset_id == asset.id, AssetAttempt.view.is_not(None))
        )
    )
    # A view already on its way is not started twice (a double click, a retry without a key).
    busy = await pending_views(jobs, asset.id)
    missing = [v for v in VIEWS if v not in have and v not in busy]
    # Nothing to draw, nothing to follow: an empty batch would only be a row that says so.
    batch = (
        await create_batch(jobs.session, kind="generate-views", owner_id=jobs.owner_id, project_id=project.id)
        if missing
        else None
    )
    started = await jobs.start_many(
        image_generate,
        project=project,
        payloads=[GeneratePayload(asset_id=asset.id, view=v) for v in missing],
        batch=batch,
    )
    # Nothing new started but views are still being drawn (a reload, a retry): answer the batch
    # already drawing them, so the client can follow it.
    in_flight = next((b for b in busy.values() if b is not None), None)
    return ViewsOut(
        asset_id=asset.id,
        present=[v for v in VIEWS if v in have],
        missing=missing,
        batch_id=batch.id if batch is not None else in_flight,
        jobs=[job_out(j) for j in started],
    )


def choose_view(
    views: dict[str, AssetAttempt], side: str | None, shot: int | None, storage: Storage
) -> ViewChoice | None:
    """The view matching a shot's side, when the asset has it."""
    if side is None:
        return None
    view = VIEW_FOR_SIDE.get(side)
    attempt = views.get(view) if view else None
    if attempt is None or view is None:
        return None
    where = f"shot {shot}" if shot is not None else "its shots"
    return ViewChoice(
        view=view,
        attempt_id=attempt.id,
        image_url=storage.signed_url(attempt.storage_key),
        thumbnail_url=storage.signed_url(attempt.thumbnail_key) if attempt.thumbnail_key else None,
        reason=f"{where} shows the asset from the {side}; the {view} view is the reference for it",
    )
