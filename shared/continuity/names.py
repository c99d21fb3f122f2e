"""Finding assets by name or alias in text: one compiled pattern of every name and alias of the
project, run once over the whole script (or a shot's action), never a pattern or a model call per
scene or per asset."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Named:
    asset_id: uuid.UUID
    name: str
    aliases: tuple[str, ...]


class NameMatcher:
    """Whole-word, case-insensitive matching of names and aliases. Longer terms are tried first, so
    "Old Tom" wins over "Tom" where both are names; a term shared by two assets finds both."""

    def __init__(self, assets: Iterable[Named]) -> None:
        self.by_term: dict[str, set[uuid.UUID]] = {}
        for a in assets:
            for term in (a.name, *a.aliases):
                t = " ".join(term.split()).lower()
                if len(t) >= 2:
                    self.by_term.setdefault(t, set()).add(a.asset_id)
        terms = sorted(self.by_term, key=lambda t: (-len(t), t))
        # Whitespace inside a name matches any run of spaces (line-wrapped PDF text).
        alts = "|".join(r"\s+".join(re.escape(w) for w in t.split(" ")) for t in terms)
        self.pattern = re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE) if terms else None

    def finditer(self, text: str) -> Iterator[tuple[int, str, set[uuid.UUID]]]:
        """(offset, term as written, asset ids) for every mention in ``text``."""
        if self.pattern is None:
            return
        for m in self.pattern.finditer(text):
            term = " ".join(m.group(0).split()).lower()
            yield m.start(), m.group(0), self.by_term.get(term, set())

    def assets_in(self, text: str) -> set[uuid.UUID]:
        # With a few terms (one asset's names), a substring test skips the regex for most texts.
        if len(self.by_term) <= 8:
            lowered = " ".join(text.split()).lower()
            if not any(t in lowered for t in self.by_term):
                return set()
        found: set[uuid.UUID] = set()
        for _, _, ids in self.finditer(text):
            found |= ids
        return found

    def resolve(self, names: Iterable[str]) -> set[uuid.UUID]:
        """Assets an explicit list of names designates (exact name or alias, any case)."""
        found: set[uuid.UUID] = set()
        for n in names:
            found |= self.by_term.get(" ".join(n.split()).lower(), set())
        return found
