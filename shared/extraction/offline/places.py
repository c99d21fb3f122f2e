"""Locations: one entity per top-level place in the scene headings, sub-areas as aliases."""

from __future__ import annotations

import re

from shared.extraction.offline.characters import Cast
from shared.extraction.offline.index import Found, ScriptIndex
from shared.extraction.offline.lexicon import CAMERA_WORDS
from shared.extraction.offline.text import fold, sentences

# Sub-areas are dash-separated ("HOUSE - KITCHEN"); commas are not split because they run both
# ways ("OVAL OFFICE, WHITE HOUSE" names the room first, "HOUSE, KITCHEN" the building first).
_AREA_SEPARATOR = re.compile(r"\s+-+\s*|\s*-+\s+|\s*--+\s*|\s*[–—]\s*")
_SHOT_PART = re.compile(
    r"\b(?:POV|CLOSEUP|CLOSE-UP|CLOSE ON|ANGLE|INSERT|LONG SHOT|WIDE SHOT|TRACKING|MOVING)\b"
)
# The first scenes at a place quote their opening action: that is where the set is described.
_DESCRIBED_SCENES = 2


def split_place(location: str, cast: Cast) -> tuple[str, str]:
    """``"HOUSE - KITCHEN"`` -> ``("HOUSE", "KITCHEN")``; shot notes and character names dropped."""
    parts: list[str] = []
    for part in _AREA_SEPARATOR.split(location):
        folded = fold(part)
        if not folded:
            continue
        if _SHOT_PART.search(folded) or folded in CAMERA_WORDS:
            break  # "CABIN - ANOTHER AREA - CLOSEUP - A PLATE OF JELLO": the rest is a shot
        if parts and all(word in cast.name_words for word in folded.split()):
            continue  # "LAVATORY - JACK" is Jack in the lavatory
        parts.append(part.strip())
    if not parts:
        return "", ""
    return parts[0], " - ".join(parts[1:])


def place_key(place: str) -> str:
    """ "BLEEKER'S HOUSE" and "BLEEKER HOUSE" are one place; so are INT. and EXT. of it."""
    key = re.sub(r"'S\b", "", fold(place))
    return re.sub(r"^THE\s+", "", key)


def find_locations(index: ScriptIndex, cast: Cast) -> list[Found]:
    places: dict[str, Found] = {}
    current: Found | None = None
    for scene in index.scenes:
        if scene.int_ext is None:
            # A forced heading (".BACK IN THE APARTMENT", ".SNIPER SCOPE POV") is a shot inside
            # the place established last, not a new location.
            if current is not None:
                current.see(scene.number, -1)
            continue
        place, area = split_place(scene.location, cast)
        if not place:
            current = None
            continue
        key = place_key(place)
        found = places.get(key)
        if found is None:
            found = places[key] = Found(type="location", name=index.casing.display(place, acronyms=True))
        found.alias(fold(place))
        if area:
            found.alias(index.casing.display(f"{place} - {area}", acronyms=True))
        found.see(scene.number, -1, 0, scene.heading)
        if len(found.quotes) <= _DESCRIBED_SCENES:
            opening = next((element.text for element in scene.elements if element.kind == "action"), "")
            if opening:
                found.see(scene.number, -1, 0, sentences(opening)[0][1])
        current = found
    return list(places.values())


def place_words(locations: list[Found]) -> set[str]:
    """Head nouns of the places and areas in the headings, so "her BEDROOM" is not a prop (while
    the PHONE of "SCHOOL - PHONE BOOTH" still may be)."""
    return {
        fold(part).split()[-1]
        for found in locations
        for alias in (found.name, *found.aliases)
        for part in alias.split(" - ")
        if fold(part)
    }
