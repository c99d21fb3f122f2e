"""A small reader of WordNet's noun data, to tell physical objects from abstractions.

Debian's ``wordnet-base`` package ships Princeton WordNet 3.0 in its original files under
``/usr/share/wordnet`` (``FILMASSETS_WORDNET_DIR`` points elsewhere). Only two noun files are read:
``index.noun`` (lemma -> synset offsets, most frequent sense first) loaded once into a dict, and
``data.noun``, whose offsets are byte positions, so a synset is one seek away. A synset gives its
lexicographer file (``noun.artifact``, ``noun.person``, ...) and its hypernyms, which is all the
extractor asks: "is a stamp a thing one can hold?".

nltk's ``WordNetCorpusReader`` reads the same files, but loads every part of speech and pulls in
nltk; two noun files and a seek per synset are enough here and keep the breakdown fast.

Without the data the extractor still runs: ``load()`` returns ``None`` and lower-case props are
not looked for (the upper-case rules still apply).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

DEFAULT_DIR = Path("/usr/share/wordnet")

# Lexicographer files of WordNet 3.0 nouns, by number (they are fixed by the format).
_LEXNAMES = {
    3: "Tops",
    4: "act",
    5: "animal",
    6: "artifact",
    7: "attribute",
    8: "body",
    9: "cognition",
    10: "communication",
    11: "event",
    12: "feeling",
    13: "food",
    14: "group",
    15: "location",
    16: "motive",
    17: "object",
    18: "person",
    19: "phenomenon",
    20: "plant",
    21: "possession",
    22: "process",
    23: "quantity",
    24: "relation",
    25: "shape",
    26: "state",
    27: "substance",
    28: "time",
}
_HYPERNYM_POINTERS = frozenset({"@", "@i"})
# WordNet's own detachment rules for noun plurals (what its ``morphy`` and nltk's do), tried in
# order after the irregular forms of ``noun.exc``. The inflect library knows more plurals but costs
# 1.5 s to import, most of a feature script's whole breakdown.
_SUFFIXES = (
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
    ("s", ""),
)


class WordNet:
    def __init__(self, root: Path) -> None:
        # index.noun is sorted, so a lemma is found by bisecting the file's bytes: nothing is
        # parsed up front (a dict of its 117,000 lines took 1.7 s to build).
        self._index_bytes = (root / "index.noun").read_bytes()
        counts = root / "cntlist.rev"
        self._counts = counts.read_bytes() if counts.is_file() else b""
        self._usage: dict[str, tuple[int, int, int]] = {}
        self._data = (root / "data.noun").open("rb")
        self._irregular: dict[str, str] = {}
        exceptions = root / "noun.exc"
        if exceptions.is_file():
            for line in exceptions.read_text(encoding="latin-1").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    self._irregular.setdefault(parts[0], parts[1])
        self._lock = threading.Lock()  # one file handle, shared by the threads of a worker
        self._senses: dict[str, tuple[int, ...]] = {}
        self._synsets: dict[int, tuple[str, tuple[int, ...], tuple[str, ...]]] = {}

    def senses(self, lemma: str) -> tuple[int, ...]:
        """Synset offsets of a noun, most frequent sense first; ``()`` if WordNet lacks it."""
        key = lemma.lower().replace(" ", "_")
        cached = self._senses.get(key)
        if cached is None:
            cached = self._senses[key] = self._lookup(key)
        return cached

    def usage(self, word: str) -> tuple[int, int, int]:
        """How often the word is tagged as a noun, a verb and an adjective in WordNet's
        sense-tagged corpus (``cntlist.rev``): "black" is an adjective 70 times to 4 as a noun."""
        key = word.lower().replace(" ", "_")
        cached = self._usage.get(key)
        if cached is None:
            counts = [0, 0, 0, 0, 0, 0]
            for line in _lines_starting(self._counts, f"{key}%"):
                sense_key, _, tagged = line.split()
                pos = int(sense_key.split("%", 1)[1][0])
                counts[pos] += int(tagged)
            cached = self._usage[key] = (counts[1], counts[2], counts[3] + counts[5])
        return cached

    def _lookup(self, key: str) -> tuple[int, ...]:
        fields = _find_line(self._index_bytes, key)
        if not fields:
            return ()
        # lemma pos synset_cnt p_cnt [ptr]*p_cnt sense_cnt tagsense_cnt offset*synset_cnt
        count = int(fields[2])
        return tuple(int(offset) for offset in fields[-count:])

    def knows(self, lemma: str) -> bool:
        return bool(self.senses(lemma))

    def synset(self, offset: int) -> tuple[str, tuple[int, ...], tuple[str, ...]]:
        """(lexicographer file, hypernym offsets, words) of the synset at ``offset``."""
        cached = self._synsets.get(offset)
        if cached is not None:
            return cached
        with self._lock:
            self._data.seek(offset)
            fields = self._data.readline().decode("latin-1").split()
        # offset lex_filenum ss_type w_cnt(hex) [word lex_id]*w_cnt p_cnt [ptr offset pos src/tgt]*p_cnt
        word_count = int(fields[3], 16)
        words = tuple(fields[4 + 2 * i].lower() for i in range(word_count))
        at = 4 + 2 * word_count
        pointer_count = int(fields[at])
        hypernyms = tuple(
            int(fields[at + 2 + 4 * i])
            for i in range(pointer_count)
            if fields[at + 1 + 4 * i] in _HYPERNYM_POINTERS and fields[at + 3 + 4 * i] == "n"
        )
        found = (_LEXNAMES.get(int(fields[1]), "other"), hypernyms, words)
        self._synsets[offset] = found
        return found

    def lexname(self, offset: int) -> str:
        return self.synset(offset)[0]

    def ancestors(self, offset: int) -> set[str]:
        """Every word of every hypernym above the synset (and its own words)."""
        seen: set[int] = set()
        words: set[str] = set()
        stack = [offset]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            _, hypernyms, own = self.synset(current)
            words.update(own)
            stack.extend(hypernyms)
        return words

    def lemma(self, word: str) -> str | None:
        """The dictionary form WordNet knows: the word itself ("glasses", "pants") or its singular
        ("stamps" -> "stamp", "knives" -> "knife"); ``None`` if neither is a noun."""
        lowered = word.lower()
        if self.knows(lowered):
            return lowered
        singular = self.singular(lowered)
        return singular if singular and self.knows(singular) else None

    def singular(self, word: str) -> str | None:
        """``"stamps"`` -> ``"stamp"``, ``"children"`` -> ``"child"``; ``None`` for no plural form."""
        lowered = word.lower()
        if lowered in self._irregular:
            return self._irregular[lowered]
        if lowered.endswith("ss"):
            return None
        for suffix, replacement in _SUFFIXES:
            if lowered.endswith(suffix) and len(lowered) > len(suffix) + 1:
                candidate = lowered[: -len(suffix)] + replacement
                if self.knows(candidate):
                    return candidate
        return None


def _find_line(data: bytes, key: str) -> list[str]:
    """The fields of ``key``'s line in a sorted WordNet index, by bisecting its bytes; ``[]``."""
    try:
        wanted = key.encode("latin-1")
    except UnicodeEncodeError:
        return []
    low, high = 0, len(data)
    while low < high:
        middle = (low + high) // 2
        start = data.rfind(b"\n", 0, middle) + 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end]
        if line.startswith(b" "):  # the licence header sorts before every lemma
            low = end + 1
            continue
        lemma = line.split(b" ", 1)[0]
        if lemma == wanted:
            return line.decode("latin-1").split()
        if lemma < wanted:
            low = end + 1
        else:
            high = start
    return []


def _lines_starting(data: bytes, prefix: str) -> list[str]:
    """The lines of a sorted file that start with ``prefix``, found by bisecting its bytes."""
    wanted = prefix.encode("latin-1", "replace")
    low, high = 0, len(data)
    while low < high:  # the first line whose start is >= prefix
        middle = (low + high) // 2
        start = data.rfind(b"\n", 0, middle) + 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if data[start:end] < wanted:
            low = end + 1
        else:
            high = start
    lines: list[str] = []
    position = low
    while position < len(data) and data.startswith(wanted, position):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        lines.append(data[position:end].decode("latin-1"))
        position = end + 1
    return lines


_loaded: WordNet | None = None
_load_lock = threading.Lock()
_missing = False


def load() -> WordNet | None:
    """The process-wide reader, loaded on first use; ``None`` when the data is not installed."""
    global _loaded, _missing
    if _loaded is not None or _missing:
        return _loaded
    with _load_lock:
        if _loaded is None and not _missing:
            root = Path(os.environ.get("FILMASSETS_WORDNET_DIR", DEFAULT_DIR))
            if (root / "index.noun").is_file() and (root / "data.noun").is_file():
                _loaded = WordNet(root)
            else:
                _missing = True
    return _loaded
