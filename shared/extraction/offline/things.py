"""Props and extras: upper-case nouns and crowd nouns in the action lines."""

from __future__ import annotations

import re
from collections.abc import Collection

from shared.extraction.offline.characters import Cast
from shared.extraction.offline.index import Found, ScriptIndex
from shared.extraction.offline.lexicon import (
    ADJECTIVE_ENDINGS,
    ADJECTIVES,
    ANIMALS,
    BODY_PARTS,
    CAMERA_WORDS,
    COLOURS,
    CROWD_LEADS,
    CROWD_NOUNS,
    CROWD_QUALIFIED,
    DETERMINERS,
    EMPHASIS_WORDS,
    FOLLOWERS,
    FUNCTION_WORDS,
    PERSON_NOUNS,
    PLACE_NOUNS,
    SOUND_WORDS,
    TIME_WORDS,
)
from shared.extraction.offline.objects import ObjectFinder
from shared.extraction.offline.text import Word, caps_runs, fold, is_caps, name_pattern, sentence_at
from shared.extraction.offline.wordnet import WordNet
from shared.extraction.offline.wordnet import load as load_wordnet

_MAX_PROP_WORDS = 4
# How far back a determiner may sit: "a pile of stolen COSMETICS" (of), "a battered old TRUNK".
_CONTEXT_WORDS = 3
# "the Leupold Mark 4 scope": a name may stand between the article and a lower-case prop.
_MENTION_CONTEXT_WORDS = 4
_CLAUSE_BREAK = re.compile(r"[.!?;:()\[\]\"“”\n]")
_LOWER_WORD = re.compile(r"[a-z][a-z'’\-]*")
# Verb and adverb endings: "SLAMMED", "SCREAMING", "SLOWLY" are action, not things.
_NOT_A_NOUN = re.compile(r"(?:ED|ING|LY|TION|SION|NESS|ITY|ISM)$")
_SOUNDLIKE = re.compile(r"([A-Z])\1\1")  # "VRROOOM", "AAAAH"
_HEARD = re.compile(r"\b(?:hears?|hearing|sound of|noise of)\b", re.IGNORECASE)
# A sentence mostly in upper case is a sign, a title or shouting, not an introduction.
_SHOUTED_SHARE = 0.6
_SHOUTED_MIN_LETTERS = 6
_NOUNS_LOOKING_LIKE_VERBS = frozenset(
    {"PAINTING", "PAINTINGS", "RING", "STRING", "BUILDING", "CEILING", "BED"}
)
_PERSON_SUFFIX = re.compile(r"(?:MAN|MEN|WOMAN|WOMEN)$")
_CROWD = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(CROWD_NOUNS)) + r")(?![A-Za-z])", re.IGNORECASE)
# "like children posing", "as if soldiers": a comparison, nobody is there.
_SIMILE = re.compile(r"\b(?:like|as if|as though|as|than)\s+(?:\w+\s+)?$", re.IGNORECASE)
_MAX_CROWD_WORDS = 2
_LED_CROWD = re.compile(
    r"\b(?:" + "|".join(sorted(CROWD_LEADS)) + r")\s+of\s+(?:[a-z]+\s+)?(?P<noun>[A-Z][A-Z'\-]+S)\b"
)


def find_props(index: ScriptIndex, cast: Cast, place_words: Collection[str]) -> list[Found]:
    """Props are the upper-case nouns the writer introduces with an article or a possessive
    ("He pulls out a REVOLVER", "Mom's PORSCHE"), and the lower-case nouns WordNet knows as
    physical things that a character handles or the action keeps showing ("the stamps"). Every
    mention in any case and number counts."""
    props: dict[str, Found] = {}
    forms: dict[str, set[str]] = {}
    wordnet = load_wordnet()
    for action in index.actions:
        for run in caps_runs(action.text):
            phrase = _prop_phrase(action.text, run, cast.name_words, place_words)
            if phrase is not None and phrase not in props and _a_thing(phrase, wordnet):
                props[phrase] = Found(type="prop", name=index.casing.display(phrase, acronyms=True))
                forms[phrase] = {phrase}
    lower_case: set[str] = set()
    if wordnet is not None:
        before = set(props)
        _add_lower_case(index, cast, place_words, wordnet, props, forms)
        lower_case = set(props) - before
    if not props:
        return []
    owner = {form: key for key, written in forms.items() for form in written}
    pattern = name_pattern(owner, ignore_case=True)
    for action in index.actions:
        for match in pattern.finditer(action.text):
            key = owner[fold(match[1])]
            if key in lower_case and not _noun_here(action.text, match.start()):
                continue  # "She picks up the phone" is no mention of a guitar pick
            quote = sentence_at(action.text, match.start())
            props[key].see(action.scene, action.position, match.start(), quote)
    return [found for found in props.values() if found.quotes]


def _noun_here(text: str, start: int) -> bool:
    """A lower-case prop's word is a mention after an article, a possessive or a number, with at
    most a couple of words between ("the stamps", "Reggie's old bag"), or written in capitals."""
    if text[start : start + 2].isupper():
        return True
    before = _clause_before(text, start).split()[-_MENTION_CONTEXT_WORDS:]
    return any(word.lower() in DETERMINERS or word.endswith(("'s", "’s")) for word in before)


def _a_thing(phrase: str, wordnet: WordNet | None) -> bool:
    """Whether an upper-case phrase names a thing: its head noun, when WordNet knows it, has a
    physical sense ("GROUND", "ACTORS", "VOICE" have none). Names WordNet lacks (PORSCHE,
    GLOCK) are the writer's word for a thing and stay."""
    if wordnet is None:
        return True
    head = phrase.split()[-1].lower().replace("'", "")
    lemma = wordnet.lemma(head)
    if lemma is None:
        return True
    return ObjectFinder(wordnet, ()).is_thing(lemma, handled=True, flagged=True)


def _add_lower_case(
    index: ScriptIndex,
    cast: Cast,
    place_words: Collection[str],
    wordnet: WordNet,
    props: dict[str, Found],
    forms: dict[str, set[str]],
) -> None:
    excluded = {*cast.name_words, *place_words, *(noun.upper() for noun in CROWD_NOUNS)}
    finder = ObjectFinder(wordnet, excluded)
    # A lemma an upper-case prop already names ("PHONE", "the TVs") joins that prop.
    heads = {wordnet.lemma(key.split()[-1]) or key.lower(): key for key in props if " " not in key}
    for lemma in sorted(finder.find(index)):
        key = heads.get(lemma) or lemma.upper()
        if key not in props:
            props[key] = Found(type="prop", name=index.casing.display(lemma.upper(), acronyms=True))
            forms[key] = set()
        forms[key] |= {lemma.upper(), *(fold(form) for form in _plurals(lemma))}


def _plurals(lemma: str) -> set[str]:
    """Written forms of a lemma for finding its mentions: "stamp" -> "stamps", "glass" -> "glasses"."""
    if lemma.endswith(("s", "x", "z", "ch", "sh")):
        return {f"{lemma}es"}
    if lemma.endswith("y") and lemma[-2:-1] not in set("aeiou"):
        return {f"{lemma[:-1]}ies"}
    if lemma.endswith("fe"):
        return {f"{lemma}s", f"{lemma[:-2]}ves"}
    return {f"{lemma}s"}


def _prop_phrase(
    text: str, run: list[Word], names: Collection[str], place_words: Collection[str]
) -> str | None:
    """The prop an upper-case run introduces, folded, or ``None`` when the run is a person, a
    place, a sound, a camera note, emphasis or a shouted line."""
    tokens = [fold(word.text) for word in run]
    determined = False
    if len(tokens) > 1 and tokens[0].endswith("'S"):
        tokens, determined = tokens[1:], True  # "SCOTT'S PAINTINGS": the owner is context
    while len(tokens) > 1 and tokens[0] in EMPHASIS_WORDS:
        tokens = tokens[1:]
    if not tokens or len(tokens) > _MAX_PROP_WORDS:
        return None
    if any(token in FUNCTION_WORDS or token in SOUND_WORDS or token in CAMERA_WORDS for token in tokens):
        return None
    if any(token in TIME_WORDS or token in names or not token[0].isalpha() for token in tokens):
        return None
    last = tokens[-1]
    if last in EMPHASIS_WORDS or last in ANIMALS or last in PLACE_NOUNS or last in BODY_PARTS:
        return None
    if _is_person(last) or last in place_words or last.lower() in CROWD_NOUNS or _SOUNDLIKE.search(last):
        return None
    if _NOT_A_NOUN.search(last) and last not in _NOUNS_LOOKING_LIKE_VERBS:
        return None
    if not (determined or _determined(text, run[0].start)) or not _ends_phrase(text, run[-1].end):
        return None
    if _HEARD.search(sentence_at(text, run[0].start)) or _shouted(_clause_before(text, run[0].start)):
        return None
    return " ".join(tokens)


def _is_person(word: str) -> bool:
    forms = {word, word.removesuffix("S"), word.removesuffix("ES")}  # NURSES, WITNESSES
    return bool(forms & PERSON_NOUNS) or _PERSON_SUFFIX.search(word) is not None


def _ends_phrase(text: str, end: int) -> bool:
    """The upper-case words are the head of their phrase: "an EMPTY bottle" is not a prop, "the
    PHONE rings" is a phone. Action is written in the present tense, so the next word is a verb in -s, a
    preposition, or punctuation."""
    rest = text[end:]
    if rest.startswith("!"):
        return False  # "with a KEE-YA!" is a sound
    if not rest.startswith((" ", "\n")):
        return True
    following = rest.split(maxsplit=1)[0] if rest.strip() else ""
    if not following or not following[0].islower():
        return True
    bare = following.strip(",.;:!?")
    return bare in FOLLOWERS or bare.endswith(("s", "ed", "ing")) or bare != following


def _shouted(clause: str) -> bool:
    """ "HIJACKING IS A FEDERAL OFFENSE" is a sign's text, not an introduction."""
    letters = [ch for ch in clause if ch.isalpha()]
    return len(letters) >= _SHOUTED_MIN_LETTERS and sum(
        ch.isupper() for ch in letters
    ) > _SHOUTED_SHARE * len(letters)


def _clause_before(text: str, start: int) -> str:
    before = text[:start]
    cut = max((match.end() for match in _CLAUSE_BREAK.finditer(before)), default=0)
    return before[cut:]


def _determined(text: str, start: int) -> bool:
    """Whether an article, possessive or 'of'/'with' precedes the word in the same clause, with
    only adjectives between: "a battered old TRUNK", but not "Steel's face FILLS the scope"."""
    for word in list(reversed(_clause_before(text, start).split()))[:_CONTEXT_WORDS]:
        if word.lower() in DETERMINERS or word.endswith(("'s", "’s")):
            return True
        if not _is_adjective(word):
            return False
    return False


def _is_adjective(word: str) -> bool:
    if not _LOWER_WORD.fullmatch(word):
        return False
    return word in ADJECTIVES or word in COLOURS or "-" in word or word.endswith(ADJECTIVE_ENDINGS)


def find_extras(index: ScriptIndex, cast: Cast) -> list[Found]:
    """Extras archetypes from plural crowd nouns in the action ("PASSENGERS", "soldiers", "a crowd
    of REPORTERS"), from upper-case plurals WordNet knows as people ("DELEGATES"), and from crowd
    cues ("RANDY & PASSENGERS" seeds Passengers). Similes are not crowds ("like children
    posing"), and synonyms are one archetype ("Kids" and "Children")."""
    extras: dict[str, Found] = {}
    wordnet = load_wordnet()

    def add(phrase: str, scene: int, position: int, offset: int, quote: str) -> None:
        key = fold(phrase)
        if key in cast.name_words:
            return
        found = extras.setdefault(
            key, Found(type="extra_archetype", name=index.casing.display(key, acronyms=True))
        )
        found.see(scene, position, offset, quote)

    for action in index.actions:
        text = action.text
        for match in _CROWD.finditer(text):
            if _is_modifier(text, match.end()) or _SIMILE.search(text[: match.start()]):
                continue
            add(
                _with_modifier(text, match),
                action.scene,
                action.position,
                match.start(),
                sentence_at(text, match.start()),
            )
        for match in _LED_CROWD.finditer(text):
            if match["noun"].lower() not in CROWD_NOUNS and fold(match["noun"]) not in cast.name_words:
                add(
                    match["noun"],
                    action.scene,
                    action.position,
                    match.start("noun"),
                    sentence_at(text, match.start()),
                )
        if wordnet is not None:
            for run in caps_runs(text):
                last = fold(run[-1].text)
                if (
                    len(run) <= _MAX_CROWD_WORDS
                    and last not in cast.name_words
                    and last.lower() not in CROWD_NOUNS
                    and _plural_people(last, wordnet)
                    and not _SIMILE.search(text[: run[0].start])
                ):
                    words = [fold(word.text) for word in run]
                    phrase = " ".join(
                        w for w in words if w not in FUNCTION_WORDS | CAMERA_WORDS | EMPHASIS_WORDS
                    )
                    if phrase:
                        add(
                            phrase,
                            action.scene,
                            action.position,
                            run[0].start,
                            sentence_at(text, run[0].start),
                        )
    for seed in cast.crowd_seeds:
        add(seed.noun, seed.scene, seed.position, 0, seed.quote)
    return _merge_synonyms(list(extras.values()), wordnet)


def _plural_people(word: str, wordnet: WordNet) -> bool:
    singular = wordnet.singular(word)
    if not singular or singular == word.lower():
        return False
    senses = wordnet.senses(singular)
    if not senses or wordnet.lexname(senses[0]) != "person":
        return False
    # "MONITORS", "BLEACHERS": a thing in another common sense, or as a plural of its own.
    own = wordnet.senses(word)
    if own and wordnet.lexname(own[0]) != "person":
        return False
    return all(wordnet.lexname(offset) != "artifact" for offset in senses[:3])


def _merge_synonyms(extras: list[Found], wordnet: WordNet | None) -> list[Found]:
    """ "Kids" and "Children" are one archetype: their heads share WordNet's first meaning."""
    if wordnet is None:
        return extras
    by_meaning: dict[tuple[str, ...], Found] = {}
    merged: list[Found] = []
    for found in extras:
        words = fold(found.name).split()
        lemma = wordnet.lemma(words[-1]) if words else None
        senses = wordnet.senses(lemma) if lemma else ()
        key = (*words[:-1], str(senses[0])) if senses else tuple(words)
        head = by_meaning.get(key)
        if head is None:
            by_meaning[key] = found
            merged.append(found)
            continue
        head.alias(found.name, *found.aliases)
        head.first = min(head.first, found.first)
        for scene, quotes in found.quotes.items():
            mine = head.quotes.setdefault(scene, [])
            mine.extend(quote for quote in quotes if quote not in mine)
    return merged


def _is_modifier(text: str, end: int) -> bool:
    """ "police detective", "the pilots' seats": the crowd noun qualifies something else."""
    rest = text[end:]
    if rest.startswith(("'", "’")):
        return True
    if text[:end].split()[-1].isupper() and rest[1:2].islower():
        return False  # "CHILDREN crowd the window": an introduction, then its verb
    following = (
        rest.split(maxsplit=1)[0].strip(",.;:!?").upper() if rest.startswith(" ") and rest.strip() else ""
    )
    return bool(following) and (following in PERSON_NOUNS or following in CROWD_QUALIFIED)


def _with_modifier(text: str, match: re.Match[str]) -> str:
    """'SECURITY GUARDS' keeps its upper-case modifier; 'the guards' is just Guards."""
    noun = match[1]
    if not noun.isupper():
        return noun
    before = text[: match.start()]
    previous = before.rstrip().rsplit(maxsplit=1)[-1] if before.strip() and before.endswith(" ") else ""
    folded = fold(previous)
    if (
        is_caps(previous)
        and previous.isalpha()
        and folded not in FUNCTION_WORDS | CAMERA_WORDS | EMPHASIS_WORDS
    ):
        return f"{previous} {noun}"
    return noun
