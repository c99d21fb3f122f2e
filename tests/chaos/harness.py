"""A bounded chaos run against the service's own processes.

The API runs in-process; two imagegen workers and one extractor run as real subprocesses against
a private Redis and the given database. Generations go to a slow fake image API and previews to a
slow fake Anthropic (seconds per call), so kills and Redis restarts land on running jobs. While the
jobs run, a random worker is SIGKILLed (and started again) every few seconds and Redis is restarted
empty now and then. At the end every job must have ended exactly once:

- lost: a job not finished when the run's time is up;
- duplicated: a generation with more than one attempt row (its effect applied twice);
- retried: jobs delivered more than once (killed mid-job, or lost by Redis);
- recovery: after each kill, how long until every job that was running has been picked up again
  or has finished (an upper bound of the time a dead worker's job waits).

Spend is recorded as it happens: LLM calls answered before a kill are still billed.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.auth import make_token
from shared.config import Settings
from shared.models import AssetAttempt, Job, LLMCallRecord
from tests.conftest import settings_env
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.image_server import FakeImagesServer
from tests.support.factories import SMALL_SCRIPT, create_asset, create_project, put_script, set_style
from tests.support.redis_server import PrivateRedis
from tests.support.workers import WorkerProcess

TERMINAL = {"succeeded", "failed", "cancelled"}


@dataclass(frozen=True)
class ChaosPlan:
    generations: int = 24
    pings: int = 8
    previews: int = 3
    kill_every_s: float = 3.0
    max_kills: int = 6
    redis_restarts: int = 1
    image_latency_s: float = 1.5
    llm_latency_s: float = 1.0
    time_limit_s: float = 120.0
    seed: int = 7


@dataclass
class ChaosReport:
    jobs: int = 0
    kills: int = 0
    redis_restarts: int = 0
    succeeded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    retried: int = 0
    recovery_s: list[float] = field(default_factory=list)
    llm_calls_answered: int = 0
    llm_calls_billed: int = 0
    images_answered: int = 0
    image_spend_usd: float = 0.0
    wall_s: float = 0.0
    lost_rows: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rec = self.recovery_s
        return [
            f"jobs {self.jobs}  succeeded {self.succeeded}  failed {dict(self.failed) or 0}",
            f"kills {self.kills}  redis restarts {self.redis_restarts}",
            f"lost {self.lost}  duplicated {self.duplicated}  retried {self.retried}",
            "recovery after a kill (s): "
            + (f"median {statistics.median(rec):.1f}  max {max(rec):.1f}  n={len(rec)}" if rec else "none"),
            f"LLM calls answered {self.llm_calls_answered}, billed {self.llm_calls_billed}; "
            f"images answered {self.images_answered}, image spend ${self.image_spend_usd:.2f}",
            f"wall {self.wall_s:.0f} s",
            *(f"  lost: {row}" for row in self.lost_rows),
        ]


def chaos_settings(
    base: Settings, redis: PrivateRedis, images: FakeImagesServer, llm: FakeAnthropic
) -> Settings:
    return base.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{redis.port}/0",
            "image_provider": "openai",
            "image_api_key": SecretStr(images.api_key),
            "image_base_url": images.base_url,
            "image_max_retries": 0,
            "image_base_side": 256,
            "thumbnail_side": 64,
            "anthropic_api_key": SecretStr(llm.api_key),
            "anthropic_base_url": llm.base_url,
            "llm_max_retries": 0,
            "llm_chunk_token_budget": 400,  # several calls per preview: kills land between them
            "attempt_cap": 32,  # nothing evicted: one attempt per generation proves "once"
            "job_heartbeat_s": 0.5,
            "job_dead_after_s": 3.0,
            "job_retry_defer_s": 0.5,
            "job_transient_retries": 5,
            "relay_interval_s": 1.0,
            "relay_min_age_s": 0.5,
            "imagegen_concurrency": 4,
            "extractor_concurrency": 4,
        }
    )


@asynccontextmanager
async def upstreams(plan: ChaosPlan) -> AsyncIterator[tuple[PrivateRedis, FakeImagesServer, FakeAnthropic]]:
    redis = PrivateRedis()
    redis.start()
    images = FakeImagesServer(latency_s=plan.image_latency_s).start()
    llm = FakeAnthropic(latency_base_s=plan.llm_latency_s).start()
    try:
        yield redis, images, llm
    finally:
        llm.stop()
        images.stop()
        redis.stop()


async def run_chaos(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    redis: PrivateRedis,
    images: FakeImagesServer,
    llm: FakeAnthropic,
    plan: ChaosPlan,
) -> ChaosReport:
    rng = random.Random(plan.seed)
    report = ChaosReport()
    started = time.monotonic()
    auth = {"Authorization": f"Bearer {make_token(settings, sub=uuid.uuid4())}"}
    app = create_app(settings)
    env = settings_env(settings)
    workers = {
        "imagegen-1": WorkerProcess("imagegen", env),
        "imagegen-2": WorkerProcess("imagegen", env),
        "extractor": WorkerProcess("extractor", env),
    }
    job_ids: list[str] = []
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chaos") as c,
        ):
            pid = str((await create_project(c, auth))["id"])
            await set_style(c, auth, pid)
            assert (await put_script(c, auth, pid, SMALL_SCRIPT * 4)).status_code == 201
            assets = [str((await create_asset(c, auth, pid, name=f"Prop {i}"))["id"]) for i in range(6)]
            for i in range(plan.generations):
                r = await c.post(
                    f"/v1/projects/{pid}/assets/{assets[i % len(assets)]}/attempts/generate", headers=auth
                )
                job_ids.append(r.json()["job"]["id"])
            for _ in range(plan.pings):
                r = await c.post("/v1/jobs/ping", json={"hold_ms": 2500}, headers=auth)
                job_ids.append(r.json()["job"]["id"])
            for _ in range(plan.previews):
                r = await c.post(f"/v1/projects/{pid}/extract/preview", headers=auth)
                job_ids.append(r.json()["job"]["id"])
            report.jobs = len(job_ids)

            restarts_at = sorted(rng.uniform(4, plan.time_limit_s / 3) for _ in range(plan.redis_restarts))
            next_kill = time.monotonic() + plan.kill_every_s
            watching: list[tuple[float, dict[uuid.UUID, int]]] = []
            while time.monotonic() - started < plan.time_limit_s:
                rows = await _rows(sessions, job_ids)
                now = time.monotonic()
                for t_kill, running in list(watching):
                    if all(
                        rows[j].status in TERMINAL or rows[j].tries > tries for j, tries in running.items()
                    ):
                        report.recovery_s.append(now - t_kill)
                        watching.remove((t_kill, running))
                if all(r.status in TERMINAL for r in rows.values()) and not watching:
                    break
                if restarts_at and now - started >= restarts_at[0]:
                    restarts_at.pop(0)
                    redis.stop()
                    await asyncio.sleep(1.5)
                    redis.start()
                    report.redis_restarts += 1
                running = {j: r.tries for j, r in rows.items() if r.status == "running"}
                # Kill only while jobs run, so every kill lands on work in flight (a loaded machine
                # starts workers slowly: killing idle ones would only measure start-up).
                if now >= next_kill and running and report.kills < plan.max_kills:
                    name = rng.choice(sorted(workers))
                    workers[name].kill()
                    report.kills += 1
                    workers[name] = WorkerProcess(name.split("-")[0], env)
                    watching.append((time.monotonic(), running))
                    next_kill = time.monotonic() + plan.kill_every_s
                await asyncio.sleep(0.2)
    finally:
        for w in workers.values():
            w.stop()
    report.wall_s = time.monotonic() - started
    rows = await _rows(sessions, job_ids)
    for row in rows.values():
        if row.status == "succeeded":
            report.succeeded += 1
        elif row.status in TERMINAL:
            report.failed[(row.error or {}).get("code", row.status)] += 1
        else:
            report.lost += 1
            report.lost_rows.append(
                f"{row.kind} {row.status} tries={row.tries} enqueued_at={row.enqueued_at} "
                f"heartbeat_at={row.heartbeat_at} updated_at={row.updated_at}"
            )
        if row.tries > 1:
            report.retried += 1
    async with sessions() as s:
        per_job = (
            await s.execute(
                select(AssetAttempt.job_id, func.count())
                .where(AssetAttempt.job_id.in_([uuid.UUID(j) for j in job_ids]))
                .group_by(AssetAttempt.job_id)
            )
        ).all()
        report.duplicated = sum(1 for _, n in per_job if n > 1)
        report.llm_calls_billed = int(
            await s.scalar(
                select(func.count())
                .select_from(LLMCallRecord)
                .where(LLMCallRecord.job_id.in_([uuid.UUID(j) for j in job_ids]))
            )
            or 0
        )
        report.image_spend_usd = float(
            await s.scalar(
                select(func.coalesce(func.sum(Job.cost_usd), 0)).where(
                    Job.id.in_([uuid.UUID(j) for j in job_ids]), Job.kind == "image.generate"
                )
            )
            or 0
        )
    report.llm_calls_answered = len(llm.message_requests)
    report.images_answered = len(images.requests)
    return report


async def _rows(sessions: async_sessionmaker[AsyncSession], job_ids: list[str]) -> dict[uuid.UUID, Job]:
    async with sessions() as s:
        found = await s.scalars(select(Job).where(Job.id.in_([uuid.UUID(j) for j in job_ids])))
        return {row.id: row for row in found}
