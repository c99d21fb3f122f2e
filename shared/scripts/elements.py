"""The parsed shape of a screenplay, shared by the Fountain and plain-text readers.

``shared.scripts.parser`` re-exports these names; other services import them from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

ScriptFormat = Literal["fountain", "plain"]
ElementKind = Literal["action", "character", "dialogue", "parenthetical", "transition", "lyric", "centered"]

# Elements that belong to a speech: they follow their cue without a blank line in ``ParsedScene.text``.
_SPEECH_KINDS = frozenset({"dialogue", "parenthetical", "lyric"})


@dataclass(frozen=True, slots=True)
class ScriptElement:
    kind: ElementKind
    text: str
    line: int  # 0-based index of the element's first line in the input


@dataclass(frozen=True, slots=True)
class ParsedScene:
    number: int
    heading: str
    int_ext: str | None
    location: str
    time_of_day: str | None
    start_line: int
    end_line: int
    elements: tuple[ScriptElement, ...]

    @property
    def text(self) -> str:
        """The body as plain text: a blank line between blocks, speeches kept together."""
        parts: list[str] = []
        previous: ElementKind | None = None
        for element in self.elements:
            joined = element.kind in _SPEECH_KINDS and previous in {"character", *_SPEECH_KINDS}
            if parts and not joined:
                parts.append("")
            parts.append(element.text)
            previous = element.kind
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class ParsedScript:
    format: ScriptFormat
    title: str | None
    scenes: tuple[ParsedScene, ...]
    title_page: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HeadingMark:
    """A scene heading found by a reader, before the body is attached."""

    line: int
    heading: str
    int_ext: str | None
    location: str
    time_of_day: str | None


# Elements that continue over consecutive lines instead of starting a new element per line.
_JOINED_KINDS: frozenset[ElementKind] = frozenset({"action", "dialogue", "centered", "lyric"})


@dataclass(slots=True)
class ElementBuilder:
    """Collects elements and marks; a line of the same kind as the open element extends it."""

    joiner: str
    clean: Callable[[str], str]
    headings: list[HeadingMark] = field(default_factory=list)
    elements: list[ScriptElement] = field(default_factory=list)
    open_kind: ElementKind | None = None

    def add(self, kind: ElementKind, text: str, line: int) -> None:
        text = self.clean(text)
        if kind == self.open_kind and kind in _JOINED_KINDS and self.elements:
            last = self.elements[-1]
            self.elements[-1] = ScriptElement(
                kind=kind, text=f"{last.text}{self.joiner}{text}", line=last.line
            )
        else:
            self.elements.append(ScriptElement(kind=kind, text=text, line=line))
        self.open_kind = kind

    def close(self) -> None:
        self.open_kind = None


def split_lines(text: str) -> list[str]:
    """Input lines as the parsers count them: any newline convention, form feeds dropped.

    ``str.splitlines`` is not used because it also splits on form feeds, which PDF extractors
    emit at page breaks; counting those as lines would shift every reported line index.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "").split("\n")


def assemble_scenes(
    headings: Iterable[HeadingMark], elements: Iterable[ScriptElement], line_count: int
) -> tuple[ParsedScene, ...]:
    """Attach each element to the scene whose heading precedes it; text before the first heading
    (title, FADE IN:, cold-open notes) belongs to no scene."""
    marks = sorted(headings, key=lambda mark: mark.line)
    bodies: list[list[ScriptElement]] = [[] for _ in marks]
    index = -1
    for element in sorted(elements, key=lambda item: item.line):
        while index + 1 < len(marks) and marks[index + 1].line <= element.line:
            index += 1
        if index >= 0:
            bodies[index].append(element)
    return tuple(
        ParsedScene(
            number=i + 1,
            heading=mark.heading,
            int_ext=mark.int_ext,
            location=mark.location,
            time_of_day=mark.time_of_day,
            start_line=mark.line,
            end_line=marks[i + 1].line if i + 1 < len(marks) else line_count,
            elements=tuple(bodies[i]),
        )
        for i, mark in enumerate(marks)
    )


# Underlines must sit on word edges so "snake_case_name" survives.
_EMPHASIS = re.compile(r"(?<!\\)(\*{1,3})(?=\S)(.+?)(?<=\S)(?<!\\)\1|(?<![\w\\])(_)(?=\S)(.+?)(?<=\S)_(?!\w)")


def strip_emphasis(text: str) -> str:
    """Remove Fountain emphasis markers (``*italic*``, ``**bold**``, ``_underline_``) and escapes."""
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(lambda match: match[2] or match[4], text)
    return text.replace("\\*", "*").replace("\\_", "_")


def word_set(text: str, separator: str | None = None) -> frozenset[str]:
    """A word list written as prose, one entry per ``separator`` (whitespace by default)."""
    return frozenset(word.strip() for word in text.split(separator) if word.strip())


def normalize_space(text: str) -> str:
    return " ".join(text.split())
