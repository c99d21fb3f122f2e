"""Jobs: slow work as rows first (a transactional outbox), run by arq workers.

Declare a kind once, in its domain's ``tasks.py`` (and add its name to ``KindName`` in kinds.py and
its module to ``TASK_MODULES`` in registry.py if the module is new)::

    class GeneratePayload(BaseModel):
        asset_id: uuid.UUID

    class AttemptResult(BaseModel):
        attempt_id: uuid.UUID | None = None

    @job_kind("image.generate", worker="imagegen", payload=GeneratePayload, result=AttemptResult)
    async def image_generate(run: JobRun[GeneratePayload]) -> AttemptResult:
        ...  # slow work outside transactions, then:
        async with run.transaction() as session:
            ...  # domain writes
            await run.complete(session, result)  # status + result commit with them
        return result

Start one from a route through ``JobsDep`` (services/api/jobs.py), or from a domain service that
takes a ``JobStarter``::

    job = await jobs.start(image_generate, project=project, payload=GeneratePayload(asset_id=aid))
    return jobs.accepted(job)  # 202 + Location, remembered for Idempotency-Key repeats

Read a result through its model: ``image_generate.read_result(job.result)``.

The pieces: registry.py (declarations), starter.py and service.py (rows), queue.py (the outbox:
rows reach Redis after the commit that wrote them), runner.py and run.py (claim, heartbeat, fencing,
outcome), relay.py (re-push stranded rows, take over jobs of dead workers), worker.py (arq options,
the Redis-resilient worker), idempotency.py (keys), events.py (pub/sub for SSE).
"""
