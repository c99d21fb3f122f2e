"""Pass 2 without an LLM: descriptions composed from the script's own words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.extraction.offline.characters import classify_cue
from shared.extraction.offline.index import ScriptIndex
from shared.extraction.offline.lexicon import APPEARANCE_NOUNS, COLOURS, NOT_APPOSITIVE, VISUAL_WORDS
from shared.extraction.offline.text import fold, name_pattern, sentences, trim_quote
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


@dataclass(frozen=True, slots=True)
class _Evidence:
    scene: int
    sentence: str
    offset: int  # where the entity's name starts in the sentence, -1 if matched loosely


def describe(
    index: ScriptIndex, entities: Sequence[PreviewEntity], style_hint: str | None
) -> list[EntityDescription]:
    speeches = _speech_counts(index, entities)
    lead = max((speeches.get(entity.name, 0) for entity in entities if entity.type == "character"), default=0)
    owners = _name_owners(index, entities)
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
        sentences_out, confidence = _compose(index, entity, evidence)
        if style_hint:
            style = f"Render it in the project's visual style: {style_hint.strip().rstrip('.')}."
            sentences_out = [*sentences_out[: _MAX_SENTENCES - 1], style]
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


def _compose(index: ScriptIndex, entity: PreviewEntity, evidence: list[_Evidence]) -> tuple[list[str], float]:
    """What the script states: an identifying lead where there is one, then the sentence that
    introduces the entity and the sentences that describe how it looks."""
    scenes = sorted(set(entity.scene_numbers))
    intro = evidence[0] if evidence else None
    opening: list[str] = []
    appositive = None
    if entity.type == "character":
        intro = next((item for item in evidence if item.offset >= 0 and _is_upper_at(item)), intro)
        appositive = _appositive(intro) if intro else None
        opening = [f"{entity.name}, {appositive}."] if appositive else []
    elif entity.type == "location":
        opening, intro = _location_lead(index, entity), _opening_action(index, scenes)
    elif entity.type == "extra_archetype":
        opening = [f"{entity.name}: background extras."]
    chosen = [_as_sentence(intro.sentence)] if intro is not None else []
    for item in evidence:
        quote = _as_sentence(item.sentence)
        if len(chosen) < _MAX_EVIDENCE and quote not in chosen and _is_visual(item.sentence):
            chosen.append(quote)
    if not chosen:
        kind = "group of extras" if entity.type == "extra_archetype" else entity.type
        note = f"{entity.name} is a {kind} {_scene_phrase(scenes)}; the script gives no visual detail yet."
        return [*opening, note], 0.2
    confidence = min(_MAX_CONFIDENCE, 0.3 + 0.15 * len(chosen) + (0.1 if appositive else 0.0))
    return [*opening, *chosen], round(confidence, 2)


def _as_sentence(text: str) -> str:
    quote = trim_quote(text, _QUOTE).rstrip(" :;,-–—")
    return quote if quote.endswith((".", "!", "?", "…", '"', "”")) else f"{quote}."


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
    lead = f"{entity.name}: {' and '.join(kinds) or 'a'} location"
    lead += f", seen by {' and '.join(times)}." if times else "."
    return [lead, f"Areas: {', '.join(areas[:6])}."] if areas else [lead]


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
