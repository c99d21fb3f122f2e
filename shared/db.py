"""Async engine and session helpers.

Only boundaries commit: the API's request dependency and ``session_scope()`` in jobs. Sessions use
``expire_on_commit=False`` so objects stay readable after commit without surprise I/O.

Lock order
----------
Every transaction that locks more than one row takes its locks in this order, and each lock is the
weakest that keeps its invariant, so no two transactions can wait on each other in a cycle
(PostgreSQL would abort one with ``deadlock detected``). Helpers: ``shared/projects/locks.py``.

1. The project row.
   - ``FOR NO KEY UPDATE`` by the project-wide writers: a new script version (its number) and
     ``extract/confirm`` (one reconciliation at a time). They serialize among themselves but do
     not block the ``FOR KEY SHARE`` that every insert referencing the project takes (jobs,
     attempts, assets). Confirm took ``FOR UPDATE`` before, which blocks that key-share: an image
     job holding an asset lock and inserting its attempt then waited on confirm, which waited on
     the asset -> deadlock.
   - ``FOR KEY SHARE`` by writers that insert rows referencing the project while holding an asset
     lock (``add_attempt``): taken explicitly *before* the asset lock, so a project delete
     (``FOR UPDATE`` then cascading into the assets) is waited for, never crossed.
   - ``FOR UPDATE`` only by ``DELETE`` of the project (implicit).
   Never lock the project while holding an asset lock.
2. Asset rows (``project_assets``), several in ascending id order (``merge_assets``,
   ``lock_project_for_confirm``). ``FOR UPDATE`` where the row may be deleted (merge, delete,
   confirm); ``FOR NO KEY UPDATE`` for carousel writes (``add_attempt``), which still conflicts
   with the former and with itself but lets scene links referencing the asset be inserted.
3. Rows under one asset: its attempts (cap, selection, numbering; the numbering trigger re-locks
   the asset row the writer already holds) and its scene links.
4. Job rows: status updates by the runner (plain UPDATE, i.e. NO KEY UPDATE), referenced by
   attempts (KEY SHARE): compatible, so jobs never wait on carousel writers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from shared.config import Settings


def create_engine(
    settings: Settings, *, pool_size: int | None = None, socket_ping: bool = False
) -> AsyncEngine:
    """The process's engine. Connections that died with a database restart are replaced on
    checkout, so the pool recovers without a process restart (see ``_check_on_checkout``).
    ``socket_ping`` (workers) relies on the driver's view of the socket alone; the API also pings
    a connection that sat idle. Short connect and pool timeouts make a database outage a quick 503,
    not a request hanging for the client's patience."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=5,
        pool_timeout=settings.database_pool_timeout_s,
        connect_args={
            "server_settings": {"application_name": "filmassets"},
            "timeout": settings.database_connect_timeout_s,
        },
    )
    _check_on_checkout(engine, None if socket_ping else settings.database_ping_after_idle_s)
    return engine


def _check_on_checkout(engine: AsyncEngine, ping_after_idle_s: float | None) -> None:
    """SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and its asyncpg dialect wraps the
    ping in BEGIN/ROLLBACK: three round trips and ~0.1-0.2 ms of CPU per request or job step.
    Instead, on checkout:

    - a connection whose socket the server closed (a restart closes every connection) is dropped:
      the driver knows it without a round trip;
    - with ``ping_after_idle_s``, a connection that sat idle in the pool longer than that is pinged
      too (one that was checked in a moment ago was just working).

    A connection that dies unnoticed fails its request's own statement, which is a 503 and
    invalidates the pool (``services/api/outages.py``) or a retried job, as dying mid-use would."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("the server closed this connection")
        if ping_after_idle_s is None:
            return
        at = record.info.get(_CHECKED_IN_AT)
        if at is not None and time.monotonic() - at < ping_after_idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one (up to three tries).
            raise DisconnectionError("pre-ping failed") from exc


_CHECKED_IN_AT = "filmassets.checked_in_at"


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
