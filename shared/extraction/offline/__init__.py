"""The offline extractor: a deterministic script breakdown without an LLM.

It is the embedded default when no LLM key is configured, and it seeds the LLM passes. It reads
the conventions screenplays already follow: characters are the speakers of dialogue cues,
locations come from scene headings, props are the nouns the writer capitalises on first appearance
("He pulls out a REVOLVER"), extras are plural crowd nouns in the action. Descriptions are built
from the action lines that introduce each entity.

Same input, same output, same order: entities are ordered by type, then by first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.extraction.offline.characters import find_characters
from shared.extraction.offline.describe import describe
from shared.extraction.offline.index import Found, ScriptIndex
from shared.extraction.offline.places import find_locations, place_words
from shared.extraction.offline.text import slugify
from shared.extraction.offline.things import find_extras, find_props
from shared.extraction.schemas import ENTITY_TYPES, EntityDescription, PreviewEntity
from shared.scripts.parser import ParsedScript

__all__ = ["describe_entities", "entity_key", "preview_entities"]


def entity_key(type: str, name: str) -> str:
    """Stable key that matches an entity across extraction runs: ``"character:john-doe"``."""
    return f"{type}:{slugify(name)}"


def preview_entities(script: ParsedScript) -> list[PreviewEntity]:
    """Pass 1: every character, prop, location and extras archetype, with aliases, scenes and
    evidence quotes."""
    index = ScriptIndex.build(script)
    cast = find_characters(index)
    locations = find_locations(index, cast)
    props = find_props(index, cast, place_words(locations))
    extras = find_extras(index, cast)
    found = _unique([*cast.characters, *props, *locations, *extras])
    rank = {kind: position for position, kind in enumerate(ENTITY_TYPES)}
    found.sort(key=lambda item: (rank[item.type], item.first, item.name))
    return [item.to_preview() for item in found if item.quotes]


def describe_entities(
    script: ParsedScript, entities: Sequence[PreviewEntity], *, style_hint: str | None = None
) -> list[EntityDescription]:
    """Pass 2: a description per entity, in the order given, composed from the script's evidence.

    Works for entities the user renamed or added, too: evidence is looked up again by name and
    aliases in the entity's scenes, falling back to its mentions.
    """
    return describe(ScriptIndex.build(script), entities, style_hint)


def _unique(found: list[Found]) -> list[Found]:
    # Keys must be unique within a preview; when two findings display alike, the first one wins.
    seen: set[str] = set()
    result: list[Found] = []
    for item in found:
        key = entity_key(item.type, item.name)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result
