"""The scene list's lean read (``GET .../scenes/{sid}/assets``, polled by the Stage 8 page): the
whole answer in one statement on the driver connection (``shared/db_raw.py``).

``list_scene`` reads it in eight statements through the session: ownership, the scene, the current
script, ``ensure_instances``, the instances, masters, latest earlier images and the shot list. Here
the scene (owned by the caller, of the current script) drives one row per live instance carrying
everything its reference needs: the master, the pinned attempt with what decides whether the pin
still holds, and the latest earlier image (``repository.earlier_pick``, the same LATERAL walk).
Two flags come with it: whether a live link still has no instance (the full handler creates it:
a write this read leaves to it) and whether the scene has a shot list (then ``SHOTS`` and
``continuity.repository.PROJECT_ASSETS`` follow)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnClause, and_, bindparam, exists, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import aliased

from shared.continuity import repository as crepo
from shared.db_raw import RawQuery
from shared.models import (
    AssetAttempt,
    AssetSceneLink,
    Project,
    ProjectAsset,
    Scene,
    SceneAssetInstance,
    SceneInstanceAttempt,
    Script,
    Shot,
)
from shared.stage8 import repository as repo

# The metadata key as a constant in the SQL (it never changes), not one more bound parameter.
_PRIORITY: ColumnClause[str] = literal_column("'priority'")


def _uuid(name: str) -> Any:
    return bindparam(name, type_=UUID(as_uuid=True))


def _owned_scene_list() -> Any:
    # Every table of the outer statement is aliased: the LATERAL walk and the EXISTS checks name the
    # plain tables, and SQLAlchemy would otherwise correlate them with the outer ones.
    sc = aliased(Scene, name="sc")
    i = aliased(SceneAssetInstance, name="i")
    a = aliased(ProjectAsset, name="a")
    own = aliased(SceneInstanceAttempt, name="own")
    master = aliased(AssetAttempt, name="master")
    pin = aliased(SceneInstanceAttempt, name="pin")
    pin_i = aliased(SceneAssetInstance, name="pin_i")
    pin_s = aliased(Scene, name="pin_s")
    early = aliased(SceneInstanceAttempt, name="early")
    early_s = aliased(Scene, name="early_s")
    current_script = (
        select(Script.id)
        .where(Script.project_id == _uuid("project_id"))
        .order_by(Script.version.desc())
        .limit(repo._ONE)
        .scalar_subquery()
    )
    unlisted = exists().where(AssetSceneLink.scene_id == sc.id, *repo.unlisted_links())
    has_shots = exists().where(Shot.scene_id == sc.id)
    pick = repo.earlier_pick(i.asset_id, script_id=sc.script_id, position=sc.position)
    return (
        select(
            # the scene (every row)
            sc.id,
            sc.number,
            sc.heading,
            sc.script_id,
            sc.position,
            unlisted.label("unlisted"),
            has_shots.label("has_shots"),
            # the instance and its asset (null: a scene without instances)
            i.id,
            i.asset_id,
            i.visual_state,
            i.use_master_as_is,
            i.reference_kind,
            i.reference_attempt_id,
            i.required,
            i.generate_later,
            i.camera_angle,
            i.version,
            a.name,
            a.type,
            a.deferred,
            a.description,
            a.meta[_PRIORITY].astext,
            # its own selected image, and how many it has
            own.id,
            own.storage_key,
            own.thumbnail_key,
            repo.attempt_count(i),
            # the asset's master image
            master.id,
            master.storage_key,
            master.thumbnail_key,
            # the pinned attempt, with what decides whether it is still in the chain
            pin_i.asset_id,
            pin_s.script_id,
            pin_s.position,
            repo.live(pin_i),
            pin_s.number,
            pin.storage_key,
            pin.thumbnail_key,
            # the default: the latest earlier image
            early.id,
            early_s.number,
            early.storage_key,
            early.thumbnail_key,
        )
        .select_from(sc)
        .join(Project, (Project.id == sc.project_id) & (Project.owner_id == _uuid("user")))
        .outerjoin(i, and_(i.scene_id == sc.id, repo.live(i)))
        .outerjoin(a, a.id == i.asset_id)
        .outerjoin(own, and_(own.instance_id == i.id, own.selected.is_(True)))
        .outerjoin(master, and_(master.asset_id == i.asset_id, master.selected.is_(True)))
        .outerjoin(pin, pin.id == i.reference_attempt_id)
        .outerjoin(pin_i, pin_i.id == pin.instance_id)
        .outerjoin(pin_s, pin_s.id == pin_i.scene_id)
        .outerjoin(pick, true())
        .outerjoin(early, early.id == pick.c.attempt_id)
        .outerjoin(early_s, early_s.id == pick.c.scene_id)
        .where(
            sc.id == _uuid("scene_id"),
            sc.project_id == _uuid("project_id"),
            sc.script_id == current_script,
        )
        # The full list's order (``repository._scene_instances``).
        .order_by(a.type, func.lower(a.name), i.id)
    )


# One row per live instance of the scene (one row of nulls after the scene's columns when it has
# none), or no row: not the caller's project, no such scene, or a scene of an older script.
OWNED_SCENE_LIST = RawQuery.of(_owned_scene_list())

SHOTS = RawQuery.of(
    select(Shot.number, Shot.action, Shot.assets, Shot.framing, Shot.angle, Shot.side)
    .where(Shot.scene_id == _uuid("scene_id"))
    .order_by(Shot.number)
)
PROJECT_ASSETS = RawQuery.of(crepo.PROJECT_ASSETS)
