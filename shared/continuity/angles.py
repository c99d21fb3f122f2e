"""Camera angles: free camera text from the shot list ("AERIAL looking down", "CU", "low angle,
3/4 left") read into a small vocabulary the later stages can rely on.

Three independent axes, each optional (``None`` when the text does not say):

- framing: extreme wide, wide, full, medium wide, medium, medium close-up, close-up, extreme close-up
- angle: eye level, high, low, overhead (aerial, bird's eye, top-down), dutch
- side: front, three-quarter, profile, back

Parsing is a table of patterns tried longest first, so "extreme close-up" is never read as
"close-up" and "medium close-up" never as "medium". Abbreviations are matched as whole words in any
case (CU, ECU, MCU, MS, MWS, WS, EWS, LS, FS, OTS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Framing = Literal[
    "extreme wide", "wide", "full", "medium wide", "medium", "medium close-up", "close-up", "extreme close-up"
]
Angle = Literal["eye level", "high", "low", "overhead", "dutch"]
Side = Literal["front", "three-quarter", "profile", "back"]

FRAMINGS: Final[tuple[Framing, ...]] = (
    "extreme wide",
    "wide",
    "full",
    "medium wide",
    "medium",
    "medium close-up",
    "close-up",
    "extreme close-up",
)
ANGLES: Final[tuple[Angle, ...]] = ("eye level", "high", "low", "overhead", "dutch")
SIDES: Final[tuple[Side, ...]] = ("front", "three-quarter", "profile", "back")

# Which Stage 5 view shows a side (views are front, side, three-quarter, back).
VIEW_FOR_SIDE: Final[dict[str, str]] = {
    "front": "front",
    "three-quarter": "three-quarter",
    "profile": "side",
    "back": "back",
}

_SEP = r"[\s\-]*"
_FRAMING_WORDS: Final[list[tuple[str, Framing]]] = [
    (rf"extreme{_SEP}close{_SEP}ups?|ecu|xcu|bcu|insert|macro", "extreme close-up"),
    (rf"medium{_SEP}close{_SEP}ups?|mcu|chest{_SEP}shot", "medium close-up"),
    (rf"close{_SEP}ups?|cu", "close-up"),
    (
        rf"extreme{_SEP}(?:wide|long)(?:{_SEP}shot)?|ews|xws|els|xls|establishing(?:{_SEP}shot)?",
        "extreme wide",
    ),
    (
        rf"medium{_SEP}(?:wide|long)(?:{_SEP}shot)?|mws|mls|cowboy(?:{_SEP}shot)?|american{_SEP}shot",
        "medium wide",
    ),
    (rf"medium(?:{_SEP}shot)?|mid{_SEP}shot|ms|waist{_SEP}shot", "medium"),
    (rf"full(?:{_SEP}(?:shot|body|figure|length))|fs", "full"),
    (rf"wide(?:{_SEP}shot)?|long{_SEP}shot|ws|ls", "wide"),
]
_ANGLE_WORDS: Final[list[tuple[str, Angle]]] = [
    (rf"dutch(?:{_SEP}angle|{_SEP}tilt)?|canted|tilted(?:{_SEP}frame)?", "dutch"),
    (
        rf"aerial|overhead|bird'?s{_SEP}eye|top{_SEP}down|drone|god'?s{_SEP}eye|looking{_SEP}(?:straight{_SEP})?down",
        "overhead",
    ),
    (rf"low(?:{_SEP}angle)|worm'?s{_SEP}eye|looking{_SEP}up", "low"),
    (rf"high(?:{_SEP}angle)", "high"),
    (rf"eye{_SEP}level|eye{_SEP}line|neutral{_SEP}angle", "eye level"),
]
_SIDE_WORDS: Final[list[tuple[str, Side]]] = [
    (rf"3/4|three{_SEP}quarters?|¾", "three-quarter"),
    (rf"profile|side{_SEP}(?:view|on|angle)|from{_SEP}the{_SEP}side", "profile"),
    (
        rf"from{_SEP}behind|back{_SEP}(?:view|to{_SEP}camera|of)|rear(?:{_SEP}view)?|over{_SEP}the{_SEP}shoulder|ots",
        "back",
    ),
    (
        rf"front(?:al|{_SEP}view|{_SEP}on)?|head{_SEP}on|facing{_SEP}(?:the{_SEP})?camera|straight{_SEP}on",
        "front",
    ),
]


def _compile(words: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
    # (?<![\w/]) and (?![\w/]) make abbreviations whole words: "CU" is not the "cu" of "cup".
    return [(re.compile(rf"(?<![\w/])(?:{p})(?![\w/])", re.IGNORECASE), v) for p, v in words]


_FRAMING_RE = _compile(_FRAMING_WORDS)  # type: ignore[arg-type]
_ANGLE_RE = _compile(_ANGLE_WORDS)  # type: ignore[arg-type]
_SIDE_RE = _compile(_SIDE_WORDS)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CameraAngles:
    framing: Framing | None
    angle: Angle | None
    side: Side | None


def _first(rules: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    """The value whose pattern matches earliest in the text (ties: the table's order, longest first)."""
    best: tuple[int, int, str] | None = None
    for order, (pattern, value) in enumerate(rules):
        m = pattern.search(text)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, value)
    return best[2] if best else None


def parse_camera(text: str) -> CameraAngles:
    """Read free camera text into the vocabulary; what it does not say stays ``None``."""
    return CameraAngles(
        framing=_first(_FRAMING_RE, text),  # type: ignore[arg-type]
        angle=_first(_ANGLE_RE, text),  # type: ignore[arg-type]
        side=_first(_SIDE_RE, text),  # type: ignore[arg-type]
    )


def describe(framing: str | None, angle: str | None, side: str | None) -> str:
    """Words for a prompt: "close-up, low angle, seen in three-quarter view"."""
    parts = []
    if framing:
        parts.append(f"{framing} shot")
    if angle:
        parts.append("eye-level camera" if angle == "eye level" else f"{angle} angle")
    if side:
        parts.append(f"seen from the {side}" if side in ("front", "back") else f"seen in {side} view")
    return ", ".join(parts)


def prompt_line(angles: list[CameraAngles]) -> str:
    """The line a scene-image prompt gets for the camera angles of the instance's shots (empty when
    none says anything): the image should serve those shots."""
    seen: list[str] = []
    for a in angles:
        words = describe(a.framing, a.angle, a.side)
        if words and words not in seen:
            seen.append(words)
    return f"Shown in this scene as: {'; '.join(seen)}." if seen else ""
