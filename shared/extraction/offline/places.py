"""Locations: one entity per top-level place in the scene headings, sub-areas as aliases."""

from __future__ import annotations

import itertools
import re

from rapidfuzz.distance import OSA

from shared.extraction.offline.characters import Cast
from shared.extraction.offline.index import Found, ScriptIndex
from shared.extraction.offline.lexicon import CAMERA_WORDS
from shared.extraction.offline.text import fold, sentences
from shared.extraction.offline.wordnet import WordNet
from shared.extraction.offline.wordnet import load as load_wordnet

# Sub-areas are dash-separated ("HOUSE - KITCHEN"); commas are not split because they run both
# ways ("OVAL OFFICE, WHITE HOUSE" names the room first, "HOUSE, KITCHEN" the building first).
_AREA_SEPARATOR = re.compile(r"\s+-+\s*|\s*-+\s+|\s*--+\s*|\s*[–—]\s*")
_SHOT_PART = re.compile(
    r"(?<![A-Z])(?:P\.?\s?O\.?\s?V\.?|CLOSEUP|CLOSE-UP|CLOSE ON|CLOSE|ANGLE|INSERT|LONG SHOT|WIDE SHOT|WIDE"
    r"|TRACKING|MOVING|FROM ABOVE|FROM BELOW|ABOVE|OVERHEAD|AERIAL|ESTABLISHING|SHOT|ANOTHER AREA"
    r"|ANOTHER ANGLE|ANOTHER PART|SAME|CONTINUOUS|CONTINUED|INTERCUT|FLASHBACK|MONTAGE)(?![A-Z])"
)
# "HOTEL SIDEWALK (FROM ABOVE)", "CABIN ANOTHER AREA": a shot note written into the place itself.
_SHOT_TAG = re.compile(r"\s*\(([^()]*)\)")
_SHOT_TAIL = re.compile(
    r"\s+(?:ANOTHER AREA|ANOTHER ANGLE|ANOTHER PART|FROM ABOVE|FROM BELOW|MOVING|P\.?O\.?V\.?|AERIAL|OVERHEAD"
    r"|ESTABLISHING)\b.*$"
)
# Edits this small between two names of a place are typos ("TERMINAL BULIDING", "CHCICAGO").
_TYPO_RATIO = 0.1
_MIN_TYPO_LENGTH = 6
# The first scenes at a place quote their opening action: that is where the set is described.
_DESCRIBED_SCENES = 2


def split_place(location: str, cast: Cast) -> tuple[str, str]:
    """``"HOUSE - KITCHEN"`` -> ``("HOUSE", "KITCHEN")``; shot notes and character names dropped."""
    parts: list[str] = []
    location = _SHOT_TAG.sub(lambda tag: "" if _SHOT_PART.search(fold(tag[1])) else tag[0], location)
    for part in _AREA_SEPARATOR.split(location):
        part = _SHOT_TAIL.sub("", fold(part)) if _SHOT_TAIL.search(fold(part)) else part
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
    return _merge_duplicates(list(places.values()))


def _merge_duplicates(places: list[Found]) -> list[Found]:
    """One place under two names becomes one location with both as aliases: a typo ("TERMINAL
    BULIDING"), a synonym WordNet knows ("STAIRWAY"/"STAIRCASE", "BATH"/"BATHROOM"), a longer or
    shorter form of the same owner's room ("GIDEON'S HOTEL ROOM"/"GIDEON'S ROOM"), or a heading
    that names a sub-area of another place on its own ("JUNO'S BEDROOM" of "MACGUFF HOUSE").
    The place seen in more scenes keeps its name."""
    wordnet = load_wordnet()
    keys = [place_key(found.name) for found in places]
    areas = [
        {place_key(part) for alias in found.aliases for part in alias.split(" - ")[1:] if part.strip()}
        for found in places
    ]
    parent = list(range(len(places)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # A name used as another place's sub-area, or ending another place's name ("RM 412" of
    # "PALACE HOTEL RM 412"), joins it only when it fits one place: "KITCHEN" is in every house.
    area_owners: dict[str, set[int]] = {}
    for i, names in enumerate(areas):
        for name in names:
            area_owners.setdefault(name, set()).add(i)
    suffix_owners: dict[int, set[int]] = {}
    for i, j in itertools.permutations(range(len(places)), 2):
        if _suffix(keys[i], keys[j]):
            suffix_owners.setdefault(i, set()).add(j)
    for i, j in itertools.combinations(range(len(places)), 2):
        if (
            _same_place(keys[i], keys[j], wordnet)
            or (keys[i] in areas[j] and len(area_owners[keys[i]]) == 1)
            or (keys[j] in areas[i] and len(area_owners[keys[j]]) == 1)
            or (_prefix(keys[i], keys[j]) and bool(areas[i] & areas[j]))
            or suffix_owners.get(i) == {j}
            or suffix_owners.get(j) == {i}
            or (wordnet is not None and _room_of(keys[i], keys[j], wordnet))
        ):
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Found]] = {}
    for i, found in enumerate(places):
        groups.setdefault(root(i), []).append(found)
    merged: list[Found] = []
    for members in groups.values():
        head = max(members, key=lambda found: (len(found.quotes), -found.first[0]))
        for other in members:
            if other is head:
                continue
            head.alias(other.name, *other.aliases)
            head.first = min(head.first, other.first)
            for scene, quotes in other.quotes.items():
                mine = head.quotes.setdefault(scene, [])
                mine.extend(quote for quote in quotes if quote not in mine)
        merged.append(head)
    return sorted(merged, key=lambda found: found.first)


def _same_place(first: str, second: str, wordnet: WordNet | None) -> bool:
    if first == second:
        return True
    a, b = first.split(), second.split()
    # Optimal string alignment: a swapped pair of letters is one edit, as a typist makes it.
    if (
        min(len(first), len(second)) >= _MIN_TYPO_LENGTH
        and len(a) == len(b)
        and OSA.normalized_distance(first, second) <= _TYPO_RATIO
        and not _differ_in_digits(first, second)
    ):
        return True
    if a[:-1] == b[:-1] and wordnet is not None and _synonyms(a[-1], b[-1], wordnet):
        return True
    # "GIDEON HOTEL ROOM" / "GIDEON ROOM": same owner, same kind of room, a noun more or less
    # (an adjective makes another place: "SCOTT'S NEW APARTMENT" is not his old one; a name such
    # as "SAN FRANCISCO" does not).
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    if (
        len(a) == len(b)
        or len(shorter) < 2
        or a[0] != b[0]
        or a[-1] != b[-1]
        or not set(shorter) <= set(longer)
    ):
        return False
    extra = [word for word in longer if word not in shorter]
    return wordnet is not None and not any(_is_adjective(word, wordnet) for word in extra)


def _is_adjective(word: str, wordnet: WordNet) -> bool:
    noun, _, adjective = wordnet.usage(word)
    return adjective > noun


_DWELLINGS = frozenset({"HOUSE", "HOME", "APARTMENT", "FLAT", "MANSION", "CONDO", "COTTAGE", "TRAILER"})


def _room_of(first: str, second: str, wordnet: WordNet) -> bool:
    """ "JASON LIVING ROOM" is a room of "JASON HOUSE": same owner, a dwelling and a room."""
    a, b = first.split(), second.split()
    if len(a) < 2 or len(b) < 2 or a[0] != b[0]:
        return False
    for home, room in ((a, b), (b, a)):
        if home[-1] in _DWELLINGS and len(home) == 2 and room[-1] not in _DWELLINGS:
            lemma = wordnet.lemma(room[-1])
            senses = wordnet.senses(lemma) if lemma else ()
            if senses and "room" in wordnet.ancestors(senses[0]):
                return True
    return False


def _suffix(shorter: str, longer: str) -> bool:
    """ "RM 412" ends "PALACE HOTEL RM 412"; one word is too little to tell ("ROOM")."""
    a, b = shorter.split(), longer.split()
    return 2 <= len(a) < len(b) and b[-len(a) :] == a


def _prefix(first: str, second: str) -> bool:
    a, b = first.split(), second.split()
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return shorter != longer and longer[: len(shorter)] == shorter


def _differ_in_digits(first: str, second: str) -> bool:
    return re.sub(r"\D", "", first) != re.sub(r"\D", "", second)


def _synonyms(first: str, second: str, wordnet: WordNet) -> bool:
    """Whether one word is among the other's first meaning's words: BATHROOM is "bathroom, bath"."""
    one, other = wordnet.lemma(first), wordnet.lemma(second)
    if one is None or other is None:
        return False
    if one == other:
        return True
    for word, against in ((one, other), (other, one)):
        senses = wordnet.senses(word)
        if senses and against in wordnet.synset(senses[0])[2]:
            return True
    return False


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
