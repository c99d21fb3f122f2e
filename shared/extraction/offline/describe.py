"""Pass 2 without an LLM: descriptions composed from the script's own words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.extraction.offline.characters import classify_cue
from shared.extraction.offline.index import ScriptIndex
from shared.extraction.offline.lexicon import (
    APPEARANCE_NOUNS,
    COLOURS,
    FOLLOWERS,
    KNOWN_ACRONYMS,
    NOT_APPOSITIVE,
    VISUAL_WORDS,
)
from shared.extraction.offline.text import fold, name_pattern, sentences, trim_quote
from shared.extraction.offline.wordnet import load as load_wordnet
from shared.extraction.schemas import EntityDescription, PreviewEntity, VisualConflict

# A speaker with at least a fifth of the lead's speeches carries a storyline of their own: in the
# samples this marks Juno, Mark, Vanessa and Bleeker, or Scott, Baxter and Nak. Below three speeches
# nobody is a main character, however short the script.
_MAIN_CAST_SHARE = 0.2
_MAIN_CAST_MIN_SPEECHES = 3
# A prop, set or crowd seen in three scenes or more needs one locked look for continuity.
_RECURRING_SCENES = 3
# Quoting the script is not understanding it: offline confidence stays below what an LLM may claim.
_MAX_CONFIDENCE = 0.85
_MAX_EVIDENCE = 3
_MAX_SENTENCES = 5
_QUOTE = 240
_APPOSITIVE_WORDS = 14
_APPOSITIVE = re.compile(r"^\s*(?:\((?P<paren>[^)]{1,60})\)|,\s*(?P<clause>[^.;!?]{3,120}?)(?:,|\.|$))")
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)?")
# Times of day that say how a set is lit; "LATER" or "SAME" say nothing about it.
_LIGHT = frozenset({"DAY", "NIGHT", "MORNING", "EVENING", "AFTERNOON", "DUSK", "DAWN", "SUNSET", "SUNRISE"})
_Predicate = Callable[[str], bool]
_OPENINGS = 6


@dataclass(frozen=True, slots=True)
class _Evidence:
    scene: int
    sentence: str
    offset: int  # where the entity's name starts in the sentence, -1 if matched loosely


def describe(
    index: ScriptIndex, entities: Sequence[PreviewEntity], style_hint: str | None
) -> list[EntityDescription]:
    """``style_hint`` is accepted for the callers' sake and not written: the style belongs to the
    image prompt, which adds it to every description; written here it would be said twice and
    would stay behind when the project changes style."""
    speeches = _speech_counts(index, entities)
    lead = max((speeches.get(entity.name, 0) for entity in entities if entity.type == "character"), default=0)
    owners = _name_owners(index, entities)
    # Words of the characters' names, shown capitalised when a quote writes them in capitals.
    names = frozenset(
        word
        for entity in entities
        if entity.type == "character"
        for form in (entity.name, *entity.aliases)
        for word in fold(form).replace("'S", "").split()
    )
    results: list[EntityDescription] = []
    for entity in entities:
        evidence = _evidence(index, entity)
        if entity.type == "character":
            count = speeches.get(entity.name, 0)
            priority = count >= max(_MAIN_CAST_MIN_SPEECHES, _MAIN_CAST_SHARE * lead)
            conflicts = _conflicts(evidence, APPEARANCE_NOUNS, _only_names(owners, entity.name))
        else:
            priority = len(set(entity.scene_numbers)) >= _RECURRING_SCENES
            conflicts = _conflicts(evidence, _head_nouns(entity), lambda _sentence: True)
        sentences_out, confidence = _compose(index, entity, evidence, names)
        results.append(
            EntityDescription(
                name=entity.name,
                description=" ".join(sentences_out[:_MAX_SENTENCES]),
                confidence=confidence,
                priority=priority,
                conflicts=conflicts,
            )
        )
    return results


def _speech_counts(index: ScriptIndex, entities: Sequence[PreviewEntity]) -> dict[str, int]:
    by_cue = Counter(
        parts[0]
        for speech in index.speeches
        for kind, parts in [classify_cue(speech.cue)]
        if kind == "person"
    )
    counts: dict[str, int] = {}
    for entity in entities:
        if entity.type == "character":
            forms = {fold(form) for form in (entity.name, *entity.aliases)}
            counts[entity.name] = sum(by_cue[form] for form in forms)
    return counts


def _variants(index: ScriptIndex, entity: PreviewEntity) -> set[str]:
    """How the action may write the entity. Characters match case-sensitively, in capitals or
    in display case ("JUNO", "Juno"), so the name "Mark" is not the verb "mark"."""
    forms = {entity.name, *entity.aliases}
    if entity.type == "location":
        forms = {form.split(" - ")[0] for form in forms}
    if entity.type == "character":
        forms |= {fold(form) for form in forms} | {index.casing.display(fold(form)) for form in forms}
    return {form for form in forms if len(form) > 1}


def _name_owners(index: ScriptIndex, entities: Sequence[PreviewEntity]) -> dict[str, str]:
    """Each written form of a character name -> the character, for forms only one of them uses."""
    claims: dict[str, set[str]] = {}
    for entity in entities:
        if entity.type == "character":
            for form in _variants(index, entity):
                claims.setdefault(form, set()).add(entity.name)
    return {form: names.pop() for form, names in claims.items() if len(names) == 1}


def _only_names(owners: dict[str, str], name: str) -> _Predicate:
    """Whether a sentence names no character but ``name``: "Mary, in a green dress, smiles at
    John's black hat" says nothing certain about either one's colours."""
    pattern = name_pattern(owners) if owners else None

    def only(sentence: str) -> bool:
        if pattern is None:
            return True
        named = {owners.get(match[1].replace("’", "'"), name) for match in pattern.finditer(sentence)}
        return named <= {name}

    return only


def _evidence(index: ScriptIndex, entity: PreviewEntity) -> list[_Evidence]:
    variants = _variants(index, entity)
    pattern = name_pattern(variants, ignore_case=entity.type != "character")
    found: list[_Evidence] = []
    scenes = entity.scene_numbers or [scene.number for scene in index.scenes]
    for action in index.actions_in(scenes) if variants else []:
        for _, sentence in sentences(action.text):
            if (match := pattern.search(sentence)) is not None:
                found.append(_Evidence(action.scene, sentence, match.start()))
    if not found and entity.type != "character":
        # An entity the LLM or the user named differently: its mentions are the evidence left.
        # A character's mentions may be dialogue, which says nothing about how they look.
        headings = {scene.heading for scene in index.scenes}
        found = [
            _Evidence(mention.scene_number, mention.quote, -1)
            for mention in entity.mentions
            if mention.quote not in headings
        ]
    return found


def _compose(
    index: ScriptIndex, entity: PreviewEntity, evidence: list[_Evidence], names: frozenset[str] = frozenset()
) -> tuple[list[str], float]:
    """Readable sentences about how the entity looks: a lead that says what it is, then the
    script's own sentences that show it, in the script's words but not in its capitals, camera
    notes and fragments left out."""
    scenes = sorted(set(entity.scene_numbers))
    intro = evidence[0] if evidence else None
    opening: list[str] = []
    appositive = None
    if entity.type == "character":
        intro = next((item for item in evidence if item.offset >= 0 and _is_upper_at(item)), intro)
        appositive = _appositive(intro) if intro else None
        opening = [_character_lead(entity.name, appositive)] if appositive else []
    elif entity.type == "location":
        opening, intro = _location_lead(index, entity), _opening_action(index, scenes)
    elif entity.type == "extra_archetype":
        opening = [f"{entity.name} are background extras."]
    elif entity.type == "prop" and (phrase := _prop_phrase(entity, evidence)):
        opening = [f"{phrase[0].upper()}{phrase[1:]}."]
    chosen: list[str] = []
    candidates = ([intro] if intro is not None else []) + [
        item for item in evidence if _is_visual(item.sentence)
    ]
    if entity.type == "location":
        candidates = [*_opening_actions(index, scenes), *candidates]
    for item in candidates:
        quote = _readable(index, item.sentence, names)
        if quote is not None and len(chosen) < _MAX_EVIDENCE and quote not in chosen and quote not in opening:
            chosen.append(quote)
    if not chosen:
        kind = "group of extras" if entity.type == "extra_archetype" else entity.type
        article = "an" if kind[0] in "aeiou" else "a"
        where = _scene_phrase(scenes)
        note = f"{entity.name} is {article} {kind} {where}; the script gives no visual detail yet."
        return [*opening[:1], note] if entity.type in {"location", "character"} else [note], 0.2
    confidence = min(_MAX_CONFIDENCE, 0.3 + 0.15 * len(chosen) + (0.1 if appositive else 0.0))
    return [*opening, *chosen], round(confidence, 2)


_AGE = re.compile(
    r"^(?:early |mid-?|late )?(?:\d0s|twenties|thirties|forties|fifties|sixties|seventies|eighties)$",
    re.IGNORECASE,
)
_NO_ARTICLE = re.compile(
    r"^(?:a|an|the|his|her|their|its|one|two|three|in|on|at|from|with|without|wearing|dressed|about"
    r"|around|nearly|almost|now|still|also|sixteen|seventeen|eighteen|\d)\b",
    re.IGNORECASE,
)


def _character_lead(name: str, appositive: str) -> str:
    """ "JASON, in his thirties," -> "Jason is in his thirties."; "(40s)" -> "... in their 40s";
    "retired police detective" -> "... is a retired police detective"."""
    if _AGE.match(appositive):
        return f"{name} is in their {appositive}."
    words = appositive.lower().split()
    participle = words[0].endswith("ing") or (
        words[0].endswith("ed") and len(words) > 1 and words[1] in {"in", "as", "for", "with", "by", "like"}
    )
    if _NO_ARTICLE.match(appositive) or appositive[:1].isupper() or participle:
        return f"{name} is {appositive}."
    article = "an" if appositive[0].lower() in "aeiou" else "a"
    return f"{name} is {article} {appositive}."


_CAMERA_LEAD = re.compile(
    r"^(?:CAMERA|CU|ECU|MCU|CLOSE|ANGLE|INSERT|ESTABLISHING|FLASHBACK|POV|P\.O\.V\.|WIDE|PAN|TRACKING|"
    r"SUPER|TITLE|INTERCUT|MONTAGE|BACK TO|CUT TO|DISSOLVE|FADE|WE SEE|WE HEAR|ON)\b",
)
# A clause that needs a main clause after a comma: "As REGGIE leaves the elevator two young ..."
_SUBORDINATE = re.compile(
    r"^(?:as|when|while|if|because|though|although|until|before|after|since|into|onto|from|with)\b",
    re.IGNORECASE,
)
_LEADING_CONJUNCTION = re.compile(r"^(?:and|but|then|so|yet)\s+(?=\S)", re.IGNORECASE)
_CAPS_WORD = re.compile(r"[A-Z][A-Za-z'’\-]*[A-Z][A-Za-z'’\-]*")
_TITLES = frozenset({"MR", "MRS", "MS", "DR", "ST", "JR", "SR"})
_PAREN = re.compile(r"\s*\([^)]*\)")
_MIN_WORDS = 4


def _readable(index: ScriptIndex, sentence: str, names: frozenset[str] = frozenset()) -> str | None:
    """The sentence as prose, or ``None`` for a camera note, a sound, a shouted line or a fragment.
    Screenplay capitals become ordinary case: names as the script writes them in mixed case
    ("JUNO MacGUFF" -> "Juno MacGuff"), other words in lower case, acronyms kept."""
    text = _LEADING_CONJUNCTION.sub("", " ".join(sentence.split()))
    if _CAMERA_LEAD.match(text) or (_SUBORDINATE.match(text) and "," not in text) or text[:1].islower():
        return None
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        return None  # "OMINOUS, THREATENING MUSIC."
    text = _PAREN.sub("", text)
    words = text.split()
    if len(words) < _MIN_WORDS or (len(words) > 1 and words[1].endswith("ing") and words[0][:1].isupper()):
        return None  # "Juno marching down the street": a shot description, not a sentence
    recased = _CAPS_WORD.sub(lambda match: _recase(index, match[0], names), text)
    recased = recased[:1].upper() + recased[1:]
    quote = trim_quote(recased, _QUOTE).rstrip(" :;,-–—")
    if quote.endswith("…"):
        return None  # a cut sentence is a fragment
    return quote if quote.endswith((".", "!", "?", '"', "”")) else f"{quote}."


def _recase(index: ScriptIndex, word: str, names: frozenset[str]) -> str:
    bare = word.replace("’", "'")
    possessive = bare.upper().endswith("'S")
    stem = bare[:-2] if possessive else bare
    if stem.upper() in _TITLES:
        shown = stem.capitalize()  # "MR." -> "Mr."
    elif stem.upper() in names:
        shown = index.casing.word(stem)  # a name: "JUNO" -> "Juno", "DICK" -> "Dick"
    elif index.casing.written_lower(stem):
        shown = stem.lower()  # a common word the script also writes in lower case: "DOG"
    elif _is_acronym(stem):
        shown = stem.upper()
    elif index.casing.has_title_form(stem):
        shown = index.casing.word(stem)
    elif (wordnet := load_wordnet()) is not None and wordnet.lemma(stem) is None and "-" not in stem:
        shown = index.casing.word(stem)  # a word no dictionary has is a name: "PORSCHE"
    else:
        shown = stem.lower()
    return f"{shown}{word[-2:].lower()}" if possessive else shown


def _is_acronym(word: str) -> bool:
    letters = word.replace(".", "").replace("-", "")
    return word.upper() in KNOWN_ACRONYMS or (len(letters) <= 4 and not set("AEIOUY") & set(letters.upper()))


_NOUN_PHRASE_LEAD = re.compile(
    r"\b(?:a|an|the|his|her|their|its|my|your|our|some|two|three|several)\s+$", re.IGNORECASE
)


def _prop_phrase(entity: PreviewEntity, evidence: list[_Evidence]) -> str | None:
    """ "a fetid-looking leather recliner": the fullest noun phrase that introduces the prop."""
    best: str | None = None
    for item in evidence:
        if item.offset < 0:
            continue
        before = item.sentence[: item.offset]
        words = before.split()
        for size in range(min(4, len(words)), 0, -1):
            lead = " ".join(words[-size:])
            if _NOUN_PHRASE_LEAD.search(words[-size] + " ") and all(
                w.islower()
                and w.isascii()
                and w.replace("-", "").isalpha()
                and not _NOUN_PHRASE_LEAD.search(f"{w} ")
                for w in words[len(words) - size + 1 :]
            ):
                after = item.sentence[item.offset :].split()
                head = after[0].strip(',.;:!?"”') if after else ""
                following = after[1] if len(after) > 1 and after[0] == head else ""
                if following[:1].islower() and not following.endswith("s") and following not in FOLLOWERS:
                    break  # "a chrome-edged coffee table": the prop's word qualifies another noun
                phrase = f"{lead} {head.lower()}"
                if best is None or len(phrase) > len(best):
                    best = phrase
                break
    if best is None:
        return None
    first, _, remainder = best.partition(" ")
    if first.lower() in {"his", "her", "their", "its", "my", "your", "our", "the"}:
        article = "an" if remainder[:1].lower() in "aeiou" else "a"
        best = f"{article} {remainder}" if not remainder.endswith("s") else remainder
    return best


def _is_upper_at(item: _Evidence) -> bool:
    word = item.sentence[item.offset :].split(maxsplit=1)[0] if item.sentence[item.offset :].strip() else ""
    return word.isupper()


def _appositive(item: _Evidence) -> str | None:
    """ "JASON, in his thirties, and obviously in command, climbs..." -> "in his thirties" """
    rest = item.sentence[item.offset :]
    name_end = re.match(r"[^\s,(]+(?:\s+[A-Z][^\s,(]*)*", rest)
    if name_end is None:
        return None
    match = _APPOSITIVE.match(rest[name_end.end() :])
    if match is None:
        return None
    text = (match["paren"] or match["clause"] or "").strip()
    words = text.split()
    if not words or len(words) > _APPOSITIVE_WORDS or words[0].lower() in NOT_APPOSITIVE:
        return None  # "BREN, and LIBERTY BELL sit..." continues a list, it describes nobody
    return text


def _location_lead(index: ScriptIndex, entity: PreviewEntity) -> list[str]:
    scenes = [scene for scene in index.scenes if scene.number in set(entity.scene_numbers) and scene.int_ext]
    kinds = sorted(
        {
            {"INT": "interior", "EXT": "exterior"}.get(scene.int_ext or "", "interior/exterior")
            for scene in scenes
        }
    )
    times = sorted({scene.time_of_day.lower() for scene in scenes if scene.time_of_day in _LIGHT})
    areas = [alias.split(" - ", 1)[1] for alias in entity.aliases if " - " in alias]
    kind = " and ".join(kinds) or "a"
    article = "an" if kind[0] in "aeiou" else "a"
    lead = f"{entity.name} is {article} {kind} location"
    lead += f", seen {' and '.join(_at(time) for time in times)}." if times else "."
    unique: list[str] = []
    for area in areas:
        if area.lower() not in {seen.lower() for seen in unique}:
            unique.append(area)
    if not unique:
        return [lead]
    shown = unique[:6]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return [lead, f"Its areas include {listed}."]


def _at(time: str) -> str:
    return {"day": "by day", "night": "at night"}.get(
        time, f"at {time}" if time in {"dusk", "dawn", "sunset", "sunrise"} else f"in the {time}"
    )


def _opening_actions(index: ScriptIndex, scenes: list[int]) -> list[_Evidence]:
    """The first sentences of the first actions at a place: where the writer describes the set."""
    found: list[_Evidence] = []
    for scene in index.scenes:
        if scene.number in scenes and scene.int_ext:
            action = next((element for element in scene.elements if element.kind == "action"), None)
            if action is not None:
                found += [_Evidence(scene.number, text, -1) for _, text in sentences(action.text)[:2]]
        if len(found) >= _OPENINGS:
            break
    return found


def _opening_action(index: ScriptIndex, scenes: list[int]) -> _Evidence | None:
    for scene in index.scenes:
        if scene.number in scenes and scene.int_ext:
            for element in scene.elements:
                if element.kind == "action" and (parts := sentences(element.text)):
                    return _Evidence(scene.number, parts[0][1], -1)
    return None


def _scene_phrase(scenes: list[int]) -> str:
    if not scenes:
        return "in the script"
    if len(scenes) == 1:
        return f"in scene {scenes[0]}"
    shown = ", ".join(str(number) for number in scenes[:8])
    return f"in {len(scenes)} scenes ({shown}{', ...' if len(scenes) > 8 else ''})"


def _is_visual(sentence: str) -> bool:
    tokens = set(_TOKEN.findall(sentence.lower()))
    return bool(tokens & VISUAL_WORDS or tokens & COLOURS.keys() or tokens & APPEARANCE_NOUNS) or bool(
        re.search(r"\b\d0s\b|\byears? old\b", sentence)
    )


def _head_nouns(entity: PreviewEntity) -> set[str]:
    head = entity.name.split(" - ")[0].split()[-1].lower() if entity.name.split() else ""
    return {head, head.rstrip("s")} - {""}


def _conflicts(
    evidence: list[_Evidence], nouns: set[str] | frozenset[str], owned: _Predicate
) -> list[VisualConflict]:
    """Contradictory colours for the same noun in different scenes: "coat is blue in scene 3,
    red in scene 9". Sentences naming another character too are skipped: the coat may be theirs."""
    seen: dict[str, dict[str, int]] = {}
    for item in evidence:
        if not owned(item.sentence):
            continue
        tokens = _TOKEN.findall(item.sentence.lower())
        for position, token in enumerate(tokens):
            colour = COLOURS.get(token)
            noun = next((word for word in tokens[position + 1 : position + 3] if word in nouns), None)
            if colour and noun:
                seen.setdefault(noun, {}).setdefault(colour, item.scene)
    conflicts = []
    for noun, colours in seen.items():
        if len(colours) > 1 and len(set(colours.values())) > 1:
            ordered = sorted(colours.items(), key=lambda pair: (pair[1], pair[0]))
            detail = f"{noun} is " + ", ".join(f"{colour} in scene {scene}" for colour, scene in ordered)
            conflicts.append(VisualConflict(detail=detail, scene_numbers=sorted(set(colours.values()))))
    return conflicts
