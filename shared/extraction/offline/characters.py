"""Characters: the speakers of the script, folded and merged only on evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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

_VOICE_OF = re.compile(r"^(?P<speaker>.+?)'S (?:VOICE|THOUGHTS|INNER VOICE|VOICE-OVER|VOICEOVER)$")
_GROUP_SPLIT = re.compile(r"\s*(?:&|/|\+|,|\bAND\b)\s*")
_NAME_TOKEN = re.compile(r"^[A-Z][A-Z'\-]*$")


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
    if cue in DEVICE_CUES or words[-1] in {"VOICE", "VOICES"} or re.match(r"^P\.?A\.?(?:\s|$)", cue):
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
    cast.characters = sorted(merged.values(), key=lambda found: found.first)
    _add_action_mentions(index, cast)
    return cast


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
            if _VOICE_OF.match(fold(form)):
                continue
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
