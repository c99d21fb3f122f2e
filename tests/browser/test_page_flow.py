"""A frontend's first flow in headless Chromium, from a page on another origin: create a project,
upload a script, find its assets while following the job through EventSource, keep them, upload an
image through a file input and see it in the carousel."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import FilePayload, Page, async_playwright

from shared.auth import make_token
from tests.browser.conftest import CHROMIUM_ARGS, LiveApi, Site
from tests.support.factories import SMALL_SCRIPT

STEP_TIMEOUT_MS = 20_000


async def wait_for(page: Page, selector: str, pattern: str, api: LiveApi, errors: list[str]) -> str:
    """Wait until the element's text matches; on timeout say what the page and the server said."""
    locator = page.locator(selector)
    try:
        await locator.filter(has_text=re.compile(pattern)).wait_for(timeout=STEP_TIMEOUT_MS)
    except Exception as exc:
        shown = await page.locator("#error").inner_text()
        events = await page.locator("#events").inner_text()
        raise AssertionError(
            f"{selector} never matched {pattern!r}: page error {shown!r}, console {errors}, "
            f"events {events!r}\nserver log:\n{api.tail()}"
        ) from exc
    return await locator.inner_text()


def cors_allows(api: LiveApi, origin: str) -> bool:
    """The preflight a browser sends before a JSON POST from another origin."""
    r = httpx.options(
        f"{api.url}/v1/projects",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    return r.status_code == 200 and r.headers.get("access-control-allow-origin") == origin


def png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


async def test_a_page_on_another_origin_runs_the_first_flow(
    site: Site, live_api: LiveApi, chromium_path: str, user: uuid.UUID
) -> None:
    api = live_api
    # Without this preflight answer the browser would not even send the page's first request.
    assert cors_allows(api, site.origin)
    token = make_token(api.settings, sub=user)
    auth = {"Authorization": f"Bearer {token}"}
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # The token travels in the fragment, which the page's own server never sees.
            await page.goto(f"{site.origin}/index.html#api={api.url}&token={token}")

            await page.fill("#title", "Night Shift")
            await page.click("#create")
            pid = await wait_for(page, "#project-id", r"^[0-9a-f-]{36}$", api, errors)
            await wait_for(page, "#project-stream", r"^live$", api, errors)

            await page.fill("#script", SMALL_SCRIPT)
            await page.click("#upload-script")
            assert await wait_for(page, "#script-status", r"scenes: \d+", api, errors) == "scenes: 3"

            await page.click("#preview")
            ended = r"extract\.preview: (succeeded|failed|cancelled)"
            await wait_for(page, "#job-status", ended, api, errors)
            assert await page.inner_text("#job-status") == "extract.preview: succeeded"
            # The job's own stream was followed to its end (a fast job may only show that end)...
            events = await page.locator("#events li").all_inner_texts()
            assert events[-1].startswith("state succeeded 100%"), events
            # ...and the project stream, open since the project was made, saw it live from the start.
            await wait_for(page, "#project-events", r"job extract\.preview succeeded", api, errors)
            project_events = await page.locator("#project-events li").all_inner_texts()
            preview = [e for e in project_events if e.startswith("job extract.preview")]
            assert preview[0] == "job extract.preview queued 0%", project_events
            assert any(e.startswith("job extract.preview running") for e in preview), project_events
            assert preview[-1] == "job extract.preview succeeded 100%", project_events
            entities = await page.locator("#entities li").all_inner_texts()
            assert {"character: Mara", "character: Tom", "location: Lighthouse"} <= set(entities), entities

            await page.click("#confirm")
            await wait_for(page, "#asset", r"Mara", api, errors)
            await page.select_option("#asset", label="Mara")
            aid = await page.input_value("#asset")

            await page.set_input_files(
                "#image", files=FilePayload(name="mara.png", mimeType="image/png", buffer=png((300, 200)))
            )
            await wait_for(page, "#upload-status", r"upload: \w+", api, errors)
            assert await page.inner_text("#upload-status") == "upload: succeeded"
            # The carousel shows it: the signed image URL loaded in an <img> on the page's origin.
            loaded = await page.wait_for_function(
                """() => {
                    const img = document.querySelector('#carousel img.selected');
                    return img && img.complete && img.naturalWidth > 0 ? img.alt : null;
                }""",
                timeout=STEP_TIMEOUT_MS,
            )
            assert await loaded.json_value() == "uploaded #1"
            # The carousel change reached the project stream too.
            await wait_for(page, "#project-events", r"attempt added #1", api, errors)
            assert await page.inner_text("#error") == ""
        finally:
            await browser.close()
    assert errors == []

    # What the page showed is what the API holds.
    async with httpx.AsyncClient(base_url=api.url, headers=auth) as http:
        project = (await http.get(f"/v1/projects/{pid}")).json()
        attempts: dict[str, Any] = (await http.get(f"/v1/projects/{pid}/assets/{aid}/attempts")).json()
    assert project["title"] == "Night Shift"
    assert [(a["source"], a["selected"], a["width"], a["height"]) for a in attempts["items"]] == [
        ("uploaded", True, 300, 200)
    ]
