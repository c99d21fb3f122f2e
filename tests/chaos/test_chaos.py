"""The chaos run in the suite: bounded to about two minutes, every job ends exactly once."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from tests.chaos.harness import ChaosPlan, chaos_settings, run_chaos, upstreams

# Kills every 2 s while jobs run: on a quiet machine the whole run takes about 20 s, and each kill
# must land on work in flight.
PLAN = ChaosPlan(
    generations=12, pings=4, previews=2, kill_every_s=2.0, max_kills=5, redis_restarts=1, time_limit_s=150
)


@pytest.mark.slow
async def test_kills_and_redis_restarts_lose_and_duplicate_nothing(
    settings: Settings, clean: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with upstreams(PLAN) as (redis, images, llm):
        chaos = chaos_settings(settings, redis, images, llm)
        report = await run_chaos(chaos, sessions, redis, images, llm, PLAN)
    sys.stdout.write("\n".join(report.lines()) + "\n")  # the figures, seen with -s
    assert report.kills >= 2, report
    assert report.redis_restarts == 1, report
    assert report.lost == 0, report
    assert report.duplicated == 0, report
    assert report.succeeded == report.jobs, report
    assert report.retried >= 1, report  # the faults did land on running jobs
    assert report.recovery_s, report
    # An upper bound (it also waits for busy workers and restarted ones to start): far below arq's
    # own lease of the job timeout (600 s) even on a loaded machine.
    assert max(report.recovery_s) < 60, report
    # Calls answered before a kill are billed too; at most the calls in flight at each kill are not.
    in_flight_bound = report.kills * settings.llm_concurrency
    assert report.llm_calls_billed >= report.llm_calls_answered - in_flight_bound, report
    assert report.llm_calls_billed > 0
