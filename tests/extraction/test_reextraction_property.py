"""Re-extraction is safe in any order (issue 8): random sequences of merges, renames, retypes,
deletions, manual additions and placements, removals, clones, script edits and preview+confirm,
through the HTTP API and the real extractor worker (in-process, burst mode).

After every step: no 5xx, no duplicate (asset, scene) link, no manual link lost while its asset and
scene exist, every removal still a removal, and ``stale`` only on assets the script no longer
names. The script is generated from a model (scenes with an identity that survives edits), so the
test knows where each scene went without trusting the code under test."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import AssetSceneLink, ProjectAsset, Scene, Script
from shared.scripts.relink import asset_forms, fold
from tests.support.factories import create_project, set_style
from tests.support.workers import run_burst

CHARACTERS = ("MARA", "TOM", "PETER", "DYLE", "NED", "ROSA")
PROPS = ("TELESCOPE", "LANTERN", "STAPLER", "SUITCASE")
PLACES = ("LIGHTHOUSE", "HARBOUR", "OFFICE", "CELLAR")
TIMES = ("DAY", "NIGHT")
TYPES = ("character", "prop", "location", "extra_archetype")


@dataclass(frozen=True)
class SceneModel:
    uid: int
    place: str
    time: str
    characters: tuple[str, ...]
    prop: str | None


def render(scenes: list[SceneModel]) -> str:
    parts = ["Title: Revisions"]
    for s in scenes:
        parts.append(f"INT. {s.place} - {s.time}")
        action = f"{' and '.join(s.characters)} wait here" if s.characters else "The room is empty"
        # The clock makes every scene's body its own: two identical scenes under one heading are
        # indistinguishable to anyone, so the model would claim to know more than the text says.
        action += f", the clock says {s.uid}"
        parts.append(action + (f", next to a {s.prop}." if s.prop else "."))
        parts += [f"{c}\nThat was scene {s.uid}." for c in s.characters]
    return "\n\n".join(parts) + "\n"


def present_names(scenes: list[SceneModel]) -> set[str]:
    names = {p for s in scenes for p in (s.place, *s.characters, s.prop) if p}
    return {fold(n) for n in names}


KINDS = (
    "edit_add",
    "edit_remove",
    "edit_move",
    "edit_rename",
    "merge",
    "rename",
    "retype",
    "delete",
    "manual",
    "place",
    "unlink",
    "clone",
    "confirm",
)


def random_scene(rng: random.Random) -> tuple[str, str, tuple[str, ...], str | None]:
    chars = sorted(set(rng.sample(CHARACTERS, rng.randint(0, 2))), key=CHARACTERS.index)
    prop = rng.choice((None, *PROPS))
    return rng.choice(PLACES), rng.choice(TIMES), tuple(chars), prop


def random_op(rng: random.Random) -> tuple[Any, ...]:
    """Indices are taken modulo the current lists when the step runs."""
    kind = rng.choice(KINDS)

    def n() -> int:
        return rng.randint(0, 50)

    if kind == "edit_add":
        return kind, random_scene(rng), n()
    if kind == "edit_rename":
        return kind, n(), rng.choice(CHARACTERS)
    if kind == "retype":
        return kind, n(), rng.choice(TYPES)
    if kind in {"edit_move", "merge", "place", "unlink"}:
        return kind, n(), n()
    return (kind,) if kind == "confirm" else (kind, n())


@dataclass
class World:
    client: httpx.AsyncClient
    auth: dict[str, str]
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    pid: str = ""
    scenes: list[SceneModel] = field(default_factory=list)
    manual: set[tuple[str, int]] = field(default_factory=set)  # (asset id, scene uid)
    removed: set[tuple[str, int]] = field(default_factory=set)
    uids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    log: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = await self.client.request(method, f"/v1/projects/{self.pid}{path}", headers=self.auth, **kw)
        assert r.status_code < 500, f"{method} {path} -> {r.status_code} {r.text}\nsteps: {self.log}"
        return r

    async def put_script(self) -> None:
        r = await self.call("PUT", "/script", json={"text": render(self.scenes)})
        assert r.status_code in (200, 201), r.text
        assert r.json()["scene_count"] == len(self.scenes), render(self.scenes)

    async def preview_and_confirm(self) -> None:
        r = await self.call("POST", "/extract/preview")
        assert r.status_code == 202, r.text
        await run_burst("extractor", self.settings)
        r = await self.call("POST", "/extract/confirm", json={"decisions": []})
        assert r.status_code in (200, 202), r.text

    async def assets(self) -> list[dict[str, Any]]:
        r = await self.call("GET", "/assets", params={"status": "all", "limit": 200})
        return sorted(r.json()["items"], key=lambda a: (a["type"], a["name"], a["created_at"]))

    async def link(self, asset_id: str, uid: int) -> AssetSceneLink | None:
        number = self.number(uid)
        async with self.sessions() as s:
            return await s.scalar(
                select(AssetSceneLink)
                .join(Scene, Scene.id == AssetSceneLink.scene_id)
                .join(Script, Script.id == Scene.script_id)
                .where(
                    AssetSceneLink.asset_id == uuid.UUID(asset_id),
                    Scene.number == number,
                    Script.id == self._current_script(),
                )
            )

    def _current_script(self) -> Any:
        return (
            select(Script.id)
            .where(Script.project_id == uuid.UUID(self.pid))
            .order_by(Script.version.desc())
            .limit(1)
            .scalar_subquery()
        )

    def number(self, uid: int) -> int:
        return next(i for i, s in enumerate(self.scenes, start=1) if s.uid == uid)

    def forget_scenes(self) -> None:
        alive = {s.uid for s in self.scenes}
        self.manual = {(a, u) for a, u in self.manual if u in alive}
        self.removed = {(a, u) for a, u in self.removed if u in alive}

    async def step(self, op: tuple[Any, ...]) -> None:
        self.log.append(repr(op))
        kind = op[0]
        if kind.startswith("edit_"):
            await self.edit(op)
            return
        if kind == "confirm":
            await self.preview_and_confirm()
            return
        assets = await self.assets()
        if kind == "manual":
            uid = self.scenes[op[1] % len(self.scenes)].uid
            body = {
                "name": f"Fog horn {next(self.uids)}",
                "type": "prop",
                "scene_numbers": [self.number(uid)],
            }
            r = await self.call("POST", "/assets", json=body)
            assert r.status_code == 201, r.text
            self.manual.add((r.json()["id"], uid))
            return
        if not assets:
            return
        a = assets[op[1] % len(assets)]
        if kind == "merge":
            b = assets[op[2] % len(assets)]
            if a["id"] == b["id"]:
                return
            r = await self.call("POST", "/assets/merge", json={"source_id": a["id"], "target_id": b["id"]})
            assert r.status_code == 200, r.text
            self.manual = {(b["id"] if x == a["id"] else x, u) for x, u in self.manual}
            moved = {(b["id"] if x == a["id"] else x, u) for x, u in self.removed}
            # Where the target is shown, a removal of the source gives way (merge keeps the stronger).
            self.removed = set()
            for x, u in moved:
                link = await self.link(x, u)
                if link is not None and link.removed:
                    self.removed.add((x, u))
        elif kind == "rename":
            r = await self.call("PATCH", f"/assets/{a['id']}", json={"name": f"Renamed {next(self.uids)}"})
            assert r.status_code == 200, r.text
        elif kind == "retype":
            r = await self.call("PATCH", f"/assets/{a['id']}", json={"type": op[2]})
            assert r.status_code == 200, r.text
        elif kind == "delete":
            assert (await self.call("DELETE", f"/assets/{a['id']}")).status_code == 204
            self.manual = {(x, u) for x, u in self.manual if x != a["id"]}
            self.removed = {(x, u) for x, u in self.removed if x != a["id"]}
        elif kind == "place":
            uid = self.scenes[op[2] % len(self.scenes)].uid
            numbers = sorted({*a["scene_numbers"], self.number(uid)})
            r = await self.call("PATCH", f"/assets/{a['id']}", json={"scene_numbers": numbers})
            assert r.status_code == 200, r.text
            link = await self.link(a["id"], uid)
            assert link is not None
            assert not link.removed
            self.removed.discard((a["id"], uid))
            if link.source == "manual":
                self.manual.add((a["id"], uid))
        elif kind == "unlink":
            if not a["scene_numbers"]:
                return
            number = a["scene_numbers"][op[2] % len(a["scene_numbers"])]
            uid = self.scenes[number - 1].uid
            rest = [n for n in a["scene_numbers"] if n != number]
            r = await self.call("PATCH", f"/assets/{a['id']}", json={"scene_numbers": rest})
            assert r.status_code == 200, r.text
            self.manual.discard((a["id"], uid))
            link = await self.link(a["id"], uid)
            if link is not None:
                assert link.removed
                self.removed.add((a["id"], uid))
        elif kind == "clone":
            r = await self.call("POST", f"/assets/{a['id']}/promote")
            assert r.status_code == 201, r.text
            r = await self.call("POST", "/assets/clone", json={"global_asset_id": r.json()["id"]})
            assert r.status_code == 201, r.text

    async def edit(self, op: tuple[Any, ...]) -> None:
        kind, scenes = op[0], list(self.scenes)
        if kind == "edit_add":
            place, time, chars, prop = op[1]
            scenes.insert(op[2] % (len(scenes) + 1), SceneModel(next(self.uids), place, time, chars, prop))
        elif kind == "edit_remove":
            if len(scenes) == 1:
                return
            scenes.pop(op[1] % len(scenes))
        elif kind == "edit_move":
            scenes.insert(op[2] % len(scenes), scenes.pop(op[1] % len(scenes)))
        elif kind == "edit_rename":
            old = sorted({c for s in scenes for c in s.characters})
            if not old or op[2] in old:
                return
            gone = old[op[1] % len(old)]
            scenes = [
                replace(s, characters=tuple(op[2] if c == gone else c for c in s.characters)) for s in scenes
            ]
        self.scenes = scenes
        self.forget_scenes()
        await self.put_script()

    async def check(self) -> None:
        async with self.sessions() as s:
            duplicates = (
                await s.execute(
                    select(AssetSceneLink.asset_id, AssetSceneLink.scene_id)
                    .join(Scene, Scene.id == AssetSceneLink.scene_id)
                    .where(Scene.project_id == uuid.UUID(self.pid))
                    .group_by(AssetSceneLink.asset_id, AssetSceneLink.scene_id)
                    .having(func.count() > 1)
                )
            ).all()
            assert not duplicates, self.log
            rows = list(
                await s.scalars(select(ProjectAsset).where(ProjectAsset.project_id == uuid.UUID(self.pid)))
            )
        for asset_id, uid in self.manual:
            link = await self.link(asset_id, uid)
            assert link is not None, f"manual link of {asset_id} to scene {uid} lost; steps: {self.log}"
            assert link.source == "manual", (link.source, self.log)
            assert not link.removed, self.log
        for asset_id, uid in self.removed:
            link = await self.link(asset_id, uid)
            assert link is not None, f"removed link of {asset_id} in {uid} gone; {self.log}"
            assert link.removed, f"removal of {asset_id} in {uid} undone; {self.log}"
        present = present_names(self.scenes)
        for asset in rows:
            if asset.stale:
                assert asset.source == "extracted", self.log
                named = asset_forms(asset) & present
                assert not named, f"{asset.name} is stale but the script names {named}; steps: {self.log}"


@settings(
    max_examples=15,
    deadline=timedelta(seconds=30),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    # A failure prints every step it took; shrinking a sequence of HTTP calls takes minutes.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(rng=st.randoms(use_true_random=True))
async def test_random_operations_keep_the_manifest_sound(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    rng: random.Random,
) -> None:
    # Operations come from a Random seeded by Hypothesis (replayed with --hypothesis-seed): drawn
    # through its strategies, the first kinds came up ten times as often as others, some never.
    initial = [random_scene(rng) for _ in range(rng.randint(2, 4))]
    ops = [random_op(rng) for _ in range(rng.randint(3, 8))]
    world = World(client, auth, settings, sessions)
    world.pid = str((await create_project(client, auth))["id"])
    await set_style(client, auth, world.pid)
    world.scenes = [SceneModel(next(world.uids), *s) for s in initial]
    world.log.append(f"initial {initial}")
    await world.put_script()
    await world.preview_and_confirm()
    await world.check()
    for op in ops:
        await world.step(op)
        await world.check()
