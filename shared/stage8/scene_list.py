"""The scene list's lean read (``list_repository``): rows to the JSON of ``InstanceList``.

The same answer as ``service.list_scene``, built from plain rows with the same rules: the
reference (``chain.choose_reference``, ``chain.target_in_chain``), whether an instance is required
(``gate.required_of``), the shot presence (``continuity.shots.presence``). Dicts in the models'
field order, ids as text (pydantic-core serialises asyncpg's UUID subclass far slower): the same
bytes as the models (``services/api/rendering.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from shared.continuity.names import Named, NameMatcher
from shared.continuity.shots import presence
from shared.stage8 import list_repository as repo
from shared.stage8.chain import choose_reference, target_in_chain
from shared.stage8.gate import required_of
from shared.storage.base import Storage


class _Shot(NamedTuple):
    number: int
    action: str
    assets: list[str]
    framing: str | None
    angle: str | None
    side: str | None


# An asset's shots in the scene: their numbers and their cameras (``ShotAngles`` as dicts).
_Presence = dict[Any, tuple[list[int], list[dict[str, Any]]]]


async def read(
    conn: Any, storage: Storage, *, user: uuid.UUID, project_id: uuid.UUID, scene_id: uuid.UUID
) -> dict[str, Any] | None:
    """The scene's ``InstanceList`` as plain dicts, or None when the full handler must answer: not
    the caller's scene (or not of the current script), or a linked asset with no instance yet (the
    full handler creates it: a write)."""
    rows = await repo.OWNED_SCENE_LIST.fetch(conn, user=user, project_id=project_id, scene_id=scene_id)
    if not rows:  # no such scene for this caller
        return None
    unlisted, has_shots, first_instance = rows[0][5:8]
    if unlisted:
        return None
    # As the full handler: the shot list is read only for a scene with instances.
    shots = await _presence(conn, project_id, scene_id) if has_shots and first_instance is not None else {}
    return body(rows, storage, shots)


async def _presence(conn: Any, project_id: uuid.UUID, scene_id: uuid.UUID) -> _Presence:
    """``continuity.shots.scene_presence`` from plain rows."""
    shots = [_Shot(*r) for r in await repo.SHOTS.fetch(conn, scene_id=scene_id)]  # by number
    if not shots:
        return {}
    assets = await repo.PROJECT_ASSETS.fetch(conn, project_id=project_id)
    found = presence(shots, NameMatcher(Named(r[0], r[1], tuple(r[2] or ())) for r in assets))
    out: _Presence = {}
    for asset_id, numbers in found.by_asset.items():
        wanted = set(numbers)
        angles = [
            {"shot": s.number, "framing": s.framing, "angle": s.angle, "side": s.side}
            for s in shots
            if s.number in wanted
        ]
        out[asset_id] = (list(numbers), angles)
    return out


def _image(
    kind: str, scene_number: int | None, attempt_id: Any, key: str, thumb: str | None, storage: Storage
) -> dict[str, Any]:
    return {
        "kind": kind,
        "scene_number": scene_number,
        "attempt_id": str(attempt_id),
        "image_url": storage.signed_url(key),
        "thumbnail_url": storage.signed_url(thumb) if thumb else None,
    }


def body(rows: Sequence[Any], storage: Storage, shots: _Presence) -> dict[str, Any]:
    """``InstanceList`` from ``OWNED_SCENE_LIST`` rows (at least one: the scene's)."""
    scene_id, number, heading, script_id, position = rows[0][:5]
    sid = str(scene_id)
    items: list[dict[str, Any]] = []
    for (
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        iid,
        asset_id,
        visual_state,
        use_master_as_is,
        reference_kind,
        reference_attempt_id,
        required,
        generate_later,
        camera_angle,
        version,
        name,
        type_,
        deferred,
        description,
        priority,
        own_id,
        own_key,
        own_thumb,
        attempt_count,
        master_id,
        master_key,
        master_thumb,
        pin_asset_id,
        pin_script_id,
        pin_position,
        pin_live,
        pin_number,
        pin_key,
        pin_thumb,
        early_id,
        early_number,
        early_key,
        early_thumb,
    ) in rows:
        if iid is None:  # the outer join's row of a scene without instances
            continue
        choice, pinned = choose_reference(
            reference_kind,
            has_master=master_id is not None,
            pin_holds=target_in_chain(
                pin_asset_id,
                pin_script_id,
                pin_position,
                pin_live,
                asset_id=asset_id,
                script_id=script_id,
                position=position,
            ),
            has_earlier=early_id is not None,
        )
        reference = None
        if choice == "master":
            reference = _image("master", None, master_id, master_key, master_thumb, storage)
        elif choice == "pin":
            reference = _image("instance", pin_number, reference_attempt_id, pin_key, pin_thumb, storage)
        elif choice == "earlier":
            reference = _image("instance", early_number, early_id, early_key, early_thumb, storage)
        # The effective image (``service._out``): the reference as it is, or the own selected one.
        if use_master_as_is:
            image = reference
        elif own_id is not None:
            image = _image("instance", number, own_id, own_key, own_thumb, storage)
        else:
            image = None
        in_shots, angles = shots.get(asset_id, ([], []))
        items.append(
            {
                "id": str(iid),
                "asset_id": str(asset_id),
                "scene_id": sid,
                "scene_number": number,
                "name": name,
                "type": type_,
                "deferred": deferred,
                "description": description,
                "visual_state": visual_state,
                "use_master_as_is": use_master_as_is,
                "reference": reference,
                "reference_pinned": pinned,
                "image": image,
                "attempt_count": attempt_count,
                "required": required_of(required, type_, priority),
                "generate_later": generate_later,
                "camera_angle": camera_angle,
                "shots": in_shots,
                "camera_angles": angles,
                "version": version,
            }
        )
    return {"scene": {"id": sid, "number": number, "heading": heading}, "items": items}
