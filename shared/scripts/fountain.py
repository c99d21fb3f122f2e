"""Fountain reader (https://fountain.io/syntax), tolerant of the liberties real files take."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Literal

from shared.scripts.cues import normalize_cue
from shared.scripts.elements import (
    ElementBuilder,
    ElementKind,
    HeadingMark,
    ParsedScript,
    ScriptElement,
    assemble_scenes,
    split_lines,
    strip_emphasis,
    word_set,
)
from shared.scripts.headings import is_heading, parse_heading

_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_NOTE = re.compile(r"\[\[.*?\]\]", re.DOTALL)
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _.\-]{0,40}?):\s*(.*)$")
_KNOWN_TITLE_KEYS = word_set(
    "title|credit|author|authors|source|draft date|date|contact|notes|copyright|revision|format", "|"
)
_KNOWN_TRANSITIONS = word_set(
    "FADE IN:|FADE OUT.|FADE OUT|FADE TO BLACK.|FADE TO BLACK|CUT TO BLACK.|CUT TO BLACK|IRIS OUT.", "|"
)


def parse_fountain(text: str) -> ParsedScript:
    lines = split_lines(text)
    visible = remove_notes_and_boneyard(lines)
    title_page, body_start = read_title_page(visible)
    headings, elements = read_body(visible, body_start)
    title = title_page.get("title")
    return ParsedScript(
        format="fountain",
        title=" ".join(title.split()) if title else None,
        scenes=assemble_scenes(headings, elements, len(lines)),
        title_page=title_page,
    )


def remove_notes_and_boneyard(lines: Sequence[str]) -> list[str | None]:
    """Blank out ``/* boneyard */`` and ``[[notes]]``; a line they emptied becomes ``None`` so it is
    skipped rather than read as a blank line that would cut a speech in two."""
    text = "\n".join(lines)
    emptied: set[int] = set()
    for pattern in (_BONEYARD, _NOTE):
        matches = list(pattern.finditer(text))
        if not matches:
            continue
        newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        pieces: list[str] = []
        spans: list[tuple[int, int]] = []
        position = 0
        for match in matches:
            first = bisect.bisect_left(newlines, match.start())
            breaks = match[0].count("\n")
            spans.append((first, first + breaks))
            pieces += [text[position : match.start()], "\n" * breaks]
            position = match.end()
        text = "".join([*pieces, text[position:]])
        after = text.split("\n")
        for first, last in spans:
            emptied.update(i for i in range(first, last + 1) if not after[i].strip())
    return [None if i in emptied else line for i, line in enumerate(text.split("\n"))]


def read_title_page(lines: Sequence[str | None]) -> tuple[dict[str, str], int]:
    """Read the ``Key: value`` block at the top. Returns the entries and the first body line."""
    index = 0
    while index < len(lines) and not (lines[index] or "").strip():
        index += 1
    entries: list[tuple[str, list[str]]] = []
    while index < len(lines) and (line := lines[index]) is not None and line.strip():
        key_match = _TITLE_KEY.match(line)
        if line[:1].isspace() and entries:
            entries[-1][1].append(strip_emphasis(line.strip()))
        elif key_match and not line[:1].isspace():
            value = strip_emphasis(key_match[2].strip())
            entries.append((key_match[1].strip().lower(), [value] if value else []))
        else:
            return {}, 0
        index += 1
    if not _looks_like_title_page(entries):
        return {}, 0
    return {key: "\n".join(values) for key, values in entries}, index


def _looks_like_title_page(entries: list[tuple[str, list[str]]]) -> bool:
    # "FADE IN:" alone on the first line has the shape of a key but is a transition, and
    # "EXT: ROOF - DAY" is a heading.
    if not entries or any(is_heading(f"{key}: {values[0] if values else 'X'}") for key, values in entries):
        return False
    return any(key in _KNOWN_TITLE_KEYS for key, _ in entries) or any(values for _, values in entries)


def read_body(
    lines: Sequence[str | None], start: int = 0, *, markup: bool = True
) -> tuple[list[HeadingMark], list[ScriptElement]]:
    """Classify lines into headings and elements. ``markup=False`` reads flush-left plain text with
    the same layout rules but without Fountain's forcing characters."""
    # Plain text wraps at the page width, so its line breaks are not the writer's.
    body = ElementBuilder(joiner="\n" if markup else " ", clean=strip_emphasis if markup else str.strip)
    after_blank = True
    in_speech = False
    for index in range(start, len(lines)):
        raw = lines[index]
        if raw is None:
            continue
        text = raw.strip()
        if not text or (markup and text.startswith(("#", "="))):
            # Sections (#), synopses (=) and page breaks (===) only structure the writer's outline.
            body.open_kind, after_blank, in_speech = None, True, False
            continue
        if in_speech:
            if text.startswith("("):
                body.add("parenthetical", text, index)
            elif markup and text.startswith("~"):
                body.add("lyric", text[1:].strip(), index)
            else:
                body.add("dialogue", text, index)
            continue
        following = _next_text(lines, index)
        kind, content = _classify(text, after_blank=after_blank, following=following, markup=markup)
        if kind == "heading":
            body.headings.append(parse_heading(index, content, forced=markup and content.startswith(".")))
            body.open_kind = None
        elif kind == "character":
            body.open_kind = None
            body.add("character", content, index)
            in_speech = True
        else:
            body.add(kind, content, index)
        after_blank = False
    return body.headings, body.elements


def _classify(
    text: str, *, after_blank: bool, following: str | None, markup: bool
) -> tuple[ElementKind | Literal["heading"], str]:
    next_blank = not following
    if markup:
        if text.startswith(">") and text.endswith("<") and len(text) > 1:
            return "centered", text[1:-1].strip()
        if text.startswith(">"):
            return "transition", text[1:].strip()
        if text.startswith("~"):
            return "lyric", text[1:].strip()
        if text.startswith("!"):
            return "action", text[1:].strip()
    if is_heading(text) and (after_blank or text[:3].isupper()):
        # Fountain wants a blank line before a heading; hand-typed drafts forget it, but an
        # upper-case "INT." opening a line is a heading all the same.
        return "heading", text
    if not after_blank:
        return "action", text
    if markup and text.startswith(".") and len(text) > 1 and text[1] != ".":
        return "heading", text
    upper = not any(ch.islower() for ch in text)
    if upper and next_blank and (text.endswith("TO:") or text in _KNOWN_TRANSITIONS):
        return "transition", text
    if not next_blank and normalize_cue(text if markup else text.lstrip("@")) is not None:
        # A shot line over its description ("NEWSPAPERS" / "coming off press.") looks like a cue;
        # a speech does not start in lower case.
        if following is not None and following[:1].islower() and not text.startswith("@"):
            return "action", text
        return "character", text.lstrip("@").rstrip("^").strip()
    return "action", text


def _next_text(lines: Sequence[str | None], index: int) -> str | None:
    """The stripped next line, ``None`` at the end; removed lines are skipped."""
    for following in range(index + 1, len(lines)):
        line = lines[following]
        if line is not None:
            return line.strip()
    return None
