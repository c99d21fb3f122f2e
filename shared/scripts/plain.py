"""Plain-text reader for screenplays extracted from PDFs.

The PDF layout survives as indentation: action at the left margin, dialogue indented, cues
indented further, transitions near the right edge. Page furniture (page numbers, running headers,
``(CONTINUED)``, ``(MORE)``, scene numbers in both margins, revision asterisks) is removed first,
then lines are classified by column. Text without that layout falls back to the Fountain rules.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from shared.scripts.cues import normalize_cue
from shared.scripts.elements import (
    ElementBuilder,
    HeadingMark,
    ParsedScript,
    ScriptElement,
    assemble_scenes,
    normalize_space,
    split_lines,
)
from shared.scripts.fountain import read_body
from shared.scripts.headings import is_heading, parse_heading

_SCENE_NO = r"\d{1,4}[A-Z]{0,3}\.?"
_BOTH_MARGINS = re.compile(rf"^(?P<num>{_SCENE_NO})\s{{2,}}(?P<body>\S.*?)\s{{2,}}(?P=num)$")
_LEFT_MARGIN = re.compile(rf"^{_SCENE_NO}\s{{2,}}(?=\S)")
_RIGHT_MARGIN = re.compile(rf"\s{{2,}}{_SCENE_NO}$")
_REVISION_MARK = re.compile(r"\s{2,}\*+$")
_FURNITURE = re.compile(
    rf"^(?:\(?CONT(?:INUED|'D|’D)\)?:?(?:\s*\(\d+\))?|\(MORE\)|OMITTED|\*+|{_SCENE_NO}"
    r"|PAGE\s+\d+(?:\s+OF\s+\d+)?\.?|-\s*\d+\s*-"
    # Draft labels printed on every page ("FINAL SHOOTING SCRIPT", "REVISED DRAFT 3/4/07").
    r"|(?:(?:FINAL|REVISED|PRODUCTION|WHITE|BLUE|PINK|YELLOW|GREEN)\s+)*(?:SHOOTING\s+SCRIPT|DRAFT)"
    r"(?:\s*[-–—:]?\s*[\d/.\-]+)?)$",
    re.IGNORECASE,
)
# Page numbers in running headers and footers stand apart from the text by a wide gap.
_NUMBERED_EDGE = re.compile(r"^\d+\.?\s{3,}\S|\S\s{3,}\d+\.?$")
_TRANSITION = re.compile(r"(?:TO:|FADE OUT\.?|FADE TO BLACK\.?|CUT TO BLACK\.?)$")
_LEADING_PARENTHETICAL = re.compile(r"^(?P<aside>\([^)]*\)?)\s*(?P<rest>.*)$")
_BYLINE = re.compile(r"^(?:written\s+)?by\s+(?P<author>\S.*)$", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_LOWER = re.compile(r"[a-zß-ÿ]")
# A cue with its extensions, e.g. "JUNO V.O. (CONT'D)"; longer lines are never cues.
_MAX_CUE_LINE = 60
# Two indented cues with indented speech under them are enough to trust the column layout.
_MIN_CUES = 2
# Indentation steps below this are wrapping noise, not a different element.
_SLACK = 4
_HEADER_REPEATS = 3
# Double spacing: almost no two text lines touch. A few do where page furniture was removed.
_MAX_ADJACENT_SHARE = 0.1
_MIN_DOUBLED_PAIRS = 5
# A transition sits well right of the cue column ("CUT TO:" at the right margin).
_TRANSITION_OFFSET = 15


@dataclass(frozen=True, slots=True)
class _Line:
    indent: int
    text: str


@dataclass(frozen=True, slots=True)
class _Layout:
    action: int
    cue: int
    dialogue: int


def parse_plain(text: str) -> ParsedScript:
    raw_lines = split_lines(text)
    lines = undouble(clean_lines(raw_lines))
    layout = _detect_layout(lines)
    if layout is None:
        headings, elements = read_body([line.text if line else None for line in lines], markup=False)
    else:
        headings, elements = _read_columns(lines, layout)
    first_heading = min((mark.line for mark in headings), default=len(lines))
    title_page = _read_title_block(lines[:first_heading])
    return ParsedScript(
        format="plain",
        title=title_page.get("title"),
        scenes=assemble_scenes(headings, elements, len(raw_lines)),
        title_page=title_page,
    )


def clean_lines(raw_lines: Sequence[str]) -> list[_Line | None]:
    """Strip page furniture. ``None`` marks a removed line, so a page break inside a paragraph or a
    speech does not read as a blank line."""
    expanded = [line.expandtabs(8).rstrip() for line in raw_lines]
    headers = _running_headers(expanded)
    cleaned: list[_Line | None] = []
    for line in expanded:
        if line.endswith("*"):
            line = _REVISION_MARK.sub("", line)
        body = line.strip()
        if not body:
            cleaned.append(_Line(0, ""))
            continue
        if _FURNITURE.match(body) or (_NUMBERED_EDGE.search(body) and _header_key(body) in headers):
            cleaned.append(None)
            continue
        if body[0].isdigit() or body[-1].isdigit() or body.endswith("."):
            body = _strip_scene_numbers(body)
            if _FURNITURE.match(body):
                cleaned.append(None)
                continue
        cleaned.append(_Line(line.find(body), body))
    return cleaned


def undouble(lines: list[_Line | None]) -> list[_Line | None]:
    """Close up double-spaced text (a blank line after every line, as some PDF exports give).

    In such text a single blank line only separates lines, so it is dropped (``None``: the
    paragraph or speech goes on); a run of two or more blank lines is the real paragraph break and
    stays as one blank line. Line indices do not move. Single-spaced text is returned unchanged.
    """
    texts = [index for index, line in enumerate(lines) if line is not None and line.text]
    pairs = [(a, b) for a, b in itertools.pairwise(texts) if b - a <= 2]
    if len(pairs) < _MIN_DOUBLED_PAIRS:
        return lines
    adjacent = sum(_only_removed_between(lines, a, b) for a, b in pairs)
    if adjacent > _MAX_ADJACENT_SHARE * len(pairs):
        return lines
    result = list(lines)
    index = 0
    while index < len(result):
        line = result[index]
        if line is None or line.text:
            index += 1
            continue
        end = index
        while end < len(result) and _is_gap(result[end]):
            end += 1
        blanks = [i for i in range(index, end) if result[i] is not None]
        for position, blank in enumerate(blanks):
            if len(blanks) == 1 or position > 0:
                result[blank] = None
        index = end
    return result


def _is_gap(line: _Line | None) -> bool:
    return line is None or not line.text


def _only_removed_between(lines: Sequence[_Line | None], first: int, second: int) -> bool:
    return all(lines[i] is None for i in range(first + 1, second))


def _running_headers(lines: Sequence[str]) -> set[str]:
    # A line repeated page after page that differs only in its numbers ("Juno - Production
    # Revised Yellow - 3/05/07   12.") is a running header or footer.
    # Headings are never counted: "12  INT. HOUSE - NIGHT  12" may well recur three times.
    counts = Counter(
        _header_key(line)
        for line in lines
        if _NUMBERED_EDGE.search(line) and not is_heading(_strip_scene_numbers(line.strip()))
    )
    return {key for key, count in counts.items() if count >= _HEADER_REPEATS}


def _header_key(line: str) -> str:
    return normalize_space(re.sub(r"\d+", "#", line))


def _strip_scene_numbers(body: str) -> str:
    if (both := _BOTH_MARGINS.match(body)) is not None:
        return both["body"].strip()
    stripped = _LEFT_MARGIN.sub("", body)
    if stripped != body and (is_heading(stripped) or _FURNITURE.match(_RIGHT_MARGIN.sub("", stripped))):
        body = stripped
    right = _RIGHT_MARGIN.sub("", body)
    if right != body and (is_heading(right) or _FURNITURE.match(right)):
        body = right
    return body


def _detect_layout(lines: Sequence[_Line | None]) -> _Layout | None:
    heading_indents = [line.indent for line in lines if line and line.text and is_heading(line.text)]
    text_indents = [line.indent for line in lines if line and line.text]
    if not text_indents:
        return None
    action = _mode(heading_indents) if heading_indents else min(text_indents)
    cues: list[int] = []
    dialogue: list[int] = []
    for index, line in enumerate(lines):
        if not line or line.indent < action + 2 * _SLACK or not _is_cue_text(line.text):
            continue
        following = _next_line(lines, index)
        if following is None or not following.text or following.indent <= action + _SLACK:
            continue
        cues.append(line.indent)
        if not following.text.startswith("("):
            dialogue.append(following.indent)
    if len(cues) < _MIN_CUES or not dialogue:
        return None
    return _Layout(action=action, cue=_mode(cues), dialogue=_mode(dialogue))


def _read_columns(
    lines: Sequence[_Line | None], layout: _Layout
) -> tuple[list[HeadingMark], list[ScriptElement]]:
    body = ElementBuilder(joiner=" ", clean=str.strip)
    cue_min = (layout.dialogue + layout.cue) // 2 + 1
    transition_min = layout.cue + _TRANSITION_OFFSET
    in_speech = in_parenthetical = False
    for index, line in enumerate(lines):
        if line is None:
            continue
        text, indent = line.text, line.indent
        if not text:
            body.close()
            in_speech = in_parenthetical = False
            continue
        if in_parenthetical:
            last = body.elements[-1]
            body.elements[-1] = ScriptElement(
                kind="parenthetical", text=f"{last.text} {text}", line=last.line
            )
            in_parenthetical = ")" not in text
        elif indent < layout.dialogue - 2 and is_heading(text):
            body.headings.append(parse_heading(index, text))
            body.close()
            in_speech = False
        elif (indent >= transition_min or _TRANSITION.search(text)) and (
            not text.startswith("(") and _is_upper(text)
        ):
            body.close()
            body.add("transition", text, index)
            in_speech = False
        elif cue_min <= indent < transition_min and _is_cue_text(text):
            body.close()
            body.add("character", text, index)
            in_speech = True
        elif in_speech and indent > layout.action + _SLACK:
            if (aside := _LEADING_PARENTHETICAL.match(text)) is not None:
                # "(examining stick) I don't know." puts the parenthetical and the line together.
                body.close()
                body.add("parenthetical", aside["aside"], index)
                body.close()
                in_parenthetical = ")" not in aside["aside"]
                if aside["rest"].strip(" )"):
                    body.add("dialogue", aside["rest"], index)
            else:
                body.add("dialogue", text, index)
        else:
            if in_speech:
                body.close()
            body.add("action", text, index)
            in_speech = False
    return body.headings, body.elements


def _read_title_block(lines: Sequence[_Line | None]) -> dict[str, str]:
    texts = [line.text for line in lines if line and line.text]
    if not texts:
        return {}
    title_page = {"title": texts[0]}
    for position, text in enumerate(texts[1:], start=1):
        if (byline := _BYLINE.match(text)) is not None:
            title_page["author"] = byline["author"]
            break
        if text.lower().rstrip(":") in {"written by", "by", "screenplay by"} and position + 1 < len(texts):
            title_page["author"] = texts[position + 1]
            break
    return title_page


def _is_cue_text(text: str) -> bool:
    if len(text) > _MAX_CUE_LINE or text.startswith("(") or text[0].islower():
        return False
    return _is_upper(re.sub(r"\([^()]*\)?", "", text)) and (normalize_cue(text) is not None)


def _is_upper(text: str) -> bool:
    if text == text.upper():
        return text != text.lower()
    letters = len(_LETTER.findall(text))
    return len(_LOWER.findall(text)) * 4 <= letters


def _next_line(lines: Sequence[_Line | None], index: int) -> _Line | None:
    for following in range(index + 1, len(lines)):
        if (line := lines[following]) is not None:
            return line
    return None


def _mode(values: Sequence[int]) -> int:
    counts = Counter(values)
    return max(counts, key=lambda value: (counts[value], -value))
