"""The worker side of a job: claim the row, run the handler, write the outcome exactly once.

A handler receives a ``JobRun``. Slow external work (LLM calls, image generation, uploads to storage)
happens outside any transaction; the handler then opens one transaction for its domain writes and
calls ``run.complete(session, result)`` inside it, so results and the ``succeeded`` status commit
together. ``complete`` is guarded on ``status = 'running'``: a job cancelled meanwhile rolls the
domain writes back. A second delivery of a finished job finds a terminal row and does nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from arq.worker import Retry
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import session_scope
from shared.errors import AppError, UpstreamUnavailable
from shared.jobs import events
from shared.jobs.kinds import KINDS
from shared.models import TERMINAL_STATUSES, Job, LLMCallRecord

log = structlog.get_logger()


class JobCancelled(Exception):
    """The row left ``running`` (cancelled by the user) while the handler worked."""


class TransientJobError(Exception):
    """An upstream hiccup worth another delivery later (arq ``Retry``)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class LLMUsage:
    model: str
    purpose: str
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: float
    latency_ms: int


@dataclass
class JobRun:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    owner_id: uuid.UUID
    project_id: uuid.UUID | None
    tries: int
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    ctx: dict[str, Any]
    llm_calls: list[LLMUsage] = field(default_factory=list)
    extra_cost_usd: float = 0.0  # non-LLM spend (image generations), added to the job's cost
    completed: bool = False

    async def progress(self, fraction: float, message: str | None = None) -> None:
        fraction = max(0.0, min(1.0, fraction))
        async with session_scope(self.sessions) as session:
            status = await session.scalar(
                update(Job)
                .where(Job.id == self.id, Job.status == "running")
                .values(progress=fraction, updated_at=datetime.now(UTC))
                .returning(Job.status)
            )
        if status is None:
            raise JobCancelled(str(self.id))
        await events.publish(
            self.redis,
            self.id,
            {
                "id": str(self.id),
                "kind": self.kind,
                "status": "running",
                "progress": fraction,
                "message": message,
            },
        )

    async def check_cancelled(self) -> None:
        async with self.sessions() as session:
            status = await session.scalar(select(Job.status).where(Job.id == self.id))
        if status != "running":
            raise JobCancelled(str(self.id))

    def record_llm(self, usage: LLMUsage) -> None:
        self.llm_calls.append(usage)

    def add_cost(self, usd: float) -> None:
        """Record spend that is not an LLM call (an image generation), billed even if the job fails."""
        self.extra_cost_usd += usd

    async def complete(self, session: AsyncSession, result: dict[str, Any] | None = None) -> None:
        """Mark the job succeeded inside the caller's transaction (guarded on ``running``)."""
        await self._write_accounting(session)
        now = datetime.now(UTC)
        done = await session.scalar(
            update(Job)
            .where(Job.id == self.id, Job.status == "running")
            .values(
                status="succeeded",
                progress=1.0,
                result=result or {},
                error=None,
                finished_at=now,
                updated_at=now,
                **self._totals(),
            )
            .returning(Job.id)
        )
        if done is None:
            raise JobCancelled(str(self.id))
        self.completed = True

    def _totals(self) -> dict[str, Any]:
        return {
            "input_tokens": Job.input_tokens + sum(c.input_tokens for c in self.llm_calls),
            "output_tokens": Job.output_tokens + sum(c.output_tokens for c in self.llm_calls),
            "cache_write_tokens": Job.cache_write_tokens + sum(c.cache_write_tokens for c in self.llm_calls),
            "cache_read_tokens": Job.cache_read_tokens + sum(c.cache_read_tokens for c in self.llm_calls),
            "cost_usd": Job.cost_usd
            + Decimal(str(round(sum(c.cost_usd for c in self.llm_calls) + self.extra_cost_usd, 6))),
        }

    async def _write_accounting(self, session: AsyncSession) -> None:
        for c in self.llm_calls:
            session.add(
                LLMCallRecord(
                    job_id=self.id,
                    project_id=self.project_id,
                    model=c.model,
                    purpose=c.purpose,
                    input_tokens=c.input_tokens,
                    output_tokens=c.output_tokens,
                    cache_write_tokens=c.cache_write_tokens,
                    cache_read_tokens=c.cache_read_tokens,
                    cost_usd=Decimal(str(round(c.cost_usd, 6))),
                    latency_ms=c.latency_ms,
                )
            )
        await session.flush()


Handler = Callable[[JobRun], Awaitable[dict[str, Any] | None]]


async def _claim(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> Job | None:
    # 'running' is claimable too: that is a redelivery after the previous worker died mid-job
    # (arq only redelivers once that worker's in-progress key expired, so two never overlap).
    async with session_scope(sessions) as session:
        now = datetime.now(UTC)
        return await session.scalar(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(status="running", tries=Job.tries + 1, started_at=now, updated_at=now, error=None)
            .returning(Job)
        )


async def _finish(run: JobRun, *, status: str, error: dict[str, Any] | None) -> None:
    now = datetime.now(UTC)
    async with session_scope(run.sessions) as session:
        await run._write_accounting(session)  # tokens are billed even when the job fails
        values: dict[str, Any] = {"status": status, "error": error, "updated_at": now, **run._totals()}
        if status != "queued":
            values["finished_at"] = now
        await session.execute(update(Job).where(Job.id == run.id, Job.status == "running").values(**values))
    run.llm_calls.clear()
    run.extra_cost_usd = 0.0
    await events.publish(
        run.redis, run.id, {"id": str(run.id), "kind": run.kind, "status": status, "error": error}
    )


async def _record_spend(run: JobRun) -> None:
    """Spend of a job cancelled mid-flight: its row is no longer ``running``, but the tokens and
    images were still billed, so they still count."""
    if not run.llm_calls and not run.extra_cost_usd:
        return
    async with session_scope(run.sessions) as session:
        await run._write_accounting(session)
        await session.execute(update(Job).where(Job.id == run.id).values(**run._totals()))
    run.llm_calls.clear()
    run.extra_cost_usd = 0.0


async def run_job(ctx: dict[str, Any], job_id: str, handler: Handler) -> str:
    """Entry point every arq function delegates to. Returns the final status (for arq's logs)."""
    settings: Settings = ctx["settings"]
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    jid = uuid.UUID(job_id)
    job = await _claim(sessions, jid)
    if job is None:
        async with sessions() as session:
            status = await session.scalar(select(Job.status).where(Job.id == jid))
        log.info("job.claim.skipped", job_id=job_id, status=status or "missing")
        return status or "missing"
    spec = KINDS[job.kind]
    structlog.contextvars.bind_contextvars(job_id=job_id, job_kind=job.kind, request_id=job.request_id)
    run = JobRun(
        id=jid,
        kind=job.kind,
        payload=job.payload,
        owner_id=job.owner_id,
        project_id=job.project_id,
        tries=job.tries,
        settings=settings,
        sessions=sessions,
        redis=ctx["redis"],
        ctx=ctx,
    )
    await events.publish(
        run.redis, jid, {"id": job_id, "kind": job.kind, "status": "running", "progress": 0.0}
    )
    log.info("job.run.started", tries=job.tries)
    try:
        async with asyncio.timeout(spec.timeout_s or settings.job_timeout_s):
            result = await handler(run)
            if not run.completed:
                async with session_scope(sessions) as session:
                    await run.complete(session, result)
        await events.publish(
            run.redis,
            jid,
            {"id": job_id, "kind": job.kind, "status": "succeeded", "progress": 1.0, "result": result},
        )
        log.info("job.run.succeeded")
        return "succeeded"
    except JobCancelled:
        log.info("job.run.cancelled")
        await _record_spend(run)
        await events.publish(run.redis, jid, {"id": job_id, "kind": job.kind, "status": "cancelled"})
        return "cancelled"
    except (TransientJobError, UpstreamUnavailable) as exc:
        retry_after = exc.retry_after_s if isinstance(exc, TransientJobError) else None
        if job.tries <= settings.job_transient_retries:
            defer = retry_after or settings.job_retry_defer_s * job.tries
            log.warning("job.run.retrying", error=str(exc), defer_s=defer)
            await _finish(
                run, status="queued", error={"code": "upstream_unavailable", "message": f"retrying: {exc}"}
            )
            raise Retry(defer=defer) from exc
        await _finish(run, status="failed", error={"code": "upstream_unavailable", "message": str(exc)})
        log.warning("job.run.failed", code="upstream_unavailable", error=str(exc))
        return "failed"
    except AppError as exc:
        await _finish(
            run, status="failed", error={"code": exc.code, "message": exc.message, "details": exc.details}
        )
        log.info("job.run.failed", code=exc.code, error=exc.message)
        return "failed"
    except TimeoutError:
        await _finish(run, status="failed", error={"code": "job_timeout", "message": "The job ran too long"})
        log.warning("job.run.failed", code="job_timeout")
        return "failed"
    except Exception as exc:
        log.exception("job.run.crashed")
        await _finish(
            run,
            status="failed",
            error={"code": "internal_error", "message": f"Unexpected error: {type(exc).__name__}"},
        )
        return "failed"
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "job_kind", "request_id")


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
