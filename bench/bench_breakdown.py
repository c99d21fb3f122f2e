"""How good the offline breakdown is on every sample screenplay, and how long it takes.

    python -m bench.bench_breakdown [--runs 3] [--show]

One table per sample (``../shared/samples``), plus juno.txt re-shaped as double-spaced PDF text
(a blank line after every line). Figures:

- characters: recall of the sample's 10 most frequent speakers (counted by hand from the cues,
  devices such as "P.A. SYSTEM" left out), and the share of character entities that are people;
- locations: count, known duplicates merged into one entity, names carrying a shot direction;
- props: count, share that are real objects (every prop name the bench has seen judged by hand:
  ``NOT_OBJECTS`` lists the ones that are not), recall of the props a reader would list;
- extras: count, idioms caught, known duplicate groups merged;
- time of the whole offline breakdown (parse + preview + describe): the first run in the process
  (it pays for loading the lexicon) and the median of ``--runs`` more.

The reference data below is written by a reader of each script, not derived from the extractor.
No database, no network, no LLM.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script as well as with ``python -m``

from shared.extraction.offline import describe_entities, preview_entities  # noqa: E402
from shared.extraction.schemas import PreviewEntity  # noqa: E402
from shared.scripts.parser import parse_script  # noqa: E402

SAMPLES = ROOT / ".." / "shared" / "samples"

# Speakers that are never a person whatever the script: devices, voices, shots, groups.
_NOT_A_PERSON = re.compile(
    r"\b(?:VOICES?|P\.?\s?O\.?\s?V\.?|RADIO|TV|TELEVISION|INTERCOM|SYSTEM|SPEAKER|PHONE|RECORDING|TAPE"
    r"|SIGN|ALL|BOTH|CROWD|EVERYONE|OMNES)\b",
    re.IGNORECASE,
)
_SHOT_DIRECTION = re.compile(
    r"\b(?:FROM ABOVE|FROM BELOW|P\.?O\.?V\.?|MOVING|ANGLE|CLOSE ?UP|CLOSE-UP|INSERT|TRACKING|WIDE SHOT"
    r"|AERIAL|ESTABLISHING|SHOT)\b",
    re.IGNORECASE,
)
_IDIOM = re.compile(r"^(?:like|as)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """What a reader of the script would list. Props are alternatives: any one found counts."""

    speakers: tuple[str, ...]
    props: tuple[tuple[str, ...], ...]
    location_duplicates: tuple[tuple[str, ...], ...] = ()
    extra_duplicates: tuple[tuple[str, ...], ...] = ()
    not_people: frozenset[str] = field(default_factory=frozenset)
    not_objects: frozenset[str] = field(default_factory=frozenset)


# Top speakers by cue count (ties at the tenth place left out). Duplicates are pairs of headings a
# reader sees as one set (a typo, the same room named twice).
REFERENCES: dict[str, Reference] = {
    "airplane.fountain": Reference(
        speakers=(
            "STRIKER",
            "KRAMER",
            "ELAINE",
            "OVEUR",
            "DR. RUMACK",
            "RANDY",
            "HINSHAW",
            "MURDOCK",
            "MILTON",
            "JOEY",
        ),
        props=(
            ("guitar",),
            ("microphone", "mike"),
            ("radio",),
            ("coffee",),
            ("fish",),
            ("magazine",),
            ("ticket",),
            ("autopilot",),
            ("pill",),
        ),
        location_duplicates=(
            ("Terminal Building", "Terminal Buliding"),
            ("Chicago Dispatch", "Chcicago Dispatch"),
            ("Cabin", "Cabin Another Area"),
        ),
        not_people=frozenset({"HORSE"}),
        not_objects=frozenset(
            {
                "WAR",
                "AIR",
                "WAY",
                "WEATHER",
                "TRUTH",
                "CHANCE",
                "RISK",
                "LANDING",
                "HEADING",
                "LOT",
                "GROUND",
                "REST",
                "BREAK",
                "MINUTE",
                "MOMENT",
                "HELL",
                "MATCH",
                "TOP",
                "SIDE",
                "LINE",
                "CONTROL",
                "STOP",
                "HUNDRED",
                "BEEHIVE",
                "REEF",
                "SLEEVE",
                "COLLAR",
            }
        ),
    ),
    "brick-and-steel.fountain": Reference(
        speakers=("STEEL", "BRICK", "COGNITO", "JACK", "DAN", "MINION", "HANDSOME MAN"),
        props=(("beer",), ("porsche",), ("scope",), ("phone",), ("money",)),
        not_objects=frozenset({"SCREEN DOOR", "TAKE", "JOKE", "BEAT", "LIST", "WOODWORK", "GRAVITY"}),
    ),
    "stonehenge-trelby-sample.fountain": Reference(
        speakers=(
            "JASON",
            "KEVIN",
            "KIDNAPPER",
            "SARAH",
            "PRESIDENT",
            "CREW MEMBER",
            "CAPTAIN",
            "REPORTER",
            "AIDE",
        ),
        props=(("truck",), ("package",), ("dvd",), ("ak-74",), ("tv",), ("stone",), ("rifle", "gun")),
        location_duplicates=(("Jason's House", "Jason's Living Room"),),
        not_objects=frozenset(
            {"ICBM", "WORLD", "JOB", "STORM", "CARGO", "GROUND", "ATLANTIC", "RUNWAY", "REPORT"}
        ),
    ),
    "the-last-birthday-card.fountain": Reference(
        speakers=(
            "SCOTT",
            "BAXTER",
            "NAK",
            "ART GIRL",
            "THE BOSS",
            "BILLUPS",
            "SOPHISTICATED WOMAN",
            "NANCY",
            "WOMAN",
            "NEWSCASTER",
        ),
        props=(
            ("card",),
            ("rifle",),
            ("painting",),
            ("glock",),
            ("beretta",),
            ("headphones", "headphone"),
            ("tv", "remote"),
            ("beer",),
            ("landcruiser",),
        ),
        location_duplicates=(
            ("Palace Hotel RM 412", "RM 412"),
            ("Baxter's San Francisco Apartment", "Baxter's Apartment"),
        ),
        not_objects=frozenset(
            {
                "JOB",
                "WORK",
                "LIFE",
                "CAREER",
                "HIT",
                "ATTACK",
                "LUNCH",
                "WAY",
                "THING",
                "OVERLOOK",
                "APPRAISAL",
            }
        ),
    ),
    "juno.txt": Reference(
        speakers=(
            "JUNO",
            "MARK",
            "VANESSA",
            "BLEEKER",
            "LEAH",
            "MAC",
            "BREN",
            "ULTRASOUND TECH",
            "BLEEKER'S MOM",
            "GERTA",
        ),
        props=(
            ("pregnancy test",),
            ("slushie",),
            ("previa",),
            ("guitar", "les paul"),
            ("hamburger phone", "phone"),
            ("couch",),
            ("chair", "recliner"),
            ("briefcase",),
            ("stereo",),
            ("penny saver", "pennysaver"),
        ),
        location_duplicates=(
            ("Hospital", "Hospital Room"),
            ("Bleeker House", "Kitchen - Bleeker's House - Kitchen"),
            ("MacGuff House", "Juno's Bedroom"),
        ),
        extra_duplicates=(("Kids", "Children"),),
        not_objects=frozenset(
            {
                "WAISTBAND",
                "BLEACHERS",
                "WEIMARANERS",
                "ULTRASOUND",
                "RPG",
                "SITUATION",
                "FACT",
                "NAME",
                "MESSAGE",
                "MUSIC",
                "BEAT",
                "PROM",
                "AD",
                "TRACK",
                "DISTANCE",
                "BACKGROUND",
                "GIG",
                "GIRTH",
                "DROP",
                "WEIGHT",
                "PRODUCT",
                "LUNCH",
            }
        ),
    ),
}


def _fold(name: str) -> str:
    return " ".join(name.replace("’", "'").upper().split())


def _forms(entity: PreviewEntity) -> set[str]:
    return {_fold(name) for name in (entity.name, *entity.aliases)}


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _prop_found(alternatives: tuple[str, ...], props: list[PreviewEntity]) -> bool:
    for prop in props:
        words = " ".join(_singular(w) for w in re.findall(r"[a-z0-9'\-]+", " ".join(_forms(prop)).lower()))
        if any(re.search(rf"(?<![\w-]){re.escape(_singular(alt))}(?![\w-])", words) for alt in alternatives):
            return True
    return False


def _merged(groups: tuple[tuple[str, ...], ...], entities: list[PreviewEntity]) -> int:
    """How many groups have every name found in one single entity. A name no entity carries (a
    heading whose shot note was cleaned away) does not count against the group."""
    merged = 0
    for group in groups:
        owners = [{i for i, entity in enumerate(entities) if _fold(name) in _forms(entity)} for name in group]
        found = [owner for owner in owners if owner]
        merged += (
            len(found) >= 1 and all(len(owner) == 1 for owner in found) and len(set().union(*found)) == 1
        )
    return merged


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def breakdown(text: str) -> tuple[list[PreviewEntity], float]:
    started = time.perf_counter()
    script = parse_script(text)
    entities = preview_entities(script)
    describe_entities(script, entities)
    return entities, (time.perf_counter() - started) * 1000


def report(name: str, text: str, reference: Reference, runs: int, show: bool) -> None:
    entities, first_ms = breakdown(text)
    warm = [breakdown(text)[1] for _ in range(runs)]
    by_type: dict[str, list[PreviewEntity]] = {}
    for entity in entities:
        by_type.setdefault(entity.type, []).append(entity)
    characters = by_type.get("character", [])
    locations = by_type.get("location", [])
    props = by_type.get("prop", [])
    extras = by_type.get("extra_archetype", [])

    speaker_forms = set().union(*(_forms(c) for c in characters)) if characters else set()
    recalled = [s for s in reference.speakers if _fold(s) in speaker_forms]
    people = [
        c
        for c in characters
        if not _NOT_A_PERSON.search(c.name) and _fold(c.name) not in reference.not_people
    ]
    loc_merged = _merged(reference.location_duplicates, locations)
    shots = [loc for loc in locations if any(_SHOT_DIRECTION.search(form) for form in _forms(loc))]
    objects = [p for p in props if _fold(p.name) not in reference.not_objects]
    reader_found = [alts for alts in reference.props if _prop_found(alts, props)]
    idioms = [e for e in extras if _IDIOM.search(e.name)]
    extra_merged = _merged(reference.extra_duplicates, extras)

    rows = [
        ("characters", f"{len(characters)}"),
        (
            "  top speakers recalled",
            f"{len(recalled)}/{len(reference.speakers)} ({_pct(len(recalled), len(reference.speakers))})",
        ),
        ("  people share", _pct(len(people), len(characters))),
        ("locations", f"{len(locations)}"),
        (
            "  duplicates merged",
            f"{loc_merged}/{len(reference.location_duplicates)}" if reference.location_duplicates else "-",
        ),
        ("  with a shot direction", f"{len(shots)}"),
        ("props", f"{len(props)}"),
        ("  real objects", _pct(len(objects), len(props))),
        (
            "  reader's props found",
            f"{len(reader_found)}/{len(reference.props)} ({_pct(len(reader_found), len(reference.props))})",
        ),
        ("extras", f"{len(extras)}"),
        ("  idioms", f"{len(idioms)}"),
        (
            "  duplicates merged",
            f"{extra_merged}/{len(reference.extra_duplicates)}" if reference.extra_duplicates else "-",
        ),
        ("breakdown ms, first run", f"{first_ms:.0f}"),
        (f"breakdown ms, median of {runs}", f"{statistics.median(warm):.0f}" if warm else "-"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\n{name}")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    if show:
        missed = [s for s in reference.speakers if s not in recalled]
        print(f"  missed speakers: {missed}")
        print(f"  not people: {[c.name for c in characters if c not in people]}")
        print(f"  locations: {[loc.name for loc in locations]}")
        print(f"  props: {[(p.name, len(p.mentions)) for p in props]}")
        print(f"  missed reader props: {[a[0] for a in reference.props if a not in reader_found]}")
        print(f"  extras: {[e.name for e in extras]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--show", action="store_true", help="list the entities behind the figures")
    args = parser.parse_args()
    if not SAMPLES.is_dir():
        sys.exit(f"no samples at {SAMPLES.resolve()}")
    for path in sorted(SAMPLES.iterdir()):
        reference = REFERENCES.get(path.name)
        if reference is None:
            continue
        text = path.read_text(encoding="utf-8")
        report(path.name, text, reference, args.runs, args.show)
        if path.suffix == ".txt":
            # The shape of double-spaced PDF text: a blank line after every line.
            double = "".join(f"{line}\n\n" for line in text.split("\n"))
            report(f"{path.name} (double-spaced)", double, reference, args.runs, args.show)
    print(f"\nPython {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
