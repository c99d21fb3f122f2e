"""Stage 8: a scene's asset instances, their reference chain and carousel, and the Stage 8 gate."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from services.api.deps import ProjectDep, SessionDep, SettingsDep, StorageDep
from services.api.errors import error_responses
from services.api.jobs import JobsDep
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_body
from shared.attempts.schemas import AttemptOut
from shared.db_raw import driver_connection
from shared.jobs.schemas import JobEnvelope
from shared.stage8 import carousel, chain, gate, scene_list, service, start
from shared.stage8.schemas import (
    AddToScene,
    InstanceAttemptList,
    InstanceList,
    InstanceOut,
    InstancePatch,
    Readiness,
    ReferenceChain,
    ReferenceIn,
    UseMasterIn,
)

router = APIRouter(prefix="/v1/projects/{pid}", tags=["stage8"])
SCENE = "/scenes/{sid}/assets"
INSTANCE = SCENE + "/{iid}"
LOCKED = "While Stage 8 is locked: 409 `stage_locked`."


async def _scene_list(read: LeanRead) -> Response:
    """The scene list's lean path (services/api/lean.py): one statement, ownership included."""
    pid, sid = read.uuid("pid"), read.uuid("sid")
    async with driver_connection(read.engine) as conn:
        found = await scene_list.read(conn, read.storage, user=read.user, project_id=pid, scene_id=sid)
    if found is None:
        raise Fallback  # a 404 or 409, or instances to create: the full handler does it
    return json_body(found)


@router.get(
    SCENE,
    responses=error_responses(409),
    summary="The scene's asset instances (made on first read)",
    description="One instance per asset linked to the scene (active and deferred; removed links "
    "excluded), created on first read, exactly once under concurrency. `reference` is the image the "
    "scene starts from; `image` the effective image. 409 `scene_not_current` for a scene of an older "
    "script version.",
)
@lean(_scene_list)
async def list_instances(
    sid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> InstanceList:
    return await service.list_scene(session, storage, project, sid)


@router.post(
    SCENE,
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    summary="Add an asset to the scene",
    description='`{"asset_id"}` links an existing asset (deferred ones too); `{"new": {name, type, '
    "description}}` creates a scene-specific asset (source `manual`). The link's source is `stage8`. "
    "200 with the instance when the asset already was in the scene. " + LOCKED,
)
async def add_to_scene(
    sid: uuid.UUID,
    body: AddToScene,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    response: Response,
) -> InstanceOut:
    scene = await service.require_scene(session, project, sid)
    iid, added = await service.add_to_scene(session, project, scene, body)
    if not added:
        response.status_code = status.HTTP_200_OK
    return await service.read_instance(session, storage, scene, iid)


@router.post(
    SCENE + "/use-master",
    responses=error_responses(409),
    summary="Use the reference as-is for many instances",
    description="Sets `use_master_as_is` on every listed instance of this scene (404 if any is not). "
    + LOCKED,
)
async def use_master(
    sid: uuid.UUID, body: UseMasterIn, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> InstanceList:
    scene = await service.require_scene(session, project, sid)
    await service.use_master(session, project, scene, body.instance_ids)
    return await service.list_scene(session, storage, project, sid)


@router.patch(
    INSTANCE,
    responses=error_responses(409),
    summary="Edit an instance",
    description="`visual_state`, `use_master_as_is`, `required` (null: back to the default rule), "
    "`generate_later`, `camera_angle`. Send `version` to get 409 `version_conflict` on a concurrent "
    "edit. " + LOCKED,
)
async def patch_instance(
    sid: uuid.UUID,
    iid: uuid.UUID,
    body: InstancePatch,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
) -> InstanceOut:
    scene = await service.require_scene(session, project, sid)
    await service.patch_instance(session, project, scene, iid, body)
    return await service.read_instance(session, storage, scene, iid)


@router.delete(
    INSTANCE,
    responses=error_responses(409),
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove the asset from this scene only",
    description="The asset stays in the project; the link is kept as removed (re-extraction does not "
    "bring it back); the instance's images are kept until the purge. " + LOCKED,
)
async def remove_from_scene(
    sid: uuid.UUID, iid: uuid.UUID, project: ProjectDep, session: SessionDep
) -> Response:
    scene = await service.require_scene(session, project, sid)
    await service.remove_from_scene(session, project, scene, iid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    INSTANCE + "/reference-chain",
    responses=error_responses(409),
    summary="The images this scene can start from, oldest first",
    description="The master image, then the selected image of each earlier scene (current script order) "
    "with an instance of this asset; scenes without an image are skipped. `all_attempts=true` also lists "
    "the other attempts of those scenes.",
)
async def reference_chain(
    sid: uuid.UUID,
    iid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    all_attempts: Annotated[
        bool, Query(description="Also the unselected attempts of earlier scenes")
    ] = False,
) -> ReferenceChain:
    scene = await service.require_scene(session, project, sid)
    inst = await service.require_instance(session, scene, iid)
    return await chain.reference_chain(
        session, storage, scene=scene, instance=inst, all_attempts=all_attempts
    )


@router.put(
    INSTANCE + "/reference",
    responses=error_responses(409),
    summary="Choose the reference image",
    description="Any image of the reference chain (with `all_attempts`); null goes back to the default. "
    "Anything else is 422 `reference_not_in_chain`. " + LOCKED,
)
async def set_reference(
    sid: uuid.UUID,
    iid: uuid.UUID,
    body: ReferenceIn,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
) -> ReferenceChain:
    gate.ensure_stage8_unlocked(project)
    scene = await service.require_scene(session, project, sid)
    inst = await service.require_instance(session, scene, iid, for_update=True)
    return await chain.set_reference(session, storage, scene=scene, instance=inst, attempt_id=body.attempt_id)


@router.get(
    INSTANCE + "/attempts", summary="The instance's images, newest first", responses=error_responses(409)
)
async def list_attempts(
    sid: uuid.UUID,
    iid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> InstanceAttemptList:
    scene = await service.require_scene(session, project, sid)
    return await carousel.list_attempts(session, storage, scene, iid, cap=settings.instance_attempt_cap)


@router.post(
    INSTANCE + "/attempts/generate",
    responses=error_responses(409),
    status_code=status.HTTP_202_ACCEPTED,
    summary="Generate a scene image (job)",
    description="Prompt: the asset's description + `visual_state` + the project's style + the type's rules, "
    "at the type's size; the instance's `reference` image is sent to the provider. The new image becomes "
    "selected (and `use_master_as_is` turns off); at the cap (`instance_attempt_cap`) the oldest unselected "
    "one is evicted. 409 `style_required` without a style. " + LOCKED,
)
async def generate(sid: uuid.UUID, iid: uuid.UUID, project: ProjectDep, jobs: JobsDep) -> JobEnvelope:
    return jobs.accepted(await start.start_generation(jobs, project=project, scene_id=sid, instance_id=iid))


@router.post(
    INSTANCE + "/attempts/upload",
    responses=error_responses(409, 415),
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a scene image (job)",
    description="Multipart `file`: PNG, JPEG or WebP recognised from the content (415 `unsupported_image`), "
    "at most `max_upload_bytes` (413). Same validation and sanitising as Stage 5 uploads. " + LOCKED,
)
async def upload(
    sid: uuid.UUID,
    iid: uuid.UUID,
    project: ProjectDep,
    jobs: JobsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="The image file")],
) -> JobEnvelope:
    # One byte over the limit is enough to know it is over: never read more than that.
    data = await file.read(jobs.settings.max_upload_bytes + 1)
    job = await start.start_upload(jobs, storage, project=project, scene_id=sid, instance_id=iid, data=data)
    return jobs.accepted(job)


@router.post(
    INSTANCE + "/attempts/{tid}/select",
    responses=error_responses(409),
    summary="Make this image the instance's own image",
    description="Also turns `use_master_as_is` off. Selecting an image (also the one already selected) "
    "accepts it for the current description and visual state: its `stale` mark clears until one of "
    "them changes again. " + LOCKED,
)
async def select_attempt(
    sid: uuid.UUID,
    iid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> InstanceAttemptList:
    scene = await service.require_scene(session, project, sid)
    await carousel.select_attempt(session, project, scene, iid, tid)
    return await carousel.list_attempts(session, storage, scene, iid, cap=settings.instance_attempt_cap)


@router.delete(
    INSTANCE + "/attempts/{tid}",
    responses=error_responses(409),
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an image and its stored files",
    description="Deleting the selected one leaves the instance with no own image. " + LOCKED,
)
async def delete_attempt(
    sid: uuid.UUID,
    iid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    scene = await service.require_scene(session, project, sid)
    await carousel.delete_attempt(session, storage, project, scene, iid, tid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    INSTANCE + "/attempts/{tid}/promote",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    summary="Copy this scene image into the asset's master carousel",
    description="A new, selected Stage 5 attempt (source `cloned`), under the Stage 5 cap. While Stage 5 "
    "is locked: 409 `stage_locked`.",
)
async def promote(
    sid: uuid.UUID,
    iid: uuid.UUID,
    tid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> AttemptOut:
    scene = await service.require_scene(session, project, sid)
    return await carousel.promote(session, storage, project, scene, iid, tid, cap=settings.attempt_cap)


@router.get(
    "/stages/8/readiness",
    summary="What still blocks Stage 8",
    description="Per scene, the required instances without an effective image (characters marked "
    "priority are required by default; generate-later never blocks), and the stale instances.",
)
async def readiness(project: ProjectDep, session: SessionDep) -> Readiness:
    return await gate.readiness(session, project)


@router.post(
    "/stages/8/lock",
    responses=error_responses(409),
    summary="Lock Stage 8",
    description="409 `stage5_unlocked` while Stage 5 is unlocked; 409 `stage8_blocked` with the readiness "
    "in `details` while something blocks.",
)
async def lock(project: ProjectDep, session: SessionDep) -> Readiness:
    return await gate.lock(session, project)


@router.post("/stages/8/unlock", summary="Unlock Stage 8 (always allowed)")
async def unlock(project: ProjectDep, session: SessionDep) -> Readiness:
    return await gate.unlock(session, project)
