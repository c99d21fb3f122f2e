"""Steps the Stage 8 tests repeat: a project whose script has three scenes, assets placed in them,
scene lists and instance images.

Instance images are added with the carousel's own insert (``add_instance_attempt``, the function
the image jobs call), so carousel, chain and gate tests do not wait on a worker."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.images.processing import process_generated
from shared.models import ProjectAsset
from shared.stage8.carousel import InstanceAttemptDetails, add_instance_attempt, store_instance_image
from tests.attempts.helpers import Env
from tests.support.factories import put_script

# Scene 1 LANTERN ROOM, scene 2 HARBOUR, scene 3 STAIRS (tests.support.factories.SMALL_SCRIPT).
LANTERN, HARBOUR, STAIRS = (
    "INT. LIGHTHOUSE - LANTERN ROOM - NIGHT",
    "EXT. HARBOUR - DAY",
    "INT. LIGHTHOUSE - STAIRS - CONTINUOUS",
)


def script(*headings: str) -> str:
    """A script with these scenes, in this order (each with a line of action naming Mara)."""
    body = "\n\n".join(f"{h}\n\nMara stands here, scene {i}." for i, h in enumerate(headings, 1))
    return f"Title: The Lighthouse\n\n{body}\n"


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 96)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Stage8:
    env: Env
    auth: dict[str, str]
    sessions: async_sessionmaker[AsyncSession]
    pid: str

    @classmethod
    async def create(
        cls,
        env: Env,
        auth: dict[str, str],
        sessions: async_sessionmaker[AsyncSession],
        *,
        text: str | None = None,
        style: bool = True,
    ) -> Stage8:
        pid = await env.project(auth, style=style)
        r = await put_script(env.client, auth, pid, text or script(LANTERN, HARBOUR, STAIRS))
        assert r.status_code == 201, r.text
        return cls(env, auth, sessions, pid)

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.pid}"

    async def scene_ids(self) -> dict[int, str]:
        return {s["number"]: s["id"] for s in await self.scenes()}

    async def scenes(self) -> list[dict[str, Any]]:
        """Every scene of the current script, following the list's pages."""
        items: list[dict[str, Any]] = []
        while True:
            r = await self.env.client.get(
                f"{self.base}/scenes", params={"offset": len(items)}, headers=self.auth
            )
            assert r.status_code == 200, r.text
            items.extend(r.json()["items"])
            if not r.json()["items"] or len(items) >= r.json()["total"]:
                return items

    async def asset(
        self, name: str, type_: str = "character", scenes: tuple[int, ...] = (1, 2, 3), **f: Any
    ) -> str:
        body = {
            "name": name,
            "type": type_,
            "description": f"{name}, as written.",
            "scene_numbers": list(scenes),
        }
        return await self.env.asset(self.auth, self.pid, **(body | f))

    async def instances(self, sid: str) -> list[dict[str, Any]]:
        r = await self.env.client.get(f"{self.base}/scenes/{sid}/assets", headers=self.auth)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def instance(self, sid: str, asset_id: str) -> dict[str, Any]:
        [inst] = [i for i in await self.instances(sid) if i["asset_id"] == asset_id]
        return inst

    def url(self, sid: str, iid: str, tail: str = "") -> str:
        return f"{self.base}/scenes/{sid}/assets/{iid}{tail}"

    async def add_image(self, iid: str, colour: tuple[int, int, int] = (200, 40, 40), cap: int = 4) -> str:
        """A generated-looking image in the instance's carousel; returns the attempt id."""
        image = process_generated(png(colour), remove_background=False, thumbnail_side=32)
        stored = await store_instance_image(
            self.env.storage, project_id=uuid.UUID(self.pid), instance_id=uuid.UUID(iid), image=image
        )
        async with session_scope(self.sessions) as s:
            added = await add_instance_attempt(
                s,
                self.env.storage,
                instance_id=uuid.UUID(iid),
                stored=stored,
                details=InstanceAttemptDetails(source="generated", job_id=None, prompt="test"),
                cap=cap,
            )
        assert added is not None
        return str(added[0].id)

    async def set_priority(self, asset_id: str) -> None:
        """What the description pass records for a main character."""
        async with self.sessions() as s:
            await s.execute(
                update(ProjectAsset)
                .where(ProjectAsset.id == uuid.UUID(asset_id))
                .values(meta={"priority": True})
            )
            await s.commit()
