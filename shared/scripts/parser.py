"""Deterministic screenplay parsing: Fountain or PDF-extracted plain text -> numbered scenes.

This is the entry point the API and the extractor call; the readers live in ``fountain.py`` and
``plain.py``, heading and cue rules in ``headings.py`` and ``cues.py``. No LLM is involved: the
same text always gives the same scenes, fast enough to run inside a request.
"""

from __future__ import annotations

import re

from shared.scripts.cues import normalize_cue
from shared.scripts.elements import (
    ParsedScene,
    ParsedScript,
    ScriptElement,
    ScriptFormat,
    split_lines,
)
from shared.scripts.fountain import parse_fountain, read_title_page
from shared.scripts.plain import parse_plain

__all__ = [
    "ParsedScene",
    "ParsedScript",
    "ScriptElement",
    "ScriptFormat",
    "detect_format",
    "normalize_cue",
    "parse_script",
]

# PDF page furniture that a Fountain file never contains.
_PDF_ARTIFACT = re.compile(r"^(?:\(CONTINUED\)|CONTINUED:.*|\(MORE\)|\d{1,3}\.|PAGE \d+.*)$", re.IGNORECASE)
# Share of indented lines above which the text keeps a PDF's column layout. Fountain files indent
# only the odd title-page continuation or centred line.
_INDENTED_SHARE = 0.4
_INDENT = 6
_MIN_ARTIFACTS = 3


def detect_format(text: str) -> ScriptFormat:
    """Guess whether ``text`` is Fountain or plain text extracted from a PDF."""
    lines = split_lines(text)
    non_blank = [line.expandtabs(8) for line in lines if line.strip()]
    if not non_blank:
        return "fountain"
    if read_title_page(lines)[1] > 0:
        return "fountain"
    indented = sum(len(line) - len(line.lstrip()) >= _INDENT for line in non_blank)
    if indented >= _INDENTED_SHARE * len(non_blank):
        return "plain"
    artifacts = sum(_PDF_ARTIFACT.match(line.strip()) is not None for line in non_blank)
    return "plain" if artifacts >= _MIN_ARTIFACTS else "fountain"


def parse_script(text: str, fmt: ScriptFormat | None = None) -> ParsedScript:
    """Parse ``text`` into scenes. ``fmt=None`` detects the format."""
    fmt = fmt or detect_format(text)
    return parse_plain(text) if fmt == "plain" else parse_fountain(text)
