"""Batches (generate-all answers one batch, followed and cancelled as a whole) and a project's job
list, as a page uses them after a reload."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from shared.config import Settings
from tests.attempts.helpers import Env, make_env
from tests.conftest import auth_for

NAMES = ("Anchor", "Bell", "Compass")


async def _project(env: Env, auth: dict[str, str]) -> tuple[str, list[str]]:
    pid = await env.project(auth)
    aids = [await env.asset(auth, pid, name=n, type="prop") for n in NAMES]
    return pid, aids


async def test_generate_all_answers_one_batch_that_a_repeat_replays(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with make_env(settings, tmp_path) as env:
        pid, aids = await _project(env, auth)
        url = f"/v1/projects/{pid}/assets/generate-all"
        r = await env.client.post(url, json={"dry_run": True}, headers=auth)
        assert (r.status_code, r.json()["count"]) == (200, 3)  # the dry run is as it was

        key = {"Idempotency-Key": f"gen-all-{uuid.uuid4()}"}
        r = await env.client.post(url, json={}, headers={**auth, **key})
        assert r.status_code == 202, r.text
        batch = r.json()["batch"]
        assert r.headers["Location"] == f"/v1/batches/{batch['id']}"
        assert (batch["kind"], batch["status"], batch["total"], batch["progress"]) == (
            "generate-all",
            "queued",
            3,
            0,
        )
        assert batch["counts"] == {"queued": 3, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
        assert [j["kind"] for j in batch["jobs"]] == ["image.generate"] * 3
        assert {j["batch_id"] for j in batch["jobs"]} == {batch["id"]}

        again = await env.client.post(url, json={}, headers={**auth, **key})
        assert again.status_code == 202
        assert again.json() == r.json()  # the same batch, not a second (or an empty) one
        assert again.headers["Location"] == r.headers["Location"]

        await env.run()
        done = (await env.client.get(r.headers["Location"], headers=auth)).json()["batch"]
        assert (done["status"], done["progress"], done["counts"]["succeeded"]) == ("succeeded", 1.0, 3)
        assert done["message"] == "3 of 3 done"
        for aid in aids:
            assert len(await env.attempts(auth, pid, aid)) == 1

        intruder = auth_for(env.settings, uuid.uuid4())
        assert (await env.client.get(r.headers["Location"], headers=intruder)).status_code == 404
        assert (await env.client.post(f"{r.headers['Location']}/cancel", headers=intruder)).status_code == 404
        assert (await env.client.get(f"/v1/batches/{uuid.uuid4()}", headers=auth)).status_code == 404


async def test_cancelling_a_batch_cancels_its_queued_jobs(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with make_env(settings, tmp_path) as env:
        pid, aids = await _project(env, auth)
        other = await env.asset(auth, pid, name="Drum", type="prop")
        lone = await env.generate(auth, pid, other)  # not in the batch: generate-all skips it
        r = await env.client.post(f"/v1/projects/{pid}/assets/generate-all", json={}, headers=auth)
        location = r.headers["Location"]
        assert r.json()["batch"]["total"] == 3

        r = await env.client.post(f"{location}/cancel", headers=auth)
        assert r.status_code == 200, r.text
        batch = r.json()["batch"]
        assert (batch["status"], batch["counts"]["cancelled"], batch["message"]) == (
            "cancelled",
            3,
            "3 of 3 done, 3 cancelled",
        )
        assert batch["cancelled_at"] is not None
        assert (await env.client.post(f"{location}/cancel", headers=auth)).json()["batch"]["counts"] == batch[
            "counts"
        ]

        await env.run()
        after = (await env.client.get(location, headers=auth)).json()["batch"]
        assert after["counts"]["cancelled"] == 3  # the worker skipped them
        assert (await env.job(auth, lone["id"]))["status"] == "succeeded"
        for aid in aids:
            assert await env.attempts(auth, pid, aid) == []


async def test_project_jobs_newest_first_filtered_and_paged(
    settings: Settings, clean: None, tmp_path: Path, auth: dict[str, str]
) -> None:
    async with make_env(settings, tmp_path) as env:
        pid, aids = await _project(env, auth)
        started = [(await env.generate(auth, pid, aid))["id"] for aid in aids]
        other_pid = await env.project(auth)
        await env.generate(auth, other_pid, await env.asset(auth, other_pid))  # another project's
        await env.client.post(f"/v1/jobs/{started[0]}/cancel", headers=auth)

        url = f"/v1/projects/{pid}/jobs"
        page = (await env.client.get(url, headers=auth)).json()
        assert [j["id"] for j in page["items"]] == started[::-1]
        assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)

        page = (await env.client.get(url, params={"limit": 1, "offset": 1}, headers=auth)).json()
        assert ([j["id"] for j in page["items"]], page["total"]) == ([started[1]], 3)
        page = (await env.client.get(url, params={"status": "cancelled"}, headers=auth)).json()
        assert [j["id"] for j in page["items"]] == [started[0]]
        page = (
            await env.client.get(url, params={"status": "queued", "kind": "image.generate"}, headers=auth)
        ).json()
        assert page["total"] == 2
        assert (await env.client.get(url, params={"kind": "extract.preview"}, headers=auth)).json()[
            "total"
        ] == 0

        r = await env.client.get(url, params={"status": "sleeping"}, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
        r = await env.client.get(url, params={"limit": 0}, headers=auth)
        assert r.status_code == 422
        assert (await env.client.get(url, headers=auth_for(env.settings, uuid.uuid4()))).status_code == 404


async def test_job_list_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/v1/projects/{uuid.uuid4()}/jobs")).status_code == 401
