"""Re-linking the project's assets to the scenes of a new script version, without an LLM call.

A revision must not cost the user their dependency map. When a version's scenes are written
(``write_scenes``: a new version, or a re-parse of the same one), the links of the version before
are carried over:

- each old scene is matched to at most one new scene: same heading (case and spacing ignored),
  identical body first, then the nearest position (never by number alone: inserting a scene at the
  top renumbers every scene after it);
- an unchanged scene (same heading, same body) keeps its links exactly as they were;
- in a changed or new scene, extracted links come from the parser's evidence: the names, aliases
  and extraction keys of each extracted asset found in the heading, the cues and the action lines
  (dialogue only talks about people, it does not put them in the scene);
- manual and ``stage8`` links, and links the user removed (``removed = true``), go to the matching
  scene as they are: a removal stays a removal even where the evidence says otherwise;
- an extracted link the old scene gave no textual evidence for (an LLM's inference, or scenes the
  user chose at confirm) is carried to the matching scene, since the text cannot recompute it;
- each matched scene's shot list (input from the shot-list stage) is copied onto its new scene in
  the same transaction (``carry_shots``), so presence flags and camera angles follow; shots of a
  scene that has no match are dropped from the new version (a re-parse loses them with the old
  rows; a new version leaves them on the older version's scene rows, which are kept);
- an extracted asset found nowhere in the new version becomes ``stale`` (shown, never deleted), one
  found again loses ``stale``. A stale asset remembers the new scenes its old scenes became
  (``metadata.last_seen``), so the next preview can tell a renamed character from a new one.

Only the current version is re-linked: a big script parsed by a worker after a newer version was
stored changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetSceneLink, Project, ProjectAsset, Scene, Script, Shot
from shared.scripts.elements import ParsedScene, ParsedScript, split_lines
from shared.scripts.parser import normalize_cue, parse_script
from shared.stage8.remap import OldShot, carry_shots, remap_instances

# One-letter names ("B") would match every initial in the text.
_MIN_FORM = 2
_SEP = r"[\W_]+"


# ---------------------------------------------------------------------------------------------
# The matcher: every name of every asset in one compiled pattern.


def _trie_pattern(forms: Iterable[str]) -> str:
    """One alternation over all forms, factored as a trie so the engine tries each character once
    per position instead of once per name (800 names over a feature script: 430 ms -> 10 ms)."""
    trie: dict[str, Any] = {}
    for form in forms:
        node = trie
        for ch in form:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [
            (_SEP if ch == " " else re.escape(ch)) + emit(child) for ch, child in sorted(node.items()) if ch
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


_HONORIFIC = re.compile(r"^(?:mr|mrs|ms|miss|dr|doctor|captain|capt|sgt|officer|the)\.?\s+", re.IGNORECASE)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(name: str) -> str:
    """A name's matching form: accents dropped, lower case, any run of non-letters one space.
    Unlike ``entities.norm`` it keeps every alphabet: "José" is "jose", "ИРИНА" is "ирина"."""
    return re.sub(r"[\W_]+", " ", strip_accents(name).lower()).strip()


def _capitalised(text: str) -> bool:
    return all(word[0].isupper() for word in re.findall(r"[^\W\d_]+", text))


@dataclass
class NameMatcher:
    """Finds assets by name in text. Forms are ``fold()`` names ("mr doe"); in the text any run of
    non-word characters separates the words ("Mr. Doe", "MR DOE"). A character is found only where
    the text capitalises the name: "a man walks in" does not put the character "Man" in the scene,
    while "the lamp" is the prop "Lamp"."""

    by_form: dict[str, list[tuple[uuid.UUID, bool]]]
    pattern: re.Pattern[str] | None

    @classmethod
    def build(cls, assets: Iterable[ProjectAsset]) -> NameMatcher:
        by_form: dict[str, list[tuple[uuid.UUID, bool]]] = defaultdict(list)
        for asset in assets:
            for form in asset_forms(asset):
                by_form[form].append((asset.id, asset.type == "character"))
        forms = [f for f in by_form if len(f) >= _MIN_FORM]
        if not forms:
            return cls(dict(by_form), None)
        body = _trie_pattern(forms)
        pattern = re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)
        return cls(dict(by_form), pattern)

    def find(self, text: str, *, any_case: bool = False) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        if self.pattern is None or not text:
            return found
        for match in self.pattern.finditer(strip_accents(text)):
            hits = self.by_form.get(fold(match.group()), [])
            capitalised = any_case or _capitalised(match.group())
            found.update(aid for aid, person in hits if capitalised or not person)
        return found

    def find_cue(self, cue: str) -> set[uuid.UUID]:
        name = normalize_cue(cue)
        return {aid for aid, _ in self.by_form.get(fold(name), [])} if name else set()

    def in_scene(self, scene: ParsedScene) -> set[uuid.UUID]:
        """Assets the scene shows: named in its heading, speaking, or named in its action."""
        found = self.find(scene.heading, any_case=True)
        for element in scene.elements:
            if element.kind == "character":
                found |= self.find_cue(element.text)
            elif element.kind == "action":
                found |= self.find(element.text)
        return found


def asset_forms(asset: ProjectAsset) -> set[str]:
    """The name, the aliases (with and without an honorific) and the names the extractor found it
    under (its keys, merged ones too)."""
    names = [asset.name, *(asset.aliases or [])]
    names += [_HONORIFIC.sub("", n) for n in names if _HONORIFIC.match(n)]
    names += [k.split(":", 1)[1] for k in (asset.entity_key, *(asset.meta or {}).get("merged_keys", [])) if k]
    return {f for f in map(fold, names) if f}


async def named_in(script: Script, assets: Sequence[ProjectAsset]) -> set[uuid.UUID]:
    """Which of ``assets`` the script names anywhere (heading, cue or action of any scene)."""
    if not assets:
        return set()
    matcher = NameMatcher.build(assets)
    # Parsing is CPU work (tens of ms for a feature script); keep it off the event loop.
    parsed = await asyncio.to_thread(parse_script, script.text, script.format)
    return {aid for scene in parsed.scenes for aid in matcher.in_scene(scene)}


# ---------------------------------------------------------------------------------------------
# Scene matching across versions.


def heading_key(heading: str) -> str:
    return " ".join(heading.upper().split())


def body_signature(lines: Sequence[str], start: int, end: int) -> str:
    """The scene's body (heading line excluded), blank lines and edge spacing ignored: adding a
    newline at the end of the script or re-flowing blank lines leaves a scene unchanged."""
    body = "\n".join(line.strip() for line in lines[start + 1 : end] if line.strip())
    return hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class SceneShape:
    id: uuid.UUID
    number: int
    position: int
    heading: str
    body: str  # body_signature
    text: str  # the scene's raw lines, for evidence checks on old scenes


def match_scenes(old: Sequence[SceneShape], new: Sequence[SceneShape]) -> dict[uuid.UUID, SceneShape]:
    """Old scene id -> new scene, one to one: equal headings only; an identical body wins over
    distance, then the nearest position, then script order."""
    by_heading: dict[str, list[SceneShape]] = defaultdict(list)
    for scene in new:
        by_heading[heading_key(scene.heading)].append(scene)
    pairs = sorted(
        (o.body != n.body, abs(o.position - n.position), o.position, n.position, i, j)
        for i, o in enumerate(old)
        for j, n in enumerate(by_heading.get(heading_key(o.heading), []))
    )
    out: dict[uuid.UUID, SceneShape] = {}
    used: set[uuid.UUID] = set()
    for *_, i, j in pairs:
        o, n = old[i], by_heading[heading_key(old[i].heading)][j]
        if o.id in out or n.id in used:
            continue
        out[o.id] = n
        used.add(n.id)
    return out


# ---------------------------------------------------------------------------------------------
# The snapshot taken before the scenes are rewritten, and the re-link itself.


@dataclass(frozen=True, slots=True)
class OldLink:
    asset_id: uuid.UUID
    scene_id: uuid.UUID
    source: str
    removed: bool


@dataclass
class Previous:
    """The version whose links are carried: the script itself on a re-parse, else the newest
    earlier version that has scenes."""

    script_id: uuid.UUID | None = None
    version: int | None = None
    scenes: list[SceneShape] = field(default_factory=list)
    links: list[OldLink] = field(default_factory=list)
    shots: list[OldShot] = field(default_factory=list)


async def snapshot(session: AsyncSession, script: Script) -> Previous:
    """Read what must survive before ``write_scenes`` deletes the script's scenes (their links go
    with them, by cascade)."""
    source = script if script.scene_count > 0 else None
    if source is None:
        source = await session.scalar(
            select(Script)
            .where(
                Script.project_id == script.project_id,
                Script.version < script.version,
                Script.scene_count > 0,
            )
            .order_by(Script.version.desc())
            .limit(1)
        )
    if source is None:
        return Previous()
    lines = split_lines(source.text)
    rows = list(await session.scalars(select(Scene).where(Scene.script_id == source.id)))
    scenes = [
        SceneShape(
            id=s.id,
            number=s.number,
            position=s.position,
            heading=s.heading,
            body=body_signature(lines, s.start_line, s.end_line),
            text="\n".join(lines[s.start_line : s.end_line]),
        )
        for s in rows
    ]
    links = [
        OldLink(*row)
        for row in (
            await session.execute(
                select(
                    AssetSceneLink.asset_id,
                    AssetSceneLink.scene_id,
                    AssetSceneLink.source,
                    AssetSceneLink.removed,
                )
                .join(Scene, Scene.id == AssetSceneLink.scene_id)
                .where(Scene.script_id == source.id)
            )
        ).all()
    ]
    # Read now: on a re-parse the shots go with their scene rows (cascade) when they are rewritten.
    shots = [
        OldShot(**row._mapping)
        for row in (
            await session.execute(
                select(
                    Shot.scene_id,
                    Shot.number,
                    Shot.camera,
                    Shot.action,
                    Shot.assets,
                    Shot.framing,
                    Shot.angle,
                    Shot.side,
                    Shot.angles_edited,
                )
                .join(Scene, Scene.id == Shot.scene_id)
                .where(Scene.script_id == source.id)
            )
        ).all()
    ]
    return Previous(script_id=source.id, version=source.version, scenes=scenes, links=links, shots=shots)


async def lock_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """The lock confirm takes first, taken before any scene or link is touched: a re-link, a
    confirm and a PUT of the same project never interleave (nor deadlock on each other's links).
    NO KEY UPDATE: rows that merely reference the project (jobs, assets) can still be inserted."""
    await session.scalar(select(Project.id).where(Project.id == project_id).with_for_update(key_share=True))


@dataclass(frozen=True, slots=True)
class RelinkSummary:
    links: int
    carried: int
    from_evidence: int
    stale: int
    restored: int


async def relink(
    session: AsyncSession, script: Script, parsed: ParsedScript, new_rows: Sequence[Scene], previous: Previous
) -> RelinkSummary | None:
    """Re-link the project's assets to ``script``'s freshly written scenes (see the module doc).
    Returns ``None`` when ``script`` is not the current version (nothing is changed then)."""
    await lock_project(session, script.project_id)  # taken already by write_scenes; cheap again
    newest = await session.scalar(
        select(func.max(Script.version)).where(Script.project_id == script.project_id)
    )
    if newest != script.version:
        return None
    assets = list(
        await session.scalars(
            select(ProjectAsset)
            .where(ProjectAsset.project_id == script.project_id)
            .order_by(ProjectAsset.created_at)
            .with_for_update()
        )
    )
    extracted = [a for a in assets if a.source == "extracted"]
    matcher = NameMatcher.build(extracted)

    lines = split_lines(script.text)
    parsed_by_number = {s.number: s for s in parsed.scenes}
    new = [
        SceneShape(
            id=row.id,
            number=row.number,
            position=row.position,
            heading=row.heading,
            body=body_signature(lines, row.start_line, row.end_line),
            text="",
        )
        for row in new_rows
    ]
    matched = match_scenes(previous.scenes, new)
    old_by_id = {s.id: s for s in previous.scenes}
    unchanged = {
        n.id
        for o_id, n in matched.items()
        if n.body == old_by_id[o_id].body and _same_heading(old_by_id[o_id], n)
    }
    evidence: dict[uuid.UUID, set[uuid.UUID]] = {
        n.id: matcher.in_scene(parsed_by_number[n.number]) for n in new if n.number in parsed_by_number
    }
    extracted_ids = {a.id for a in extracted}

    # (asset, scene) -> (source, removed): one entry per pair, so no path can insert a duplicate.
    links: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, bool]] = {}
    old_evidence: dict[uuid.UUID, set[uuid.UUID]] = {}
    carried = 0
    for link in previous.links:
        target = matched.get(link.scene_id)
        if target is None:
            continue  # the scene is gone; its links stay with the old version
        keep = (
            target.id in unchanged
            or link.source != "extracted"
            or link.removed
            or link.asset_id not in extracted_ids
        )
        if not keep:
            # Extracted and shown: the new scene's evidence decides, unless the old scene never named
            # the asset (an inference the text cannot repeat), which is carried as it was.
            if link.scene_id not in old_evidence:
                old_evidence[link.scene_id] = matcher.find(old_by_id[link.scene_id].text, any_case=True)
            keep = link.asset_id not in old_evidence[link.scene_id]
        if keep and (link.asset_id, target.id) not in links:
            links[(link.asset_id, target.id)] = (link.source, link.removed)
            carried += 1
    from_evidence = 0
    for scene_id, found in evidence.items():
        if scene_id in unchanged:
            continue  # the user's reviewed map of an unchanged scene is kept exactly
        for asset_id in found:
            if (asset_id, scene_id) not in links:
                links[(asset_id, scene_id)] = ("extracted", False)
                from_evidence += 1
    await _insert_links(session, links)

    present = {aid for found in evidence.values() for aid in found}
    present |= {aid for (aid, _), (_, removed) in links.items() if not removed}
    stale, restored = _update_stale(extracted, present, previous, matched, script.version)
    # Stage 8 work follows its scenes: instances move to the matching scenes of this version (or,
    # for a re-parse of the same version, back onto its rewritten scene rows).
    await remap_instances(session, old_script_id=previous.script_id or script.id, new_script_id=script.id)
    # Shots follow the same pairing as the links (a scene is the same scene for both).
    await carry_shots(
        session,
        project_id=script.project_id,
        shots=previous.shots,
        new_scene_of={old: new.id for old, new in matched.items()},
    )
    await session.flush()
    return RelinkSummary(
        links=len(links), carried=carried, from_evidence=from_evidence, stale=stale, restored=restored
    )


def _same_heading(a: SceneShape, b: SceneShape) -> bool:
    return heading_key(a.heading) == heading_key(b.heading)


async def _insert_links(
    session: AsyncSession, links: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, bool]]
) -> None:
    if not links:
        return
    rows = [
        {"id": uuid.uuid4(), "asset_id": a, "scene_id": s, "source": source, "removed": removed}
        for (a, s), (source, removed) in links.items()
    ]
    # Parameters passed apart from the statement: it compiles once (cached) and the driver sends the
    # rows in batches; a VALUES clause spelt out row by row took 0.3-0.9 s to compile for 550 links.
    stmt = insert(AssetSceneLink).on_conflict_do_nothing(index_elements=["asset_id", "scene_id"])
    await session.execute(stmt, rows)


def _update_stale(
    extracted: Sequence[ProjectAsset],
    present: set[uuid.UUID],
    previous: Previous,
    matched: dict[uuid.UUID, SceneShape],
    version: int,
) -> tuple[int, int]:
    # Old scene number -> new scene number, to say where a vanished asset was last seen.
    renumber = {o.number: matched[o.id].number for o in previous.scenes if o.id in matched}
    old_number = {o.id: o.number for o in previous.scenes}
    shown_in: dict[uuid.UUID, set[int]] = defaultdict(set)
    for link in previous.links:
        if not link.removed and link.scene_id in old_number:
            shown_in[link.asset_id].add(old_number[link.scene_id])
    stale = restored = 0
    for asset in extracted:
        meta = dict(asset.meta or {})
        if asset.id in present:
            if "last_seen" in meta:
                meta.pop("last_seen")
                asset.meta = meta
            if asset.stale:
                restored += 1
                asset.stale = False
                asset.version += 1
            continue
        seen = meta.get("last_seen") or {}
        if asset.stale and seen.get("script_version") == previous.version:
            before = set(seen.get("scene_numbers", []))
        elif asset.stale:
            before = set()
        else:
            before = shown_in.get(asset.id, set())
        meta["last_seen"] = {
            "script_version": version,
            "scene_numbers": sorted({renumber[n] for n in before if n in renumber}),
        }
        asset.meta = meta
        if not asset.stale:
            # Only the flag is the user's concern: an asset already stale keeps its version, so an
            # edit the user has open on it does not conflict with a script revision.
            stale += 1
            asset.stale = True
            asset.version += 1
    return stale, restored
