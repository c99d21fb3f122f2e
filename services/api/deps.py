"""Annotated dependencies: a route declares what it needs and gets it, nothing else.

They are ``async def`` even when they do not await: FastAPI runs plain ``def`` dependencies in a
thread pool, a thread hop per dependency per request for no benefit here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import decode_token
from shared.config import Settings
from shared.db import discard_after_commit, run_after_commit
from shared.errors import NotFound, Unauthorized
from shared.models import Project
from shared.storage.base import Storage


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the route returns (before the response is
    sent, so a failed commit is an error response), then its after-commit work runs."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_after_commit(session)
            raise
        # Stored objects of deleted rows go, and the jobs the request created reach their queues.
        await run_after_commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="Supabase-compatible HS256 JWT; `sub` is the user id")


async def current_user(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> uuid.UUID:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required", code="unauthorized")
    # The settings straight from the app, not as a sub-dependency: every authenticated request runs
    # this, and each dependency FastAPI resolves costs more than the lookup.
    settings: Settings = request.app.state.settings
    return decode_token(creds.credentials, settings)


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]


# Built once: every project route runs it, and building the select (and its cache key) per request
# cost more CPU than PostgreSQL spends answering it.
_OWNED = select(Project).where(
    Project.id == bindparam("pid", type_=UUID(as_uuid=True)),
    Project.owner_id == bindparam("user", type_=UUID(as_uuid=True)),
)


async def owned_project(
    pid: Annotated[uuid.UUID, Path(description="Project id")], user: CurrentUser, session: SessionDep
) -> Project:
    """The project if the caller owns it; someone else's project is a 404, never a 403."""
    project = await session.scalar(_OWNED, {"pid": pid, "user": user})
    if project is None:
        raise NotFound("Project not found")
    return project


ProjectDep = Annotated[Project, Depends(owned_project)]


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
