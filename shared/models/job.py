from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.jobs.kinds import JOB_STATUSES, TERMINAL_STATUSES, JobStatus, KindName
from shared.models.base import Base, created_at_col, enum_check, updated_at_col, uuid_pk

if TYPE_CHECKING:
    from shared.llm.client import LLMCall

__all__ = ["JOB_STATUSES", "TERMINAL_STATUSES", "Batch", "IdempotencyKey", "Job", "LLMCallRecord"]


class Batch(Base):
    """Jobs started together by one bulk action (generate-all, generate-views), followed and
    cancelled as one. Its status, counts and progress are always computed from its jobs, never stored."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_project_created", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[uuid.UUID]
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_col()


class Job(Base):
    """The source of truth for slow work (transactional outbox): written with the domain change,
    enqueued to arq after commit with ``_job_id = id``, re-enqueued by the relay if that failed."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(enum_check("status", JOB_STATUSES), name="status"),
        # The relay scans only queued rows, the reaper only running ones.
        Index("ix_jobs_queued", "queue", "created_at", postgresql_where=text("status = 'queued'")),
        Index("ix_jobs_running", "heartbeat_at", postgresql_where=text("status = 'running'")),
        Index("ix_jobs_project_kind", "project_id", "kind", "created_at"),
        # A project's job list, newest first, and a batch's jobs.
        Index("ix_jobs_project_created", "project_id", "created_at"),
        Index("ix_jobs_batch", "batch_id", postgresql_where=text("batch_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[KindName] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[uuid.UUID]
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    status: Mapped[JobStatus] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=5)
    request_id: Mapped[str | None] = mapped_column(String(64))
    # What a job that waits on a provider keeps between its deliveries (see JobRun.checkpoint):
    # {"state": handler's own, "polls": deliveries that only waited, "billed": spend keys recorded}.
    checkpoint: Mapped[dict[str, Any] | None]
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written by the running delivery every few seconds; a stale one means its worker died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class LLMCallRecord(Base):
    """One LLM call's tokens and cost, for job and project cost reports."""

    __tablename__ = "llm_calls"

    id: Mapped[uuid.UUID] = uuid_pk()
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    model: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_col()

    @classmethod
    def of(cls, call: LLMCall, *, job_id: uuid.UUID | None, project_id: uuid.UUID | None) -> LLMCallRecord:
        """The row of one LLM call (the client's ``LLMCall`` is the one in-memory shape)."""
        u = call.usage
        return cls(
            job_id=job_id,
            project_id=project_id,
            model=call.model,
            purpose=call.purpose,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_write_tokens=u.cache_creation_input_tokens,
            cache_read_tokens=u.cache_read_input_tokens,
            cost_usd=Decimal(str(round(call.cost_usd, 6))),
            latency_ms=call.latency_ms,
        )


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key``, scoped to its owner and the request (method + path), and the
    first answer given to it. The row is inserted when the request starts, so a concurrent repeat
    waits on the unique key and then replays the answer instead of doing the work twice."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("owner_id", "scope", "key"),)

    owner_id: Mapped[uuid.UUID]
    scope: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None]
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at_col()
