"""``JobRun``: what a handler gets. The claimed row's identity, its validated payload, the worker's
context, and the few things a handler does to its row: report progress, record spend as it
happens, and mark itself succeeded inside its own domain transaction.

A job that waits on a provider (a message batch that answers within hours) does not hold a worker
slot meanwhile: it calls ``run.wait_and_retry(defer_s, message, checkpoint)``, the row goes back
to ``queued`` with that message and checkpoint, and a later delivery reads ``run.checkpoint``.
Such waits are counted apart (``run.polls``) so they never use up the job's tries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, NoReturn, TypeVar

import structlog
from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import session_scope
from shared.db_raw import RawQuery, driver_connection
from shared.jobs.context import WorkerContext
from shared.jobs.kinds import KindName
from shared.llm.client import LLMCall
from shared.models import Job, LLMCallRecord

log = structlog.get_logger()

P = TypeVar("P", bound=BaseModel)

_jobs = Job.__table__.c
# The runner's writes to its own row, built once: each is one statement with parameters, run
# outside the ORM session machinery (nothing to synchronise: no session holds the row), on the
# driver connection (shared/db_raw.py): every job makes at least two, and SQLAlchemy's connection,
# execution context and result around each cost several times the statement itself.
MINE = (Job.id == bindparam("job_id")) & (Job.status == "running") & (Job.tries == bindparam("fence_tries"))
_PROGRESS = RawQuery.of(
    update(Job)
    .where(MINE)
    .values(
        progress=bindparam("fraction", type_=_jobs.progress.type),
        progress_message=bindparam("message", type_=_jobs.progress_message.type),
        heartbeat_at=bindparam("now", type_=_jobs.heartbeat_at.type),
        updated_at=bindparam("now", type_=_jobs.updated_at.type),
    )
    .returning(Job.id)
)
_COMPLETE = RawQuery.of(
    update(Job)
    .where(MINE)
    .values(
        status="succeeded",
        progress=1.0,
        progress_message=None,
        result=bindparam("result", type_=_jobs.result.type),
        error=None,
        finished_at=bindparam("now", type_=_jobs.finished_at.type),
        updated_at=bindparam("now", type_=_jobs.updated_at.type),
    )
    .returning(Job.id)
)


async def write_row(ctx: WorkerContext, query: RawQuery, params: dict[str, Any]) -> Any | None:
    """One statement on its own, committed as it runs (asyncpg outside a transaction: no
    BEGIN/COMMIT round trips): for a write that is atomic by itself. Its first row (an asyncpg
    ``Record``), if it returns any. A database outage raises ``ConnectionError`` (``is_outage``)."""
    async with driver_connection(ctx.engine) as conn:
        return await query.fetchrow(conn, **params)


class JobCancelled(Exception):
    """The row left ``running`` for this delivery (cancelled by the user, or taken over by another
    delivery after this worker was presumed dead) while the handler worked."""


class TransientJobError(Exception):
    """An upstream hiccup worth another delivery later (arq ``Retry``)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class JobWaiting(Exception):
    """Raised by :meth:`JobRun.wait_and_retry`; the runner re-queues the row and defers it."""

    def __init__(self, defer_s: float, message: str, checkpoint: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.defer_s = defer_s
        self.message = message
        self.checkpoint = checkpoint


@dataclass(eq=False)
class JobRun(Generic[P]):
    id: uuid.UUID
    kind: KindName
    payload: P
    owner_id: uuid.UUID
    project_id: uuid.UUID | None
    tries: int  # the fencing token: writes of an older delivery of this job are refused
    ctx: WorkerContext
    completed: bool = False
    checkpoint: dict[str, Any] | None = None  # what the previous delivery left (wait_and_retry)
    polls: int = 0  # deliveries of this job that only waited: not failures
    _spend: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.ctx.sessions

    def transaction(self) -> Any:
        """One domain transaction; jobs it starts are enqueued after it commits."""
        return session_scope(self.ctx.sessions)

    def _mine(self) -> Any:
        return (Job.id == self.id) & (Job.status == "running") & (Job.tries == self.tries)

    def _mine_params(self) -> dict[str, Any]:
        """The parameters of ``MINE``."""
        return {"job_id": self.id, "fence_tries": self.tries}

    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Record progress (also a heartbeat); raises ``JobCancelled`` when the row is no longer
        this delivery's."""
        fraction = max(0.0, min(1.0, fraction))
        params = {"fraction": fraction, "message": message, "now": datetime.now(UTC), **self._mine_params()}
        if await write_row(self.ctx, _PROGRESS, params) is None:
            raise JobCancelled(str(self.id))
        await self.ctx.events.job(
            {
                "id": str(self.id),
                "kind": self.kind,
                "project_id": str(self.project_id) if self.project_id else None,
                "status": "running",
                "progress": fraction,
                "message": message,
            },
        )

    @property
    def failed_tries(self) -> int:
        """Deliveries that were not mere waits: what retry budgets count."""
        return self.tries - self.polls

    def wait_and_retry(self, defer_s: float, message: str, checkpoint: dict[str, Any] | None) -> NoReturn:
        """Give the worker slot back and come back in ``defer_s``: the row returns to ``queued``
        showing ``message``, with ``checkpoint`` for the next delivery (``run.checkpoint``)."""
        raise JobWaiting(defer_s, message, checkpoint)

    # --- spend, recorded as it happens so a killed job's calls are still billed

    def record_llm(self, call: LLMCall) -> None:
        self._write_spend(call=call)

    def add_cost(self, usd: float) -> None:
        """Spend that is not an LLM call (an image generation)."""
        if usd:
            self._write_spend(usd=usd)

    def _write_spend(self, *, call: LLMCall | None = None, usd: float = 0.0) -> None:
        task = asyncio.get_running_loop().create_task(self._spend_row(call, usd))
        self._spend.add(task)
        task.add_done_callback(self._spend.discard)

    async def _spend_row(self, call: LLMCall | None, usd: float) -> None:
        try:
            async with session_scope(self.sessions) as session:
                values: dict[str, Any] = {}
                if call is not None:
                    session.add(LLMCallRecord.of(call, job_id=self.id, project_id=self.project_id))
                    u = call.usage
                    values = {
                        "input_tokens": Job.input_tokens + u.input_tokens,
                        "output_tokens": Job.output_tokens + u.output_tokens,
                        "cache_write_tokens": Job.cache_write_tokens + u.cache_creation_input_tokens,
                        "cache_read_tokens": Job.cache_read_tokens + u.cache_read_input_tokens,
                    }
                    usd = call.cost_usd
                values["cost_usd"] = Job.cost_usd + Decimal(str(round(usd, 6)))
                # Not guarded on status: money spent counts whatever became of the job.
                await session.execute(update(Job).where(Job.id == self.id).values(**values))
        except Exception as exc:
            log.warning("job.spend.write_failed", job_id=str(self.id), error=repr(exc))

    async def record_llm_once(self, calls: Mapping[str, LLMCall]) -> int:
        """Record each call unless one under its key already was (by this or an earlier delivery of
        the job), in one transaction with the list of recorded keys; returns how many were new.

        For answers that can be read again after a crash (a batch's results): reading them twice
        must not bill them twice. The row lock makes two deliveries alive at once agree too."""
        if not calls:
            return 0
        async with session_scope(self.sessions) as session:
            saved = await session.scalar(select(Job.checkpoint).where(Job.id == self.id).with_for_update())
            saved = dict(saved or {})
            billed = set(saved.get("billed", []))
            new = {k: c for k, c in calls.items() if k not in billed}
            if not new:
                return 0
            for call in new.values():
                session.add(LLMCallRecord.of(call, job_id=self.id, project_id=self.project_id))
            usages = [c.usage for c in new.values()]
            saved["billed"] = sorted(billed | set(new))
            # Not guarded on status: money spent counts whatever became of the job.
            await session.execute(
                update(Job)
                .where(Job.id == self.id)
                .values(
                    checkpoint=saved,
                    input_tokens=Job.input_tokens + sum(u.input_tokens for u in usages),
                    output_tokens=Job.output_tokens + sum(u.output_tokens for u in usages),
                    cache_write_tokens=Job.cache_write_tokens
                    + sum(u.cache_creation_input_tokens for u in usages),
                    cache_read_tokens=Job.cache_read_tokens + sum(u.cache_read_input_tokens for u in usages),
                    cost_usd=Job.cost_usd + Decimal(str(round(sum(c.cost_usd for c in new.values()), 6))),
                )
            )
        return len(new)

    async def spend_written(self) -> None:
        if self._spend:
            await asyncio.gather(*list(self._spend), return_exceptions=True)

    # --- the outcome

    async def complete(self, session: AsyncSession, result: BaseModel) -> None:
        """Mark the job succeeded inside the caller's transaction, so the domain writes and the
        status commit together. Raises ``JobCancelled`` (rolling the writes back) when the row is no
        longer this delivery's."""
        now = datetime.now(UTC)
        done = await session.scalar(
            update(Job)
            .where(self._mine())
            .values(
                status="succeeded",
                progress=1.0,
                progress_message=None,
                result=result.model_dump(mode="json"),
                error=None,
                finished_at=now,
                updated_at=now,
            )
            .returning(Job.id)
        )
        if done is None:
            raise JobCancelled(str(self.id))
        self.completed = True

    async def complete_alone(self, result: BaseModel) -> None:
        """``complete`` for a handler that wrote nothing else: the status write is then the whole
        transaction, one statement on its own."""
        params = {"result": result.model_dump(mode="json"), "now": datetime.now(UTC), **self._mine_params()}
        if await write_row(self.ctx, _COMPLETE, params) is None:
            raise JobCancelled(str(self.id))
        self.completed = True
