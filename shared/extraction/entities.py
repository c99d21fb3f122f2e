"""Merging entity lists (parser seeds and per-chunk LLM findings) with alias resolution."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from shared.extraction.schemas import EntityMention, PreviewEntity

MAX_MENTIONS = 12
MAX_MENTIONS_PER_SCENE = 3
_HONORIFIC = re.compile(r"^(mr|mrs|ms|miss|dr|doctor|captain|capt|sgt|officer|the)\.?\s+", re.I)


def norm(name: str) -> str:
    """Comparison form: case, punctuation and spacing folded ("Mr. Doe" ~ "MR DOE")."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def union_names(old: Iterable[str], new: Iterable[str], *, name: str) -> list[str]:
    """``old`` aliases plus those of ``new`` not already there, in order; none equal to ``name``
    (compared in ``norm`` form). Used wherever two sets of names become one (merge, re-extraction)."""
    seen = {norm(name)}
    out: list[str] = []
    for alias in (*old, *new):
        if norm(alias) not in seen:
            seen.add(norm(alias))
            out.append(alias)
    return out


def name_forms(entity: PreviewEntity) -> set[str]:
    forms = {norm(n) for n in (entity.name, *entity.aliases)}
    forms |= {norm(_HONORIFIC.sub("", n)) for n in (entity.name, *entity.aliases) if _HONORIFIC.match(n)}
    return {f for f in forms if f}


# Roles that name nobody in particular: "Man" of scene 3 and "Man" of scene 40 are two people.
_GENERIC_PEOPLE = frozenset(
    {"man", "woman", "girl", "boy", "guy", "lady", "kid", "child", "person", "stranger", "gentleman"}
)
_NEAR_SCENES = 3


def _near(first: PreviewEntity, second: PreviewEntity) -> bool:
    a = set(first.scene_numbers) | {m.scene_number for m in first.mentions}
    b = set(second.scene_numbers) | {m.scene_number for m in second.mentions}
    return not a or not b or any(abs(x - y) <= _NEAR_SCENES for x in a for y in b)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earlier entity stays the representative


def merge_entities(
    entities: Sequence[PreviewEntity], same_as: Iterable[Sequence[str]] = ()
) -> list[PreviewEntity]:
    """Union entities of one type that share a name or alias, or that a ``same_as`` group ties.
    The first entity of a group (parser seeds come first) keeps its name and type. A generic role
    ("Man", "Woman") joins only entities seen in nearby scenes."""
    items = list(entities)
    uf = _Union(len(items))
    seen: dict[tuple[str, str], int] = {}
    for i, e in enumerate(items):
        for form in name_forms(e):
            key = (e.type, form)
            if key not in seen:
                seen[key] = i
            elif e.type != "character" or form not in _GENERIC_PEOPLE or _near(items[seen[key]], e):
                uf.join(seen[key], i)
    by_form: dict[str, list[int]] = {}
    for i, e in enumerate(items):
        for form in name_forms(e):
            by_form.setdefault(form, []).append(i)
    for group in same_as:
        members = [i for name in group for i in by_form.get(norm(name), [])]
        for a, b in itertools.pairwise(members):
            if items[a].type == items[b].type or "character" in (items[a].type, items[b].type):
                uf.join(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(uf.find(i), []).append(i)
    return [_combine([items[i] for i in members]) for _, members in sorted(groups.items())]


def _combine(group: list[PreviewEntity]) -> PreviewEntity:
    head = group[0]
    aliases: list[str] = []
    seen = {norm(head.name)}
    for e in group:
        for n in (e.name, *e.aliases):
            if norm(n) not in seen:
                seen.add(norm(n))
                aliases.append(n)
    scenes = sorted(
        {n for e in group for n in e.scene_numbers} | {m.scene_number for e in group for m in e.mentions}
    )
    return PreviewEntity(
        name=head.name,
        type=head.type,
        aliases=aliases,
        scene_numbers=scenes,
        mentions=cap_mentions(m for e in group for m in e.mentions),
    )


def cap_mentions(mentions: Iterable[EntityMention]) -> list[EntityMention]:
    """At most a few quotes per scene and a dozen overall, spread over the story: the first scenes
    introduce an asset, later ones show how it changes."""
    per_scene: dict[int, list[EntityMention]] = {}
    seen: set[str] = set()
    for m in mentions:
        if m.quote in seen:
            continue
        seen.add(m.quote)
        bucket = per_scene.setdefault(m.scene_number, [])
        if len(bucket) < MAX_MENTIONS_PER_SCENE:
            bucket.append(m)
    scenes = sorted(per_scene)
    out: list[EntityMention] = []
    rank = 0
    while len(out) < MAX_MENTIONS and any(len(per_scene[s]) > rank for s in scenes):
        out.extend(per_scene[s][rank] for s in scenes if len(per_scene[s]) > rank)
        rank += 1
    return sorted(out[:MAX_MENTIONS], key=lambda m: m.scene_number)
