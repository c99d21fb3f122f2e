"""Async engine and session helpers.

Only boundaries commit: the API's request dependency and ``session_scope()`` in jobs. Sessions use
``expire_on_commit=False`` so objects stay readable after commit without surprise I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.config import Settings


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    # pre_ping: connections that died with a database restart are replaced on checkout, so the
    # pool recovers without a process restart. Short connect and pool timeouts make a database
    # outage a quick 503, not a request hanging for the client's patience.
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        pool_timeout=settings.database_pool_timeout_s,
        connect_args={
            "server_settings": {"application_name": "filmassets"},
            "timeout": settings.database_connect_timeout_s,
        },
    )


def is_outage(exc: BaseException) -> bool:
    """The database is unreachable (down, restarting, refusing connections), as opposed to a query
    it answered with an error."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, DBAPIError) and cause is not None:
        return is_outage(cause)
    return isinstance(exc, OSError) or type(exc).__name__ in _ASYNCPG_OUTAGES


_ASYNCPG_OUTAGES = frozenset(
    {"CannotConnectNowError", "AdminShutdownError", "ConnectionDoesNotExistError", "ConnectionFailureError"}
)


OUTBOX_KEY = "filmassets.outbox"
PENDING_JOBS_KEY = "filmassets.jobs_to_enqueue"


def create_sessionmaker(
    engine: AsyncEngine, *, outbox: object | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for one process. With an ``outbox`` (``shared.jobs.queue.Outbox``), job rows a
    transaction creates are pushed to Redis after it commits; without one (tools, some tests)
    they wait for the relay."""
    info = {OUTBOX_KEY: outbox} if outbox is not None else {}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any exception."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            discard_after_commit(session)
            raise
        await run_after_commit(session)


AFTER_COMMIT_KEY = "filmassets.after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the boundary that owns ``session`` has committed (never on rollback).
    Used for side effects that must not happen for a transaction that didn't: deleting stored
    objects of removed rows, for instance."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def discard_after_commit(session: AsyncSession) -> None:
    """The transaction rolled back: forget what was to happen after its commit."""
    session.info.pop(AFTER_COMMIT_KEY, None)
    session.info.pop(PENDING_JOBS_KEY, None)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[Callable[[], Awaitable[None]]] = session.info.pop(AFTER_COMMIT_KEY, [])
    for cb in callbacks:
        try:
            await cb()
        except Exception as exc:
            structlog.get_logger().warning("db.after_commit.failed", error=repr(exc))
