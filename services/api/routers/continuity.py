"""What the stages after Stage 8 read and feed: shots and camera angles, views, suggestions, the
asset timeline and the scene context."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.api.deps import ProjectDep, SessionDep, StorageDep
from services.api.jobs import JobsDep
from services.api.lean import Fallback, LeanRead, lean
from services.api.rendering import json_body
from shared.continuity import context, shots, suggestions, timeline, views
from shared.continuity.schemas import (
    ANGLE_DOC,
    AcceptOut,
    RepairOut,
    SceneContext,
    ShotList,
    ShotsIn,
    ShotsPatch,
    SuggestionList,
    Timeline,
    ViewsOut,
)
from shared.db_raw import driver_connection
from shared.projects.locks import lock_project_exclusive_writes
from shared.stage8 import service as s8service

router = APIRouter(prefix="/v1/projects/{pid}", tags=["continuity"])
SCENE = "/scenes/{sid}"


@router.put(
    SCENE + "/shots",
    summary="Replace the scene's shot list",
    description='`{"shots": [{"number", "camera", "action", "assets"?: [names]}]}` from the shot-list '
    "stage. An asset is in a shot when listed (by name or alias) or named in the action. "
    + ANGLE_DOC
    + " 422 `duplicate_shot_number`. Answers the list as GET does.",
)
async def put_shots(sid: uuid.UUID, body: ShotsIn, project: ProjectDep, session: SessionDep) -> ShotList:
    # The project lock a new script version takes first: a shot list written while a new version
    # is being stored would be copied stale onto it (or race its scene cascade on a re-parse).
    # After waiting, require_scene answers 409 scene_not_current.
    await lock_project_exclusive_writes(session, project.id)
    scene = await s8service.require_scene(session, project, sid)
    await shots.put_shots(session, project, scene, body)
    return await shots.read_shots(session, project, scene)


@router.get(
    SCENE + "/shots",
    summary="The scene's shot list, the assets in each shot, and each instance's shots",
    description="`instances[]` is what a Stage 8 instance shows: `shots` (the shot numbers it is in) and "
    "`camera_angles` (those shots' angles). Follows shot-list and name changes on every read. " + ANGLE_DOC,
)
async def get_shots(sid: uuid.UUID, project: ProjectDep, session: SessionDep) -> ShotList:
    scene = await s8service.require_scene(session, project, sid)
    return await shots.read_shots(session, project, scene)


@router.patch(
    SCENE + "/shots",
    summary="Correct shots' camera angles",
    description='`{"shots": [{"number", "framing"?, "angle"?, "side"?}]}`: fields sent replace the parsed '
    "angles (null clears one; fields not sent stay). Every instance in the shot shows the corrected "
    "angles, and their generation prompts use them. Kept when the shot list is PUT again with the same "
    "camera text. 404 `shot_not_found` (nothing changed) for a number not in the list. " + ANGLE_DOC,
)
async def patch_angles(
    sid: uuid.UUID, body: ShotsPatch, project: ProjectDep, session: SessionDep
) -> ShotList:
    await lock_project_exclusive_writes(session, project.id)  # as put_shots
    scene = await s8service.require_scene(session, project, sid)
    await shots.patch_angles(session, scene, body)
    return await shots.read_shots(session, project, scene)


@router.get(
    SCENE + "/suggestions",
    summary="Assets worth adding to the scene",
    description="Persisted; refreshed when the dependency map changed since the last refresh (new script "
    "version, links added or removed, names changed), never by a model call. `suggested_by`: "
    "`named_in_text` (a name or alias in the scene's text, the asset not linked) or `continuity` (in the "
    "scene before and after, same location, missing here). Dismissed and accepted ones are not listed.",
)
async def list_suggestions(sid: uuid.UUID, project: ProjectDep, session: SessionDep) -> SuggestionList:
    scene = await s8service.require_scene(session, project, sid)
    return await suggestions.list_suggestions(session, project, scene)


@router.post(
    SCENE + "/suggestions/{gid}/accept",
    summary="Add the suggested asset to the scene",
    description="Through Stage 8: an instance, link source `stage8`. 409 `stage_locked` while Stage 8 is "
    "locked, 409 `suggestion_accepted` when already accepted.",
)
async def accept(sid: uuid.UUID, gid: uuid.UUID, project: ProjectDep, session: SessionDep) -> AcceptOut:
    scene = await s8service.require_scene(session, project, sid)
    return await suggestions.accept(session, project, scene, gid)


@router.post(
    SCENE + "/suggestions/{gid}/dismiss",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Dismiss a suggestion",
    description="Remembered: the same suggestion (same rule, asset, scene heading and evidence) is not "
    "offered again, also after a new script version; it comes back only if its evidence changes.",
)
async def dismiss(sid: uuid.UUID, gid: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    scene = await s8service.require_scene(session, project, sid)
    await suggestions.dismiss(session, scene, gid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    SCENE + "/context",
    summary="What frame generation needs for the scene (or one shot)",
    description="Style, aspect ratio, heading and location, each present asset (name, type, description, "
    "visual state, shots, camera angles, effective image, `stale`, and `view`: the asset's view matching "
    "the side its shot needs, with the reason), and the previous scene's end state of the same assets. "
    "`?max_tokens=` bounds it: required assets and those in the shot first, then their previous "
    "states, then the rest; what does not fit is summarised or dropped and listed in `left_out` with "
    "its token estimate. 404 `shot_not_found`.",
)
async def get_context(
    sid: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    storage: StorageDep,
    shot: Annotated[int | None, Query(ge=1, description="One shot of the scene's shot list")] = None,
    max_tokens: Annotated[int | None, Query(ge=50, le=200000, description="Token budget")] = None,
) -> SceneContext:
    return await context.scene_context(session, storage, project, sid, shot=shot, max_tokens=max_tokens)


async def _timeline(read: LeanRead) -> Response:
    """The timeline's lean path (services/api/lean.py): ownership in its first statement."""
    async with driver_connection(read.engine) as conn:
        rows = await timeline.owned_rows(conn, read.user, read.uuid("pid"), read.uuid("aid"))
    if rows is None:
        raise Fallback  # not the caller's project, or no such asset there: the full handler's 404
    return json_body(timeline.body(rows, read.storage)[0])


@router.get(
    "/assets/{aid}/timeline",
    response_model=Timeline,
    summary="The asset across the script, in scene order",
    description="Per scene of the current script: `appears`, `visual_state`, the effective `image` and "
    "`image_source` (`generated_here`, `inherited` from `inherited_from_scene`, `master`), `stale`, "
    "`shots`. `broken` lists broken links of the chain (a pin to a deleted image or to one no longer "
    "earlier, a pin to a missing master, an instance whose scene vanished). One request, a constant "
    "number of queries whatever the number of scenes.",
)
@lean(_timeline)
async def get_timeline(
    aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep
) -> Response:
    # Polled: plain rows serialised once (services/api/rendering.py), the same JSON as the model.
    return json_body(await timeline.timeline(session, storage, project, aid))


@router.post(
    "/assets/{aid}/timeline/repair",
    summary="Fix the broken links of the asset's chain",
    description="Pins that no longer hold go back to the default reference; instances whose scene "
    "vanished are detached (kept with their images until the purge). Nothing is deleted. Answers what "
    "was fixed and the timeline after. 409 `stage_locked` while Stage 8 is locked.",
)
async def repair(aid: uuid.UUID, project: ProjectDep, session: SessionDep, storage: StorageDep) -> RepairOut:
    return await timeline.repair(session, storage, project, aid)


@router.post(
    "/assets/{aid}/attempts/generate-views",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Draw the views the asset's carousel lacks",
    description="Characters, props and extras (422 `view_not_allowed` for locations): one `image.generate` "
    "job with `view` per missing view among front, side, three-quarter, back (views already being drawn "
    "are not started twice), all in one batch: `batch_id` and `Location: /v1/batches/{id}` (follow it "
    "there or on `GET /v1/projects/{pid}/events`; cancel it as a whole with `POST "
    "/v1/batches/{id}/cancel`). When no view is missing nothing starts: `batch_id` is then the batch still "
    "drawing views (a repeat while they are on their way), or null. A shot "
    "whose side has a view hands that view on (see the scene context's `view`).",
)
async def generate_views(aid: uuid.UUID, project: ProjectDep, jobs: JobsDep) -> ViewsOut:
    out = await views.generate_views(jobs, project=project, asset_id=aid)
    return jobs.answer(out, status=status.HTTP_202_ACCEPTED, batch_id=out.batch_id)
