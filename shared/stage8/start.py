"""Starting instance image work from the API: the checks that answer at once, then a job. Nothing
here decodes an image or calls a provider (the API stays thin)."""

from __future__ import annotations

import uuid

from shared.errors import PayloadTooLarge, UnsupportedMedia
from shared.images.processing import sniff_format
from shared.jobs.starter import JobStarter
from shared.models import Job, Project
from shared.projects.stage5 import require_style
from shared.stage8.gate import ensure_stage8_unlocked
from shared.stage8.service import require_instance, require_scene
from shared.stage8.tasks import (
    SceneImagePayload,
    SceneUploadPayload,
    scene_image_generate,
    scene_image_upload,
)
from shared.storage.base import Storage


async def start_generation(
    jobs: JobStarter, *, project: Project, scene_id: uuid.UUID, instance_id: uuid.UUID
) -> Job:
    ensure_stage8_unlocked(project)
    scene = await require_scene(jobs.session, project, scene_id)
    instance = await require_instance(jobs.session, scene, instance_id)
    await require_style(jobs.session, project)
    return await jobs.start(
        scene_image_generate, project=project, payload=SceneImagePayload(instance_id=instance.id)
    )


async def start_upload(
    jobs: JobStarter,
    storage: Storage,
    *,
    project: Project,
    scene_id: uuid.UUID,
    instance_id: uuid.UUID,
    data: bytes,
) -> Job:
    """Refuse what the length and the first bytes can tell, park the rest under ``staging/`` for the
    imagegen worker (the sweep keeps staging keys of queued and running jobs)."""
    settings = jobs.settings
    ensure_stage8_unlocked(project)
    scene = await require_scene(jobs.session, project, scene_id)
    instance = await require_instance(jobs.session, scene, instance_id)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The image is over {settings.max_upload_bytes} bytes",
            code="image_too_large",
            details={"limit": settings.max_upload_bytes},
        )
    if sniff_format(data[:16]) is None:
        raise UnsupportedMedia("Only PNG, JPEG and WebP images are accepted", code="unsupported_image")
    key = f"staging/{uuid.uuid4()}"
    await storage.put(key, data, content_type="application/octet-stream")
    return await jobs.start(
        scene_image_upload,
        project=project,
        payload=SceneUploadPayload(instance_id=instance.id, staging_key=key),
    )
