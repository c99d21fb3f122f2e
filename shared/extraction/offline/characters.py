"""Characters: the speakers of the script, folded and merged only on evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from shared.extraction.offline.index import Found, ScriptIndex
from shared.extraction.offline.lexicon import (
    CAMERA_WORDS,
    CROWD_NOUNS,
    DEVICE_CUES,
    FUNCTION_WORDS,
    GROUP_CUE_WORDS,
    HONORIFICS,
    PERSON_NOUNS,
    SOUND_WORDS,
)
from shared.extraction.offline.text import Casing, caps_runs, fold, name_pattern, sentence_at
from shared.scripts.elements import word_set

_VOICE_OF = re.compile(r"^(?P<speaker>.+?)'S (?:VOICE|THOUGHTS|INNER VOICE|VOICE-OVER|VOICEOVER)$")
_POV = re.compile(r"(?<![A-Z])P\.?\s?O\.?\s?V(?![A-Z])")
_GROUP_SPLIT = re.compile(r"\s*(?:&|/|\+|,|\bAND\b)\s*")
_NAME_TOKEN = re.compile(r"^[A-Z][A-Z'\-]*$")
_SAME_STRANGER_GAP = 3
_STRETCH = re.compile(r"\(scene \d+\)$")
_MIN_FUZZY_NAME = 5
_LONG_NAME = 9
# Cues that name nobody in particular.
GENERIC_PEOPLE = word_set("MAN WOMAN GIRL BOY GUY LADY KID CHILD PERSON STRANGER GENTLEMAN TEENAGER TEEN")
GENERIC_PEOPLE_ADJECTIVES = word_set("OLD YOUNG ELDERLY LITTLE FAT TALL SHORT OTHER ANOTHER SECOND THIRD")
# A typo in one cue sits in a scene where the right spelling speaks too; a real second speaker
# a letter apart would speak more than this.
_TYPO_SPEECHES = 2


@dataclass(slots=True)
class CrowdSeed:
    noun: str
    scene: int
    position: int
    quote: str


@dataclass(slots=True)
class Cast:
    characters: list[Found] = field(default_factory=list)
    # Words of the characters' names (folded), minus words the script also writes in lower case:
    # an upper-case run containing one is a person, never a prop or a sub-area.
    name_words: set[str] = field(default_factory=set)
    crowd_seeds: list[CrowdSeed] = field(default_factory=list)


def classify_cue(cue: str) -> tuple[str, list[str]]:
    """``("person", [name])``, ``("group", parts)`` or ``("device", [])`` for a normalized cue."""
    cue = fold(cue)
    if (voice := _VOICE_OF.match(cue)) is not None:
        return "person", [voice["speaker"]]
    words = cue.split()
    if _GROUP_SPLIT.search(cue) or any(word in GROUP_CUE_WORDS for word in words):
        return "group", [part for part in _GROUP_SPLIT.split(cue) if part]
    if cue.lower() in CROWD_NOUNS:
        return "group", [cue]
    if (
        cue in DEVICE_CUES
        or words[-1] in {"VOICE", "VOICES"}
        or re.match(r"^P\.?A\.?(?:\s|$)", cue)
        or _POV.search(cue)
    ):
        return "device", []
    return "person", [cue]


def find_characters(index: ScriptIndex) -> Cast:
    """Speakers from the cues (extensions folded, groups and devices set aside), renamed to the
    full name the action introduces them with when that is unambiguous, plus every scene where
    the action names them."""
    cast = Cast()
    speakers: dict[str, Found] = {}
    for speech in index.speeches:
        kind, parts = classify_cue(speech.cue)
        if kind == "group":
            cast.crowd_seeds += [
                CrowdSeed(part, speech.scene, speech.position, speech.text)
                for part in parts
                if part.lower() in CROWD_NOUNS or part in {"CROWD", "MOB"}
            ]
        if kind != "person":
            continue
        speaker = speakers.setdefault(parts[0], Found(type="character", name=parts[0]))
        speaker.alias(fold(speech.cue))
        speaker.speeches += 1
        speaker.see(speech.scene, speech.position)
        speaker.fallback.setdefault(speech.scene, speech.text)
    full_names = _full_names(index, {cue: speaker.first[0] for cue, speaker in speakers.items()})
    merged: dict[str, Found] = {}
    for cue, speaker in speakers.items():
        full = full_names.get(cue, cue)
        character = merged.setdefault(full, Found(type="character", name=index.casing.display(full)))
        character.alias(cue, *speaker.aliases, full)
        character.speeches += speaker.speeches
        character.first = min(character.first, speaker.first)
        for scene in speaker.quotes:
            character.quotes.setdefault(scene, [])
            character.fallback.setdefault(scene, speaker.fallback.get(scene, ""))
    characters = _link_misspellings(list(merged.values()))
    characters = [piece for character in characters for piece in _split_strangers(character)]
    cast.characters = sorted(characters, key=lambda found: found.first)
    _add_action_mentions(index, cast)
    return cast


def _is_generic(name: str) -> bool:
    """ "MAN", "OLD WOMAN", "YOUNG GUY": a role, not a name; the same cue in scenes far apart is
    somebody else each time."""
    words = fold(name).split()
    return (
        bool(words)
        and words[-1] in GENERIC_PEOPLE
        and all(word in GENERIC_PEOPLE or word in GENERIC_PEOPLE_ADJECTIVES for word in words)
    )


def _split_strangers(character: Found) -> list[Found]:
    """A generic cue ("MAN") speaking in scenes far apart becomes one character per stretch of
    nearby scenes, named after its first scene ("Man (scene 40)"): the man at the airport is not
    the man on the boat. A stretch allows a couple of scenes of cutaway."""
    if not _is_generic(character.name):
        return [character]
    scenes = sorted(character.quotes)
    stretches: list[list[int]] = []
    for scene in scenes:
        if stretches and scene - stretches[-1][-1] <= _SAME_STRANGER_GAP:
            stretches[-1].append(scene)
        else:
            stretches.append([scene])
    if len(stretches) < 2:
        return [character]
    pieces: list[Found] = []
    for stretch in stretches:
        piece = Found(type="character", name=f"{character.name} (scene {stretch[0]})")
        piece.first = (stretch[0], 0, 0)
        for scene in stretch:
            piece.quotes[scene] = list(character.quotes.get(scene, []))
            if scene in character.fallback:
                piece.fallback[scene] = character.fallback[scene]
        pieces.append(piece)
    return pieces


def _link_misspellings(characters: list[Found]) -> list[Found]:
    """ "PENTHOLLOW" and "PANTHOLLOW", "DR. RUMACK" and "DR. ROMACK": one person whose name the
    writer mistyped. Linked when the names are a letter or two apart (optimal string alignment,
    so swapped letters count once), do not both speak at length in one scene (two people talking
    to each other are two people), and differ neither in a number nor in a title ("MR." / "MRS.")."""
    ordered = sorted(characters, key=lambda found: (-found.speeches, found.first))
    kept: list[Found] = []
    for character in ordered:
        target = next((other for other in kept if _misspelt(other, character)), None)
        if target is None:
            kept.append(character)
            continue
        target.alias(character.name, *character.aliases)
        target.speeches += character.speeches
        target.first = min(target.first, character.first)
        for scene, quotes in character.quotes.items():
            target.quotes.setdefault(scene, []).extend(quotes)
            if scene in character.fallback:
                target.fallback.setdefault(scene, character.fallback[scene])
    return kept


def _misspelt(first: Found, second: Found) -> bool:
    a, b = fold(first.name), fold(second.name)
    if a == b or _is_generic(a) or _is_generic(b) or len(a.split()) != len(b.split()):
        return False
    if min(len(a), len(b)) < _MIN_FUZZY_NAME or re.sub(r"\D", "", a) != re.sub(r"\D", "", b):
        return False
    if [w for w in a.split() if w in HONORIFICS] != [w for w in b.split() if w in HONORIFICS]:
        return False
    # Only the names' letters are compared: a differing title is already ruled out.
    distance = OSA.distance(a, b)
    if distance > (1 if len(a) < _LONG_NAME else 2):
        return False
    if set(first.quotes) & set(second.quotes) and min(first.speeches, second.speeches) > _TYPO_SPEECHES:
        return False
    return a[0] == b[0]


def _full_names(index: ScriptIndex, cues: dict[str, int]) -> dict[str, str]:
    """Map a cue to the full name the action introduces it with, when exactly one fits.

    "STEEL" speaks and the action says "DICK STEEL, his former partner": the cue becomes Dick Steel.
    The cue word must read as a name (written capitalised in the text, never in lower case, not a
    role like GIRL) and the other words must never appear in lower case either, so "TOUGH GIRL"
    never absorbs "GIRL". Honorific cues ("CAPTAIN OVEUR") only match an introduction carrying the
    same honorific ("CAPTAIN CLARENCE OVEUR"); "MRS. OVEUR" is never merged into Clarence. The
    introduction must come no later than the cue's first scene: a writer introduces a character
    before they speak, and a namesake met later ("JACK KILPATRICK" on a newscast) is someone else.
    """
    introduced = _introduced_names(index)
    result: dict[str, str] = {}
    for cue, first_scene in cues.items():
        candidates = [name for name, scene in introduced.items() if scene <= first_scene]
        words = cue.split()
        if len(words) == 1 and _reads_as_name(index.casing, cue):
            fits = {
                name
                for name, _ in candidates
                if cue in (name.split()[0], name.split()[-1])
                and _other_words_are_names(index.casing, name, cue)
            }
        elif len(words) == 2 and words[0] in HONORIFICS:
            fits = {name for name, title in candidates if title == words[0] and name.split()[-1] == words[1]}
        else:
            continue
        if len(fits) == 1:
            result[cue] = fits.pop()
    return result


def _introduced_names(index: ScriptIndex) -> dict[tuple[str, str], int]:
    """Upper-case runs of two or three name words in the action, with any honorific before them,
    mapped to the scene of their first appearance."""
    names: dict[tuple[str, str], int] = {}
    for action in index.actions:
        for run in caps_runs(action.text):
            segment: list[str] = []
            for word in [*(fold(word.text) for word in run), "THE"]:
                possessive = word.endswith("'S")
                if word in FUNCTION_WORDS or word in CAMERA_WORDS or word in SOUND_WORDS:
                    _keep_name(names, segment, action.scene)
                    segment = []
                    continue
                segment.append(word[:-2] if possessive else word)
                if possessive:
                    _keep_name(names, segment, action.scene)
                    segment = []
    return names


def _keep_name(names: dict[tuple[str, str], int], segment: list[str], scene: int) -> None:
    title = ""
    while segment and segment[0] in HONORIFICS:
        title, segment = segment[0], segment[1:]
    if 2 <= len(segment) <= 3 and all(_NAME_TOKEN.match(word) for word in segment):
        names.setdefault((" ".join(segment), title), scene)


def _reads_as_name(casing: Casing, word: str) -> bool:
    return word not in PERSON_NOUNS and not casing.written_lower(word) and casing.has_title_form(word)


def _other_words_are_names(casing: Casing, name: str, cue: str) -> bool:
    return all(
        word == cue
        or (word not in PERSON_NOUNS and word not in HONORIFICS and not casing.written_lower(word))
        for word in name.split()
    )


def _add_action_mentions(index: ScriptIndex, cast: Cast) -> None:
    """Scenes where a character is named in the action, with the sentence as evidence."""
    claims: dict[str, set[int]] = {}
    for number, character in enumerate(cast.characters):
        for form in {character.name, *character.aliases}:
            if _VOICE_OF.match(fold(form)) or _STRETCH.search(form):
                continue  # "Man (scene 40)" is never written so in the action
            for variant in {fold(form), index.casing.display(fold(form)), character.name}:
                claims.setdefault(variant, set()).add(number)
            cast.name_words.update(
                word for word in fold(form).split() if not index.casing.written_lower(word)
            )
    variants = {variant: owners.pop() for variant, owners in claims.items() if len(owners) == 1}
    if not variants:
        return
    pattern = name_pattern(variants)
    for action in index.actions:
        seen: set[int] = set()
        for match in pattern.finditer(action.text):
            owner = variants[match[1].replace("’", "'")]
            if owner not in seen:
                seen.add(owner)
                quote = sentence_at(action.text, match.start())
                cast.characters[owner].see(action.scene, action.position, match.start(), quote)
