"""Script revisions keep the breakdown (issue 8, point 2): a new version re-links the assets at once,
an identical text changes nothing, and Stage 5's lock covers the script too."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.config import Settings
from shared.models import Job, Script
from tests.extraction.test_flow import assets_by_name, confirm, preview
from tests.support.factories import SMALL_SCRIPT, create_asset, create_project, put_script, set_style
from tests.support.workers import run_burst

# Scenes of SMALL_SCRIPT, one block each, to rebuild edited versions from.
HEADER, LANTERN, HARBOUR, STAIRS = (
    "Title: The Lighthouse\n\n",
    SMALL_SCRIPT[SMALL_SCRIPT.index("INT. LIGHTHOUSE - LANTERN") : SMALL_SCRIPT.index("EXT. HARBOUR")],
    SMALL_SCRIPT[SMALL_SCRIPT.index("EXT. HARBOUR") : SMALL_SCRIPT.index("INT. LIGHTHOUSE - STAIRS")],
    SMALL_SCRIPT[SMALL_SCRIPT.index("INT. LIGHTHOUSE - STAIRS") :].rstrip("\n") + "\n\n",
)
CELLAR = "INT. CELLAR - NIGHT\n\nRats. Nobody here.\n\n"


async def confirmed_project(client: httpx.AsyncClient, auth: dict[str, str], settings: Settings) -> str:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    assert (await put_script(client, auth, pid)).status_code == 201
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    return pid


def scenes_of(assets: dict[str, dict[str, Any]]) -> dict[str, tuple[list[int], bool]]:
    return {name: (a["scene_numbers"], a["stale"]) for name, a in assets.items()}


async def versions(sessions: async_sessionmaker[AsyncSession], pid: str) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(select(func.count()).select_from(Script).where(Script.project_id == pid)) or 0
        )


async def test_identical_text_stores_nothing_and_answers_200(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = await confirmed_project(client, auth, settings)
    before = await assets_by_name(client, auth, pid)
    first = (await client.get(f"/v1/projects/{pid}/script", headers=auth)).json()
    r = await put_script(client, auth, pid)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first["id"]
    assert r.json()["version"] == 1
    assert await versions(sessions, pid) == 1
    assert await assets_by_name(client, auth, pid) == before  # not even a version bump


async def test_a_new_version_keeps_every_assets_scenes_without_a_new_confirm(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The issue's sequence: confirm, then PUT the same script plus a newline: every asset used to
    show ``scene_numbers: []`` until preview and confirm were run again."""
    pid = await confirmed_project(client, auth, settings)
    manual = await create_asset(client, auth, pid, name="Fog horn", type="prop", scene_numbers=[3])
    before = scenes_of(await assets_by_name(client, auth, pid))
    assert before["Mara"] == ([1, 3], False)
    async with sessions() as s:
        jobs_before = await s.scalar(select(func.count()).select_from(Job).where(Job.project_id == pid))

    r = await put_script(client, auth, pid, SMALL_SCRIPT + "\n")
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2
    assert scenes_of(await assets_by_name(client, auth, pid)) == before
    async with sessions() as s:  # no extraction job, no LLM: the re-link ran inside the PUT
        assert (
            await s.scalar(select(func.count()).select_from(Job).where(Job.project_id == pid)) == jobs_before
        )
    scenes = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()
    assert scenes["script_version"] == 2
    props = [d["name"] for d in scenes["items"][2]["dependencies"]["prop"]]
    assert "Fog horn" in props
    assert (await client.get(f"/v1/projects/{pid}/assets/{manual['id']}", headers=auth)).json()[
        "scene_numbers"
    ] == [3]


async def test_edits_relink_from_the_text_and_vanished_assets_go_stale(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = await confirmed_project(client, auth, settings)
    # Tom leaves the harbour scene; Mara is there instead.
    harbour = HARBOUR.replace(
        "TOM (20s) runs along the quay holding a BRASS TELESCOPE.", "MARA watches the quay."
    ).replace("TOM (O.S.)\nMara! A ship!", "MARA\nA ship.")
    assert (await put_script(client, auth, pid, HEADER + LANTERN + harbour + STAIRS)).status_code == 201
    after = await assets_by_name(client, auth, pid)
    assert after["Mara"]["scene_numbers"] == [1, 2, 3]
    assert after["Tom"]["scene_numbers"] == []
    assert after["Tom"]["stale"] is True
    assert after["Brass Telescope"]["stale"] is True
    assert after["Wick"]["scene_numbers"] == [1]  # an unchanged scene keeps its links exactly
    assert not after["Wick"]["stale"]

    # Tom comes back in a new scene: no longer stale, linked where the text names him.
    back = HEADER + LANTERN + harbour + STAIRS + "EXT. QUAY - DAWN\n\nTOM waves.\n"
    assert (await put_script(client, auth, pid, back)).status_code == 201
    tom = (await assets_by_name(client, auth, pid))["Tom"]
    assert tom["stale"] is False
    assert tom["scene_numbers"] == [4]


async def test_manual_links_and_removals_follow_their_scene_not_its_number(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = await confirmed_project(client, auth, settings)
    assets = await assets_by_name(client, auth, pid)
    horn = await create_asset(client, auth, pid, name="Fog horn", type="prop", scene_numbers=[2])
    # The user takes Mara out of scene 3 (an extracted link kept as a removal).
    r = await client.patch(
        f"/v1/projects/{pid}/assets/{assets['Mara']['id']}", json={"scene_numbers": [1]}, headers=auth
    )
    assert r.status_code == 200
    # A new scene at the top and the harbour moved last: every number changes.
    edited = HEADER + CELLAR + LANTERN + STAIRS + HARBOUR.rstrip("\n") + "\n"
    assert (await put_script(client, auth, pid, edited)).status_code == 201
    after = await assets_by_name(client, auth, pid)
    assert after["Fog horn"]["scene_numbers"] == [4]  # the harbour, now scene 4
    assert after["Fog horn"]["id"] == horn["id"]
    assert after["Mara"]["scene_numbers"] == [2]  # the lantern room; the stairs stay removed
    assert after["Tom"]["scene_numbers"] == [4]
    assert not any(a["stale"] for a in after.values())
    scenes = (await client.get(f"/v1/projects/{pid}/scenes", headers=auth)).json()["items"]
    assert scenes[0]["heading"] == "INT. CELLAR - NIGHT"
    assert scenes[0]["dependencies"] == {"character": [], "prop": [], "location": [], "extra_archetype": []}

    # A later re-extraction does not bring the removed link back either.
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    assert (await assets_by_name(client, auth, pid))["Mara"]["scene_numbers"] == [2]


async def test_put_script_while_stage5_is_locked_is_refused(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pid = await confirmed_project(client, auth, settings)
    assert (await client.post(f"/v1/projects/{pid}/stages/5/lock", headers=auth)).status_code == 200
    for r in (
        await put_script(client, auth, pid, SMALL_SCRIPT + "\nMore.\n"),
        await client.post(f"/v1/projects/{pid}/script/reparse", headers=auth),
    ):
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "stage_locked"
    assert await versions(sessions, pid) == 1
    assert (await client.post(f"/v1/projects/{pid}/stages/5/unlock", headers=auth)).status_code == 200
    assert (await put_script(client, auth, pid, SMALL_SCRIPT + "\nMore.\n")).status_code == 201


async def test_reparse_keeps_the_links(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = await confirmed_project(client, auth, settings)
    await create_asset(client, auth, pid, name="Fog horn", type="prop", scene_numbers=[2])
    before = scenes_of(await assets_by_name(client, auth, pid))
    r = await client.post(f"/v1/projects/{pid}/script/reparse", headers=auth)
    assert r.status_code == 202
    await run_burst("extractor", settings)
    assert scenes_of(await assets_by_name(client, auth, pid)) == before


async def test_big_scripts_parsed_by_the_worker_are_relinked_too(
    settings: Settings, clean: None, auth: dict[str, str]
) -> None:
    small_inline = settings.model_copy(update={"inline_parse_max_bytes": 100})
    app = create_app(small_inline)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        pid = str((await create_project(c, auth))["id"])
        await set_style(c, auth, pid)
        assert (await put_script(c, auth, pid)).status_code == 202
        await run_burst("extractor", small_inline)
        await preview(c, auth, pid, small_inline)
        await confirm(c, auth, pid, small_inline, [])
        horn = await create_asset(c, auth, pid, name="Fog horn", type="prop", scene_numbers=[2])
        edited = (
            HEADER
            + CELLAR
            + LANTERN
            + HARBOUR.replace("TOM (20s) runs", "Someone runs").replace("TOM (O.S.)", "MARA")
        )
        r = await put_script(c, auth, pid, edited)
        assert r.status_code == 202
        await run_burst("extractor", small_inline)
        assert (await c.get(f"/v1/jobs/{r.json()['job']['id']}", headers=auth)).json()[
            "status"
        ] == "succeeded"
        after = await assets_by_name(c, auth, pid)
        assert after["Fog horn"]["scene_numbers"] == [3]
        assert after["Fog horn"]["id"] == horn["id"]
        assert after["Mara"]["scene_numbers"] == [2, 3]
        assert after["Tom"]["stale"] is True


CAFE = """INT. CAFÉ - DAY

JOSÉ (30s) wipes the counter. ИРИНА waits by the door.

JOSÉ
Buenos días.

ИРИНА
Привет.

EXT. STREET - NIGHT

Mr. Doe hails a cab.

MR. DOE
Taxi!
"""


async def test_names_in_any_alphabet_keep_their_scenes(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings
) -> None:
    pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, pid)
    await put_script(client, auth, pid, CAFE)
    await preview(client, auth, pid, settings)
    await confirm(client, auth, pid, settings, [])
    # Both scenes change, so every link is read again from the text, and a new scene names them only
    # in its action.
    revised = CAFE.replace("Buenos días.", "Hola.").replace("Taxi!", "Taxi, please!")
    revised += "\nINT. KITCHEN - NIGHT\n\nJosé and Ирина wash the cups.\n"
    assert (await put_script(client, auth, pid, revised)).status_code == 201
    after = await assets_by_name(client, auth, pid)
    assert (after["José"]["scene_numbers"], after["José"]["stale"]) == ([1, 3], False)
    assert (after["Ирина"]["scene_numbers"], after["Ирина"]["stale"]) == ([1, 3], False)
    assert (after["Café"]["scene_numbers"], after["Café"]["stale"]) == ([1], False)
    doe = next(a for name, a in after.items() if "doe" in name.lower())
    assert (doe["scene_numbers"], doe["stale"]) == ([2], False)


async def test_two_identical_puts_at_once_store_one_version(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A double-clicked save: both requests race past the identical-text check unless script writes
    of one project are serialised."""
    pid = await confirmed_project(client, auth, settings)
    before = scenes_of(await assets_by_name(client, auth, pid))
    revised = SMALL_SCRIPT + "\nFADE OUT.\n"
    first, second = await asyncio.gather(
        put_script(client, auth, pid, revised), put_script(client, auth, pid, revised)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    assert await versions(sessions, pid) == 2
    assert scenes_of(await assets_by_name(client, auth, pid)) == before
