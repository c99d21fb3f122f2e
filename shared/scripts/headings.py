"""Scene headings: recognising them and splitting them into INT/EXT, location and time of day."""

from __future__ import annotations

import re

from shared.scripts.elements import HeadingMark, normalize_space, word_set

# "INT.", "EXT:", "INT -", "I/E", "INT./EXT.", "EST." ... Case-insensitive because converted scripts
# (the Trelby sample among them) and hand-typed drafts write "Int." as often as "INT.".
_PREFIX = re.compile(
    r"^(?P<prefix>int\.?\s*/\s*ext|ext\.?\s*/\s*int|i\.?\s*/\s*e|e\.?\s*/\s*i|int|ext|est)"
    r"(?:\.\s*|\s*[:\-–—]\s*|\s+)(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_SCENE_NUMBER_TAG = re.compile(r"\s*#[\w.\-]+#\s*$")
# Production tags that trail a heading but say nothing about place or time.
_TRAILING_TAG = re.compile(r"\s*[-–—,]*\s*\(([^()]*)\)\s*$")
# A separator is a dash or comma with space on at least one side, so "MOLD-O'-RIFFIC" and
# "SU-CHIN" stay whole while "BASEMENT- NIGHT" and "HOUSE -- LATER" split.
_SEPARATOR = re.compile(r"\s*(?:--+|—|–)\s*|\s+-\s*|\s*-\s+|\s*,\s*")

_TIME_WORDS = word_set(
    """
    DAY, NIGHT, MORNING, EVENING, AFTERNOON, DUSK, DAWN, SUNSET, SUNRISE, NOON, MIDDAY, MIDNIGHT,
    TWILIGHT, NIGHTFALL, DAYBREAK, DAYTIME, NIGHTTIME, MAGIC HOUR, GOLDEN HOUR, FIRST LIGHT,
    PRE-DAWN, PREDAWN, CONTINUOUS, CONTINUED, CONTINUING, SAME, SAME TIME, SIMULTANEOUS, LATER,
    DAY/NIGHT, NIGHT/DAY, MOMENTS LATER, MOMENTS BEFORE, MOMENTS EARLIER, EARLIER, NEXT DAY
    """,
    ",",
)
_PERIOD = r"(?:DAY|NIGHT|MORNING|AFTERNOON|EVENING|DAWN|DUSK)"
_TIME_PATTERNS = (
    re.compile(r"^(?:[A-Z0-9'-]+ ){0,4}(?:LATER|EARLIER|BEFORE)$"),  # A HALF HOUR LATER, TWO DAYS LATER
    re.compile(rf"^LATER (?:THAT |THIS |IN THE )?{_PERIOD}$"),
    re.compile(rf"^(?:THE )?(?:NEXT|FOLLOWING|SAME|THAT|PREVIOUS) {_PERIOD}$"),
    re.compile(rf"^(?:EARLY|LATE|MID)[- ]?{_PERIOD}$"),
    re.compile(rf"^{_PERIOD} \d+$"),  # DAY 2
)
_BARE_TIME = re.compile(r"^(?P<location>.*\S)\s+(?P<time>DAY|NIGHT)$")


def is_heading(line: str) -> bool:
    return _PREFIX.match(line.strip()) is not None


def parse_heading(line: int, raw: str, *, forced: bool = False) -> HeadingMark:
    """Split a heading line into its parts. ``forced`` headings (Fountain ``.OPENING TITLES``)
    have no INT/EXT prefix of their own unless they happen to start with one."""
    text = raw.strip()
    if forced:
        text = text[1:].strip()
    text = normalize_space(_SCENE_NUMBER_TAG.sub("", text))
    match = _PREFIX.match(text)
    if match is None:
        location, time_of_day = split_time_of_day(text)
        return HeadingMark(line=line, heading=text, int_ext=None, location=location, time_of_day=time_of_day)
    location, time_of_day = split_time_of_day(match["rest"])
    return HeadingMark(
        line=line,
        heading=text,
        int_ext=_normalize_prefix(match["prefix"]),
        location=location,
        time_of_day=time_of_day,
    )


def _normalize_prefix(prefix: str) -> str:
    compact = re.sub(r"[.\s]", "", prefix).upper()
    if "/" in compact:
        return "INT/EXT"
    return compact


def is_time_of_day(text: str) -> bool:
    normalized = _normalize_time(text)
    return normalized in _TIME_WORDS or any(pattern.match(normalized) for pattern in _TIME_PATTERNS)


def _normalize_time(text: str) -> str:
    return normalize_space(text.replace("’", "'").upper()).strip(" .!:;,")


def split_time_of_day(rest: str) -> tuple[str, str | None]:
    """``"HOUSE - KITCHEN - NIGHT"`` -> ``("HOUSE - KITCHEN", "NIGHT")``.

    Only a trailing part that reads as a time of day is split off; anything else stays in the
    location, so sub-areas and odd suffixes ("ELAINE'S POV") are never lost.
    """
    text = rest.strip()
    tag_time: str | None = None
    while (tag := _TRAILING_TAG.search(text)) is not None and tag.start() > 0:
        if tag_time is None and is_time_of_day(tag[1]):
            tag_time = _normalize_time(tag[1])
        text = text[: tag.start()].rstrip()
    times: list[str] = []
    while True:
        separators = list(_SEPARATOR.finditer(text))
        if not separators:
            break
        last = separators[-1]
        tail = text[last.end() :]
        if last.start() == 0 or not tail or not is_time_of_day(tail):
            break
        times.insert(0, _normalize_time(tail))
        text = text[: last.start()]
    if not times and (bare := _BARE_TIME.match(text)) and _SEPARATOR.search(text) is None:
        # "INT. COCKPIT NIGHT": a forgotten dash. Only DAY/NIGHT, the words no place name ends in.
        times, text = [bare["time"]], bare["location"]
    time_of_day = " - ".join(times) if times else tag_time
    return text.strip().rstrip(",.:;-–— ").strip(), time_of_day
