"""String helpers of the offline extractor: casing, slugs, sentences, quotes, upper-case runs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from shared.extraction.offline.lexicon import KNOWN_ACRONYMS

MAX_QUOTE = 300

_LETTERS = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9])|\n+")
_WORD = re.compile(r"[A-Za-z0-9#][A-Za-z0-9'’.#\-]*")
_SMALL_WORD = re.compile(r"(?<=\S )(?:Of|The|And|A|An|In|On|At|To|For|By|With|From)\b")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.IGNORECASE)
_VOWELS = frozenset("AEIOUY")
_POSSESSIVE = re.compile(r"(?<=')S\b")
_ABBREVIATION = re.compile(r"^(?:[A-Z]\.)+$|^(?:MR|MRS|MS|DR|ST|JR|SR|LT|SGT|CAPT|PROF)\.$", re.IGNORECASE)


def slugify(text: str) -> str:
    """``"Scott's New Apartment"`` -> ``"scotts-new-apartment"``; accents folded to ASCII. Letters of
    other alphabets are kept (lower-cased) rather than dropped: ``"ИРИНА"`` -> ``"ирина"``, so two
    names in Cyrillic never share the empty key."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"['’]", "", folded.lower())
    return re.sub(r"[\W_]+", "-", folded).strip("-")


def fold(text: str) -> str:
    """Comparison form: upper case, straight apostrophes, no quotes, single spaces."""
    text = text.replace("’", "'").replace("“", "").replace("”", "").replace('"', "")
    return " ".join(text.upper().split())


class Casing:
    """Display case learned from the script itself: ``"JUNO MacGUFF"`` -> ``"Juno MacGuff"``
    because the dialogue spells it "MacGuff"; words never seen in mixed case are capitalised."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._forms: dict[str, Counter[str]] = {}
        self.lower_words: set[str] = set()
        for text in texts:
            for word in _LETTERS.findall(text):
                if word.islower():
                    self.lower_words.add(word)
                elif not word.isupper() and word[0].isupper():
                    self._forms.setdefault(word.upper(), Counter())[word] += 1

    def word(self, word: str, *, acronyms: bool = False) -> str:
        forms = self._forms.get(word.upper())
        if forms:
            return min(forms, key=lambda form: (-forms[form], form))
        if acronyms and _is_acronym(word.upper()) and not self.written_lower(word):
            return word.upper()
        return word[:1].upper() + word[1:].lower()

    def display(self, text: str, *, acronyms: bool = False) -> str:
        """Display form of a name written in one case; mixed-case text is kept as written.
        ``acronyms`` keeps short words the script only writes in capitals (for things, not people)."""
        if text not in {text.upper(), text.lower()}:
            return " ".join(text.split())
        shown = _LETTERS.sub(lambda match: self.word(match[0], acronyms=acronyms), fold(text))
        shown = _ORDINAL.sub(lambda match: match[0].lower(), shown)
        shown = _SMALL_WORD.sub(lambda match: match[0].lower(), shown)
        return _POSSESSIVE.sub("s", shown)

    def has_title_form(self, word: str) -> bool:
        """Whether the script writes this word capitalised in mixed case ("Steel", "MacGuff")."""
        return word.upper() in self._forms

    def written_lower(self, word: str) -> bool:
        """Whether the script ever writes this word in lower case (so it is a common word)."""
        return word.lower() in self.lower_words


def name_pattern(names: Iterable[str], *, ignore_case: bool = False) -> re.Pattern[str]:
    """One regex finding any of ``names`` as whole words, longest first, whichever apostrophe
    the script types; group 1 is the match. ``names`` must not be empty."""
    alternatives = [
        re.escape(name).replace("'", "['’]").replace("’", "['’]")
        for name in sorted(set(names), key=lambda n: (-len(n), n))
    ]
    return re.compile(
        r"(?<![A-Za-z0-9])(" + "|".join(alternatives) + r")(?![A-Za-z0-9])",
        re.IGNORECASE if ignore_case else 0,
    )


def _is_acronym(word: str) -> bool:
    """TV, DVD, VHS, SUV: kept in capitals when shown, unlike DOOR or BELT."""
    return word in KNOWN_ACRONYMS or (len(word) <= 4 and not _VOWELS.intersection(word))


def sentences(text: str) -> list[tuple[int, str]]:
    """Split a paragraph into ``(offset, sentence)`` pairs; line breaks also end a sentence."""
    result: list[tuple[int, str]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ends_with_abbreviation(text[start : match.start()]):
            continue
        if piece := text[start : match.start()].strip():
            result.append((start, piece))
        start = match.end()
    if piece := text[start:].strip():
        result.append((start, piece))
    return result


def _ends_with_abbreviation(text: str) -> bool:
    last = text.rsplit(maxsplit=1)[-1] if text.strip() else ""
    return bool(_ABBREVIATION.match(last))


def sentence_at(text: str, offset: int) -> str:
    chosen = text
    for start, sentence in sentences(text):
        if start > offset:
            break
        chosen = sentence
    return chosen


def trim_quote(text: str, limit: int = MAX_QUOTE) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: int
    end: int
    closes: bool  # sentence or clause punctuation follows the word


def words(text: str) -> list[Word]:
    """Word tokens with offsets; a trailing '.' is split off unless the word is an abbreviation."""
    result: list[Word] = []
    for match in _WORD.finditer(text):
        token, end = match[0], match.end()
        while token.endswith((".", "-", "'", "’")) and not _ABBREVIATION.match(token):
            token, end = token[:-1], end - 1
        following = text[end : end + 1]
        result.append(Word(token, match.start(), end, closes=following not in {"", " ", "\n", "\t"}))
    return result


def is_caps(word: str) -> bool:
    """An upper-case screenplay word: ``REVOLVER``, ``STEYR-AUG``, ``MacGUFF``, not ``A`` or ``I``."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) < 2:
        return False
    lower = sum(ch.islower() for ch in letters)
    return lower == 0 or (lower <= 2 and word[:1].isupper() and sum(ch.isupper() for ch in letters) >= 3)


# Characters, props, extras and places each read the runs of the same action lines; a preview
# of a feature script asks for each line's runs four times. Callers only read the lists.
@lru_cache(maxsize=16384)
def caps_runs(text: str) -> list[list[Word]]:
    """Maximal runs of upper-case words separated only by spaces."""
    runs: list[list[Word]] = []
    current: list[Word] = []
    for word in words(text):
        if (
            is_caps(word.text)
            and current
            and not current[-1].closes
            and text[current[-1].end : word.start] == " "
        ):
            current.append(word)
        elif is_caps(word.text):
            if current:
                runs.append(current)
            current = [word]
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs
