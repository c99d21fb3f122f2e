"""Props written in lower case: physical objects a character handles, or that the action keeps showing.

The upper-case convention ("He pulls out a REVOLVER") finds the props a writer flags; most drafts
flag few of them ("Reggie opens the envelope", "the stamps" forty times). Here every noun of the
action is looked up in WordNet: a prop is a noun whose common senses are artifacts or food (a
"stamp", a "letter", a "gun"), never a structure of the set (door, wall, window), a body part, a
person or an abstraction ("war", "way", "voice"). Of those, a noun becomes a prop when a character
handles it ("picks up the phone", "hands him a letter") or when the action shows it in three
sentences or more.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from shared.extraction.offline.index import ScriptIndex
from shared.extraction.offline.lexicon import (
    BODY_PARTS,
    DETERMINERS,
    GENERIC_THINGS,
    HANDLING_VERBS,
    IRREGULAR_HANDLING,
    PLACE_NOUNS,
)
from shared.extraction.offline.text import sentences
from shared.extraction.offline.wordnet import WordNet
from shared.scripts.elements import word_set

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*|[.,;:!?()\"“”—–]")
_PARTICLES = word_set("up out off down over back away on in into onto from at through across around to")
# Hypernyms that make an artifact part of the set or too generic to dress: doors and walls,
# aisles and corridors, rooms, surfaces, whole buildings and grounds.
_SET_ANCESTORS = frozenset(
    {
        "structure",
        "room",
        "passage",
        "way",
        "surface",
        "area",
        "building_complex",
        "facility",
        "land",
        "geological_formation",
        "opening",
        "building",
        "establishment",
        "housing",
        "road",
        "path",
        # Wardrobe: what a character wears belongs to their look (and the costume department).
        "clothing",
        "garment",
        "headdress",
        "footwear",
        "jewelry",
    }
)
_PHYSICAL = frozenset({"artifact", "food", "plant"})
_FLAGGED_KINDS = frozenset({"artifact", "food", "plant", "object", "substance", "communication"})
# A first sense of these kinds means the word is not a thing here ("fish" swims, "key" of a song
# stays: its first sense is an artifact).
_NOT_THINGS = frozenset({"person", "animal", "body", "location", "time", "act", "event", "feeling", "state"})
# First senses that make a handled word an abstraction all the same ("to the right").
_ABSTRACT = frozenset({"attribute", "relation", "quantity", "motive", "phenomenon", "process"})
_EVENTS = frozenset({"act", "event", "communication"})
_MODALS = word_set("can will may might must shall should would could")
_SENSES_ABSTRACT_HANDLED = 3
_SENSES_SHOWN = 2  # senses weighed for a noun that is only shown
_SENSES_HANDLED = 8  # a handled noun may be a thing in a rarer sense ("stamps": postage stamps)
_HANDLING_WINDOW = 4
_MIN_SHOWN = 3
_MIN_WORD = 3


@dataclass(slots=True)
class Candidate:
    lemma: str
    handled: int = 0
    shown: int = 0
    sentences: set[tuple[int, int, int]] = field(default_factory=set)


def _verb_forms() -> dict[str, str]:
    forms: dict[str, str] = {}
    for base in HANDLING_VERBS:
        stem = base[:-1] if base.endswith("e") else base
        variants = {base, f"{base}s", f"{base}es", f"{stem}ed", f"{stem}ing", f"{base}ed", f"{base}ing"}
        if base.endswith("y"):
            variants |= {f"{base[:-1]}ies", f"{base[:-1]}ied"}
        if re.search(r"[^aeiou][aeiou][bdgklmnprt]$", base):
            variants |= {f"{base}{base[-1]}ed", f"{base}{base[-1]}ing"}
        for variant in variants:
            forms[variant] = base
    forms.update(IRREGULAR_HANDLING)
    return forms


_VERBS = _verb_forms()


class ObjectFinder:
    def __init__(self, wordnet: WordNet, excluded: Collection[str]) -> None:
        self._wn = wordnet
        self._excluded = {word.lower() for word in excluded}
        self._physical: dict[tuple[str, bool, bool], bool] = {}

    def is_thing(self, lemma: str, *, handled: bool, flagged: bool = False) -> bool:
        """Whether WordNet knows ``lemma`` as a physical thing. ``handled``: a character holds it,
        so a rarer sense may be meant. ``flagged``: the writer capitalised it, so a set piece
        ("the SCREEN DOOR") counts too."""
        key = (lemma, handled, flagged)
        cached = self._physical.get(key)
        if cached is None:
            cached = self._physical[key] = self._judge(lemma, handled=handled, flagged=flagged)
        return cached

    def _judge(self, lemma: str, *, handled: bool, flagged: bool) -> bool:
        if lemma in GENERIC_THINGS or lemma.upper() in BODY_PARTS:
            return False
        if not flagged and lemma.upper() in PLACE_NOUNS:
            return False
        senses = self._wn.senses(lemma)
        if not senses or self._wn.lexname(senses[0]) in _NOT_THINGS:
            return False
        if (
            handled
            and self._wn.lexname(senses[0]) in _ABSTRACT
            and not any(
                self._wn.lexname(offset) == "artifact" for offset in senses[:_SENSES_ABSTRACT_HANDLED]
            )
        ):
            return False  # "to the right"; but "fills the scope" is a telescopic sight
        if flagged:
            # The writer capitalised it: any concrete sense will do ("a CROCUS", "FLOWERS").
            kinds = {self._wn.lexname(offset) for offset in senses[:_SENSES_HANDLED]}
            return bool(kinds & _FLAGGED_KINDS)
        weighed = senses[: _SENSES_HANDLED if handled else _SENSES_SHOWN]
        physical = next((offset for offset in weighed if self._wn.lexname(offset) in _PHYSICAL), None)
        if physical is None and handled:
            # "letter", "ticket", "passport": documents are communication in WordNet, paper in hand.
            physical = next((offset for offset in weighed if "document" in self._wn.ancestors(offset)), None)
        if physical is None:
            return False
        return not (self._wn.ancestors(physical) & _SET_ANCESTORS)

    def find(self, index: ScriptIndex) -> dict[str, Candidate]:
        """Lemma -> how often it is handled and shown, for nouns that are physical things."""
        found: dict[str, Candidate] = {}
        for action in index.actions:
            for start, sentence in sentences(action.text):
                tokens = _TOKEN.findall(sentence)
                for position, token in enumerate(tokens):
                    # A word that is also a verb ("stamps", "bag") is a noun after "the".
                    if not token[0].islower() or len(token) < _MIN_WORD or token in _MODALS:
                        continue
                    if not self._noun_context(tokens, position) or self._modifier(tokens, position):
                        continue
                    lemma = self._lemma(token.replace("’", "'"))
                    if lemma is None or lemma in self._excluded:
                        continue
                    handled = self._handled(tokens, position)
                    if not self.is_thing(lemma, handled=handled):
                        continue
                    candidate = found.setdefault(lemma, Candidate(lemma))
                    candidate.handled += handled
                    candidate.shown += 1
                    candidate.sentences.add((action.scene, action.position, start))
        return {
            lemma: candidate
            for lemma, candidate in found.items()
            if candidate.handled or len(candidate.sentences) >= _MIN_SHOWN
        }

    def _lemma(self, word: str) -> str | None:
        """The noun a word is, or ``None`` for words mostly used as adjectives ("black", "two",
        "electric"). A plural WordNet also lists as a lemma of its own ("rings", "glasses") is
        read as the plural of its singular when the singular is the commoner noun."""
        lemma = self._wn.lemma(word)
        if lemma is None:
            return None
        singular = self._wn.singular(word) if lemma == word.lower() else None
        if singular and self._wn.usage(singular)[0] > self._wn.usage(lemma)[0]:
            lemma = singular
        noun, _, adjective = self._wn.usage(word.lower())
        return None if adjective > noun else lemma

    def _modifier(self, tokens: list[str], position: int) -> bool:
        """ "the coffee table", "a phone call": the word qualifies the next noun. A next word in -s
        is read as the verb ("the phone rings")."""
        if position + 1 >= len(tokens):
            return False
        following = tokens[position + 1]
        if not following[0].islower() or following in _VERBS or following.endswith("s"):
            return False
        lemma = self._wn.lemma(following)
        if lemma is None or self._wn.usage(following)[0] < self._wn.usage(following)[2]:
            return False
        # "a phone call", "a car chase": an event names no thing, so the first word is the thing.
        kinds = [self._wn.lexname(offset) for offset in self._wn.senses(lemma)[:3]]
        happens = (
            bool(kinds) and kinds[0] in _EVENTS and (kinds[0] != "communication" or "artifact" not in kinds)
        )
        return not happens  # "a vintage record player" stays a player: a record is a thing too

    def _noun_context(self, tokens: list[str], position: int) -> bool:
        """An article, possessive or number stands before the word, with only adjectives or one
        noun modifier between: "the stamps", "Reggie's bag", "a battered old trunk", "the
        hamburger phone", but not "the pilot can"."""
        nouns_between = 0
        for back in range(position - 1, max(-1, position - 4), -1):
            word = tokens[back].lower()
            if word in DETERMINERS or word.endswith(("'s", "’s")):
                return nouns_between == 0 or not tokens[position].endswith("s")
            if not tokens[back][0].isalpha() or word in _VERBS or word in _PARTICLES or word in _MODALS:
                return False
            noun, _, adjective = self._wn.usage(word)
            if noun > adjective:
                nouns_between += 1
        return False

    @staticmethod
    def _handled(tokens: list[str], position: int) -> bool:
        for back in range(position - 1, max(-1, position - 1 - _HANDLING_WINDOW), -1):
            word = tokens[back].lower()
            if word in _VERBS:
                return True
            if not tokens[back][0].isalpha():
                return False
        return False
