"""The worker side of a job: claim the row, keep it alive, run the handler, write the outcome once.

Slow external work (LLM calls, image generation, uploads to storage) happens outside any
transaction; the handler then opens one transaction for its domain writes and calls
``run.complete(session, result)`` inside it, so results and the ``succeeded`` status commit together.

Every claim adds one to ``tries``, and every write of a delivery is guarded on ``status = 'running'``
and its own ``tries``: a cancelled job, or one taken over by a later delivery after this worker was
presumed dead, rolls its writes back. While the handler runs, a heartbeat stamps the row every
``job_heartbeat_s``; the relay re-delivers a running job whose heartbeat is older than
``job_dead_after_s`` (see relay.py), and the heartbeat stops a handler whose row is no longer its.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from arq.constants import retry_key_prefix
from arq.worker import Retry
from sqlalchemy import String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from shared.db import is_outage, session_scope
from shared.db_raw import RawQuery
from shared.errors import AppError, UpstreamUnavailable
from shared.jobs.context import WorkerContext
from shared.jobs.kinds import ACTIVE_STATUSES, JobStatus
from shared.jobs.registry import JobKind
from shared.jobs.run import MINE, JobCancelled, JobRun, JobWaiting, TransientJobError, write_row
from shared.models import Job

log = structlog.get_logger()


_jobs = Job.__table__.c
# 'running' is claimable too: that is a redelivery after the previous worker died mid-job.
# ``= ANY(array)`` is what PostgreSQL makes of ``IN (...)``; written so, it compiles once.
_ACTIVE = bindparam("active", list(ACTIVE_STATUSES), type_=ARRAY(String))
_CLAIM = RawQuery.of(
    update(Job)
    .where(Job.id == bindparam("job_id"), Job.status == any_(_ACTIVE))
    .values(
        status="running",
        tries=Job.tries + 1,
        started_at=bindparam("now", type_=_jobs.started_at.type),
        heartbeat_at=bindparam("now", type_=_jobs.heartbeat_at.type),
        updated_at=bindparam("now", type_=_jobs.updated_at.type),
        error=None,
    )
    .returning(Job.kind, Job.owner_id, Job.project_id, Job.tries, Job.payload, Job.checkpoint, Job.request_id)
)
_HEARTBEAT = RawQuery.of(
    update(Job)
    .where(MINE)
    .values(heartbeat_at=bindparam("now", type_=_jobs.heartbeat_at.type))
    .returning(Job.id)
)


async def _claim(ctx: WorkerContext, job_id: uuid.UUID) -> Any | None:
    """One guarded UPDATE ... RETURNING, atomic on its own: the row is this delivery's (its
    ``tries`` is the fencing token) or nobody's."""
    return await write_row(ctx, _CLAIM, {"job_id": job_id, "now": datetime.now(UTC)})


def _outcome(*, finished: bool) -> RawQuery:
    values: dict[str, Any] = {
        "status": bindparam("status", type_=_jobs.status.type),
        "error": bindparam("error", type_=_jobs.error.type),
        "updated_at": bindparam("now", type_=_jobs.updated_at.type),
        "progress_message": None,
    }
    if finished:
        values["finished_at"] = bindparam("now", type_=_jobs.finished_at.type)
    return RawQuery.of(update(Job).where(MINE).values(**values))


# A failure ends the job; a retry puts it back to 'queued', unfinished.
_FAILED, _REQUEUED = _outcome(finished=True), _outcome(finished=False)


async def _finish(run: JobRun[Any], *, status: JobStatus, error: dict[str, Any] | None) -> None:
    params = {"status": status, "error": error, "now": datetime.now(UTC), **run._mine_params()}
    await write_row(run.ctx, _REQUEUED if status == "queued" else _FAILED, params)
    await _publish(run, status, error=error)


async def _publish(run: JobRun[Any], status: str, **extra: Any) -> None:
    await run.ctx.events.job(
        {
            "id": str(run.id),
            "kind": run.kind,
            "project_id": str(run.project_id) if run.project_id else None,
            "status": status,
            **extra,
        },
    )


class _Heartbeat:
    """Stamp the row every ``job_heartbeat_s`` while the handler runs; stop the handler when the
    row is no longer this delivery's (cancelled, or re-delivered elsewhere). A database hiccup is
    not a reason to stop. A timer until the first beat is due, not a task: most jobs end before it
    and so cost no task at all."""

    def __init__(self, run: JobRun[Any], work: asyncio.Task[Any], lost: asyncio.Event) -> None:
        self.run, self.work, self.lost = run, work, lost
        self.every = run.settings.job_heartbeat_s
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = self.loop.call_later(self.every, self._due)
        self.task: asyncio.Task[None] | None = None

    def _due(self) -> None:
        self.timer = None
        self.task = self.loop.create_task(self._beat())

    async def _beat(self) -> None:
        try:
            mine = await write_row(
                self.run.ctx, _HEARTBEAT, {"now": datetime.now(UTC), **self.run._mine_params()}
            )
        except Exception as exc:
            log.warning("job.heartbeat.failed", error=repr(exc))
        else:
            if mine is None:
                self.lost.set()
                self.work.cancel()
                return
        self.timer = self.loop.call_later(self.every, self._due)

    async def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


async def run_job(ctx: WorkerContext, kind: JobKind[Any, Any], job_id: str) -> str:
    """Entry point of every arq function. Returns the final status (for arq's logs)."""
    jid = uuid.UUID(job_id)
    try:
        job = await _claim(ctx, jid)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("job.claim.deferred", job_id=job_id, error=repr(exc))
        raise Retry(defer=_outage_backoff(ctx.settings.job_retry_defer_s, 1)) from exc
    if job is None:
        async with ctx.sessions() as session:
            status = await session.scalar(select(Job.status).where(Job.id == jid))
        log.info("job.claim.skipped", job_id=job_id, status=status or "missing")
        return status or "missing"
    structlog.contextvars.bind_contextvars(job_id=job_id, job_kind=job["kind"], request_id=job["request_id"])
    checkpoint = job["checkpoint"] or {}
    run: JobRun[Any] = JobRun(
        id=jid,
        kind=job["kind"],
        payload=None,
        owner_id=job["owner_id"],
        project_id=job["project_id"],
        tries=job["tries"],
        ctx=ctx,
        checkpoint=checkpoint.get("state"),
        polls=int(checkpoint.get("polls", 0)),
    )
    try:
        try:
            run.payload = kind.read_payload(job["payload"])
        except ValueError as exc:
            await _finish(run, status="failed", error={"code": "invalid_payload", "message": str(exc)})
            log.warning("job.run.failed", code="invalid_payload")
            return "failed"
        await _publish(run, "running", progress=0.0)
        log.info("job.run.started", tries=run.tries)
        return await _run(run, kind)
    finally:
        await run.spend_written()
        structlog.contextvars.unbind_contextvars("job_id", "job_kind", "request_id")


async def _run(run: JobRun[Any], kind: JobKind[Any, Any]) -> str:
    settings = run.settings
    lost = asyncio.Event()
    work = asyncio.create_task(_handle(run, kind))
    beat = _Heartbeat(run, work, lost)
    try:
        async with asyncio.timeout(kind.timeout_s or settings.job_timeout_s):
            result = await work
        await _publish(run, "succeeded", progress=1.0, result=result)
        log.info("job.run.succeeded")
        return "succeeded"
    except (JobCancelled, asyncio.CancelledError) as exc:
        if isinstance(exc, asyncio.CancelledError) and not lost.is_set():
            raise  # the worker itself is stopping: the relay redelivers this job
        log.info("job.run.cancelled")
        await _publish(run, "cancelled")
        return "cancelled"
    except JobWaiting as exc:
        # The heartbeat must not see the row leave 'running' and take it for a cancel.
        await beat.stop()
        if not await _wait(run, exc):
            log.info("job.run.cancelled")
            await _publish(run, "cancelled")
            return "cancelled"
        await _publish(run, "queued", progress_message=exc.message)
        log.info("job.run.waiting", defer_s=exc.defer_s, message=exc.message)
        try:
            # arq counted this delivery as a try; a wait is not one, so polls never reach max_tries.
            await run.ctx.redis.decr(retry_key_prefix + str(run.id))
        except Exception as redis_exc:
            log.warning("job.run.wait_uncounted_failed", error=repr(redis_exc))
        raise Retry(defer=exc.defer_s) from None
    except (TransientJobError, UpstreamUnavailable) as exc:
        retry_after = exc.retry_after_s if isinstance(exc, TransientJobError) else None
        if run.failed_tries <= settings.job_transient_retries:
            defer = retry_after or settings.job_retry_defer_s * run.failed_tries
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
        if is_outage(exc):
            # The database went away mid-job: nothing of it committed. arq delivers it again later
            # (the row is still ours, 'running'; the next claim takes it over).
            log.warning("job.run.deferred", error=repr(exc))
            raise Retry(defer=_outage_backoff(settings.job_retry_defer_s, run.tries)) from exc
        log.exception("job.run.crashed")
        await _finish(
            run,
            status="failed",
            error={"code": "internal_error", "message": f"Unexpected error: {type(exc).__name__}"},
        )
        return "failed"
    finally:
        await beat.stop()


def _outage_backoff(base_s: float, attempt: int) -> float:
    """Deferral while the database is away: grows with the attempt, capped at 30 s."""
    return float(min(30.0, base_s * 2 ** min(attempt, 8)))


async def _wait(run: JobRun[Any], waiting: JobWaiting) -> bool:
    """Put the row back to ``queued`` with the handler's checkpoint and message, one more poll
    counted, and one more try allowed (so the reaper's ``tries >= max_tries`` budget is not spent by
    waits). False when the row is no longer this delivery's."""
    now = datetime.now(UTC)
    async with session_scope(run.sessions) as session:
        row = (await session.execute(select(Job.checkpoint).where(run._mine()).with_for_update())).first()
        if row is None:
            return False
        # Keep what other writers put there ("billed" keys of record_llm_once).
        checkpoint = {**(row.checkpoint or {}), "state": waiting.checkpoint, "polls": run.polls + 1}
        await session.execute(
            update(Job)
            .where(run._mine())
            .values(
                status="queued",
                checkpoint=checkpoint,
                max_tries=Job.max_tries + 1,
                progress_message=waiting.message,
                error=None,
                updated_at=now,
            )
        )
    return True


async def _handle(run: JobRun[Any], kind: JobKind[Any, Any]) -> dict[str, Any]:
    result = await kind.handler(run)
    if not run.completed:  # handlers without domain writes leave the status to us
        await run.complete_alone(result)
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped
