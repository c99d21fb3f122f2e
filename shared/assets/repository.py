"""Asset queries. The list is one round trip: scene numbers, the selected image and the total are
computed in SQL, not fetched per asset."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.sqltypes import NullType

from shared.db_raw import RawQuery
from shared.models import AssetAttempt, AssetSceneLink, Project, ProjectAsset, Scene, Script

# Table columns, not ORM attributes: a statement made only of these runs on SQLAlchemy Core, whose
# rows are plain tuples (an ORM-attribute anywhere in it sends every row through the ORM loader).
_A = ProjectAsset.__table__.c
_S = Scene.__table__.c
_L = AssetSceneLink.__table__.c
_V = Script.__table__.c
_T = AssetAttempt.__table__.c
# Built once: an alias rebuilds its column proxies each time it is created.
_SELECTED = AssetAttempt.__table__.alias("selected")


# Statements are built once, with the project as a bound parameter: building a select of this size
# (subqueries, an aliased join) costs more CPU per request than PostgreSQL spends running it.
_PROJECT = bindparam("project_id", type_=UUID(as_uuid=True))


def _current_script_id(project_id: Any) -> Any:
    """The project's newest script version, as an uncorrelated subquery PostgreSQL runs once."""
    return (
        select(_V.id)
        .where(_V.project_id == project_id)
        .order_by(_V.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _as_is(column: Any) -> Any:
    """The column's value as the driver returns it. For arrays: asyncpg already gives a list, and
    SQLAlchemy's ARRAY result processor rebuilt each one item by item (100 lists per list page)."""
    return type_coerce(column, NullType())


def _derived_columns(project_id: Any) -> list[Any]:
    """What the asset API shows besides the asset's own columns: its scene numbers in the current
    script, its attempt count, and its selected image."""
    scene_numbers = (
        select(func.coalesce(func.array_agg(func.distinct(_S.number)), []))
        .select_from(AssetSceneLink.__table__.join(Scene.__table__, _S.id == _L.scene_id))
        .where(
            _L.asset_id == _A.id,
            _L.removed.is_(False),
            _S.script_id == _current_script_id(project_id),
        )
        .scalar_subquery()
    )
    attempt_count = select(func.count(_T.id)).where(_T.asset_id == _A.id).scalar_subquery()
    return [
        _as_is(scene_numbers).label("scene_numbers"),
        attempt_count.label("attempt_count"),
        _SELECTED.c.id.label("sel_id"),
        _SELECTED.c.storage_key.label("sel_key"),
        _SELECTED.c.thumbnail_key.label("sel_thumb"),
        _SELECTED.c.width.label("sel_w"),
        _SELECTED.c.height.label("sel_h"),
    ]


def _with_selected(query: Any) -> Any:
    return query.outerjoin(_SELECTED, and_(_SELECTED.c.asset_id == _A.id, _SELECTED.c.selected.is_(True)))


def _asset_select(project_id: Any) -> Any:
    """The asset as an ORM object plus the derived columns (one asset, read after a write)."""
    return _with_selected(select(ProjectAsset, *_derived_columns(project_id)))


# The list's own columns, in the order ``service.asset_item`` unpacks them. Plain columns, not the
# ORM entity: a list row is only serialised, and building (and identity-mapping) 50 ORM objects per
# request cost more CPU than the query.
LIST_COLUMNS = (
    _A.id,
    _A.name,
    _as_is(_A.aliases).label("aliases"),
    _A.type,
    _A.description,
    _A.image_prompt,
    _A.deferred,
    _A.source,
    _A.stale,
    _A.described_at,
    _A.metadata,
    _A.version,
    _A.created_at,
    _A.updated_at,
)


def _filters(status: str, typed: bool) -> list[Any]:
    filters: list[Any] = [_A.project_id == _PROJECT]
    if status == "active":
        filters.append(_A.deferred.is_(False))
    elif status == "deferred":
        filters.append(_A.deferred.is_(True))
    if typed:
        filters.append(_A.type == bindparam("type"))
    return filters


@functools.cache
def _list_statements(status: str, typed: bool) -> tuple[Any, Any]:
    """The page query (with the total as a window count) and the bare count, per filter shape."""
    filters = _filters(status, typed)
    page = (
        _with_selected(select(*LIST_COLUMNS, *_derived_columns(_PROJECT), func.count().over().label("total")))
        .where(*filters)
        .order_by(_A.type, func.lower(_A.name), _A.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count()).select_from(ProjectAsset.__table__).where(*filters)
    return page, count


@functools.cache
def owned_list(status: str, typed: bool) -> RawQuery:
    """The page query for the polled list (services/api/routers/assets.py), the caller's ownership
    of the project checked in the same statement. No row: not the caller's project, no asset on
    the page, or past the last page (the full handler tells those apart)."""
    page, _ = _list_statements(status, typed)
    return RawQuery.of(page.join(_P, and_(_P.c.id == _A.project_id, _P.c.owner_id == _USER)))


_P = Project.__table__
_USER = bindparam("user", type_=UUID(as_uuid=True))

_ONE = _asset_select(_PROJECT).where(_A.project_id == _PROJECT, _A.id == bindparam("asset_id"))


async def list_rows(
    session: AsyncSession, *, project_id: uuid.UUID, status: str, type_: str | None, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    """One page and the total, in one round trip (the total rides along as a window count)."""
    page, count = _list_statements(status, type_ is not None)
    params: dict[str, Any] = {"project_id": project_id, "limit": limit, "offset": offset}
    if type_ is not None:
        params["type"] = type_
    rows = (await session.execute(page, params)).all()
    if rows:
        return rows, int(rows[0][-1])
    # Past the last page there is no row to carry the count.
    total = await session.scalar(count, params) if offset else 0
    return rows, int(total or 0)


async def get_row(session: AsyncSession, *, project_id: uuid.UUID, asset_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(_ONE, {"project_id": project_id, "asset_id": asset_id})).first()


_ASSET = select(ProjectAsset).where(_A.project_id == _PROJECT, _A.id == bindparam("asset_id"))
_ASSET_FOR_UPDATE = _ASSET.with_for_update()


async def get_asset(
    session: AsyncSession, *, project_id: uuid.UUID, asset_id: uuid.UUID, for_update: bool = False
) -> ProjectAsset | None:
    q = _ASSET_FOR_UPDATE if for_update else _ASSET
    return await session.scalar(q, {"project_id": project_id, "asset_id": asset_id})


async def scenes_by_number(
    session: AsyncSession, script_id: uuid.UUID, numbers: Sequence[int]
) -> dict[int, uuid.UUID]:
    rows = (
        await session.execute(
            select(Scene.number, Scene.id).where(
                Scene.script_id == script_id, Scene.number.in_(list(numbers))
            )
        )
    ).all()
    return {n: sid for n, sid in rows}


async def links_for_asset(
    session: AsyncSession, asset_id: uuid.UUID, script_id: uuid.UUID
) -> list[tuple[AssetSceneLink, int]]:
    rows = (
        await session.execute(
            select(AssetSceneLink, Scene.number)
            .join(Scene, Scene.id == AssetSceneLink.scene_id)
            .where(AssetSceneLink.asset_id == asset_id, Scene.script_id == script_id)
        )
    ).all()
    return [(link, number) for link, number in rows]


async def attempt_keys(session: AsyncSession, asset_ids: Sequence[uuid.UUID]) -> list[str]:
    rows = (
        await session.execute(
            select(AssetAttempt.storage_key, AssetAttempt.thumbnail_key).where(
                AssetAttempt.asset_id.in_(list(asset_ids))
            )
        )
    ).all()
    return [k for row in rows for k in row if k]
