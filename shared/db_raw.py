"""Polled reads on the driver connection: statements compiled once from their SQLAlchemy Core
definition, run by asyncpg directly, outside any transaction.

Why: a read the frontend polls (a carousel, a scene's assets, a timeline) returns a few rows, so
the fixed cost around its statements is most of its CPU. Measured per request on this machine
(``bench/profile_api.py``): an ``AsyncSession`` costs ~0.35 ms for its checkout, BEGIN, COMMIT and
close, and ~0.11-0.15 ms per statement (greenlet hop, ORM execution context, result wrapping),
against ~0.02 ms for the same statement on the asyncpg connection.

- The schema stays in one place: each ``RawQuery`` is a ``select()`` over the models, compiled
  once with the asyncpg dialect (the same SQL SQLAlchemy would send, bind casts included).
- No transaction: at PostgreSQL's READ COMMITTED each statement sees its own snapshot, inside a
  transaction or not, so BEGIN/COMMIT around reads only cost round trips. A read that needs one
  snapshot over several tables asks for it in one statement.
- The connection is checked out of the engine's pool (one pool, its checkout checks included) and
  SQLAlchemy never starts a transaction on it, so returning it costs nothing.
- Result values are asyncpg's with the codecs SQLAlchemy's dialect installs on each connection:
  json/jsonb decoded, numeric as ``Decimal``, uuid as asyncpg's UUID (a ``uuid.UUID``).
- Parameters go through the dialect's bind processors, as SQLAlchemy would send them: a JSON
  column's value is serialized by the type (``None`` too, as JSON ``null``: ``none_as_null`` is
  off) and the codec on the connection only encodes that text.

The job runner's one-statement writes to its own row (claim, heartbeat, progress, outcome) run the
same way: each is atomic by itself, so autocommit is all they need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import greenlet_spawn

from shared.db import is_outage

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class RawQuery:
    """A statement compiled once: its SQL and the order its named parameters take."""

    sql: str
    names: tuple[str, ...]
    # Values fixed when the statement was built (a ``.limit(1)``, a literal in a function call).
    fixed: tuple[tuple[str, Any], ...] = ()
    # The dialect's bind processors by position, where a type has one (JSON serializes its value).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...] = ()

    @classmethod
    def of(cls, statement: ClauseElement) -> RawQuery:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        # Expanding (IN) parameters are rendered per call by SQLAlchemy: write ``= ANY(:list)``.
        if any(b.expanding for b in compiled.binds.values()):
            raise ValueError("RawQuery needs a statement without expanding IN parameters")
        names = tuple(compiled.positiontup or ())
        fixed = tuple(
            (name, bind.effective_value)
            for name in names
            if not (bind := compiled.binds[name]).required and bind.callable is None
        )
        processors = tuple(
            (i, processor)
            for i, name in enumerate(names)
            if (processor := compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
        )
        return cls(str(compiled), names, fixed, processors)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        if self.fixed:
            params = {**dict(self.fixed), **params}
        args = [params[name] for name in self.names]
        for i, process in self.processors:
            args[i] = process(args[i])
        return args

    async def fetch(self, conn: Any, **params: Any) -> Sequence[Any]:
        """asyncpg ``Record`` rows (index or key access)."""
        try:
            return await conn.fetch(self.sql, *self.args(params))  # type: ignore[no-any-return]
        except Exception as exc:
            _raise_outage(exc)
            raise

    async def fetchrow(self, conn: Any, **params: Any) -> Any | None:
        """The first row (an asyncpg ``Record``), or None: for a write with ``RETURNING``, None when
        no row matched; for one without, always None."""
        try:
            return await conn.fetchrow(self.sql, *self.args(params))
        except Exception as exc:
            _raise_outage(exc)
            raise


def _raise_outage(exc: Exception) -> None:
    """Raise an outage as a ``ConnectionError`` (a 503 in the API, a deferral in a worker): the raw
    driver error is not SQLAlchemy's. Any other error is the caller's to re-raise."""
    if is_outage(exc):
        raise ConnectionError(f"database unavailable: {exc!r}") from exc


def _lost(conn: Any, exc: Exception) -> bool:
    """The statement failed because the connection is gone: an outage (``ConnectionError``), or
    asyncpg's ``InterfaceError: connection is closed`` for a connection that closed under it, which
    by its type alone is indistinguishable from a misuse of the driver. Any other error (the
    caller's own ``Fallback``, a not-found) stays what it is, closed connection or not."""
    if isinstance(exc, ConnectionError):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and bool(conn.is_closed())


def _raise_lost(exc: Exception) -> None:
    if not isinstance(exc, ConnectionError):
        raise ConnectionError(f"database connection lost: {exc!r}") from exc


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """asyncpg's connection, checked out of the engine's pool for one use and returned after it.
    The pool's own checkout (its checkout checks included) without SQLAlchemy's ``AsyncConnection``
    and ``Connection`` around it: those cost ~0.05 ms more per use (three greenlet switches and a
    task to shield the close, against two switches), paid on every lean read and job step. A failed
    checkout (the database away) raises ``ConnectionError``, like a failed statement; a connection
    that failed mid-use is invalidated (closed and replaced), as SQLAlchemy does."""
    try:
        # In a greenlet: opening a new connection awaits the driver.
        fairy = await greenlet_spawn(engine.sync_engine.raw_connection)
    except Exception as exc:
        _raise_outage(exc)
        raise
    try:
        yield fairy.driver_connection
    except Exception as exc:
        if _lost(fairy.driver_connection, exc):
            await greenlet_spawn(fairy.invalidate, exc)  # closes it and returns the slot to the pool
            _raise_lost(exc)
        raise
    finally:
        if fairy.dbapi_connection is not None:
            await greenlet_spawn(fairy.close)
