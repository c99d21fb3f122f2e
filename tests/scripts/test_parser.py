"""Scene parsing on the real sample screenplays: counts, headings and what must not leak.

The rules one at a time are in ``test_parser_rules.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.scripts.parser import ParsedScript, normalize_cue, parse_script

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"


def sample(name: str) -> ParsedScript:
    if not SAMPLES.is_dir():
        pytest.skip("the shared sample screenplays are not beside this checkout")
    return parse_script((SAMPLES / name).read_text(encoding="utf-8"))


def cues(script: ParsedScript) -> set[str]:
    found = (normalize_cue(e.text) for s in script.scenes for e in s.elements if e.kind == "character")
    return {cue for cue in found if cue}


def bodies(script: ParsedScript) -> list[str]:
    return [element.text for scene in script.scenes for element in scene.elements]


# Exact counts of this parser; the README's approximate ones are 335/82, 8/7, 117/30, 38/13, 48/12.
# Airplane has fewer speakers because shot lines laid out like cues ("INSERT - SIGN", "STRIKER'S
# POV", "BACK TO ELAINE", "NEWSPAPERS") are not speakers, and "P.A. SYSTEM (FEMALE V.O.)",
# "(MALE V.O.)" and "P. A. SYSTEM" are one. Speakers here are distinct normalize_cue() names,
# group cues included; the extractor then sets groups and devices aside.
@pytest.mark.parametrize(
    ("name", "fmt", "scenes", "speakers", "first", "last"),
    [
        (
            "airplane.fountain",
            "fountain",
            335,
            74,
            "EXT. SKY - JUST ABOVE CLOUDS - NIGHT",
            "EXT. RUNWAY - NIGHT",
        ),
        (
            "brick-and-steel.fountain",
            "fountain",
            8,
            7,
            "EXT. BRICK'S PATIO - DAY",
            "EXT. PALATIAL MANSION - DAY",
        ),
        ("juno.txt", "plain", 117, 30, "EXT. CENTENNIAL LANE - DUSK", "EXT. BLEEKER HOUSE - DAY"),
        (
            "stonehenge-trelby-sample.fountain",
            "fountain",
            38,
            13,
            "EXT. STONEHENGE - NIGHT",
            "MAP OF THE UNITED STATES OF AMERICA",
        ),
        (
            "the-last-birthday-card.fountain",
            "fountain",
            48,
            12,
            "INT. SAN FRANCISCO APARTMENT, DAY",
            "INT. SCOTT'S NEW APARTMENT, A FEW DAYS LATER",
        ),
    ],
)
def test_samples_parse_to_known_scenes_and_speakers(
    name: str, fmt: str, scenes: int, speakers: int, first: str, last: str
) -> None:
    script = sample(name)
    assert script.format == fmt
    assert len(script.scenes) == scenes
    assert len(cues(script)) == speakers
    assert (script.scenes[0].heading, script.scenes[-1].heading) == (first, last)
    assert [scene.number for scene in script.scenes] == list(range(1, scenes + 1))
    assert all(a.end_line == b.start_line for a, b in zip(script.scenes, script.scenes[1:], strict=False))


def test_airplane_title_page_keys_are_read_and_never_become_scenes() -> None:
    script = sample("airplane.fountain")
    assert script.title == "Airplane!"
    assert script.title_page["imdb"] == "http://www.imdb.com/title/tt0080339/"
    assert script.title_page["image"].startswith("https://images-na.ssl-images-amazon.com/")
    assert script.scenes[0].start_line == 11
    assert not any("imdb" in scene.heading.lower() or "http" in scene.heading for scene in script.scenes)


def test_airplane_headings_and_camera_lines() -> None:
    script = sample("airplane.fountain")
    by_heading = {scene.heading: scene for scene in script.scenes}
    stock = script.scenes[1]
    assert (stock.heading, stock.int_ext, stock.location, stock.time_of_day) == (
        "EXT. AIRPORT - NIGHT (STOCK)",
        "EXT",
        "AIRPORT",
        "NIGHT",
    )
    cockpit = by_heading["INT. COCKPIT NIGHT"]  # no dash before the time
    assert (cockpit.location, cockpit.time_of_day) == ("COCKPIT", "NIGHT")
    assert by_heading["INT. TOWER"].time_of_day is None
    # Shot lines laid out like cues are action, not speakers.
    shots = {"STRIKER'S POV", "INSERT - SIGN", "BACK TO ELAINE", "NEWSPAPERS", "ARAB NEWS SET"}
    assert not shots & cues(script)
    assert {"STRIKER", "ELAINE", "DR. RUMACK", "P.A. SYSTEM", "RANDY & PASSENGERS"} <= cues(script)


def test_brick_and_steel_forced_headings_dual_dialogue_and_centered_text() -> None:
    script = sample("brick-and-steel.fountain")
    assert script.title_page["title"] == "BRICK & STEEL\nFULL RETIRED"
    assert script.title_page["contact"].splitlines()[0] == "Next Level Productions"
    assert [(s.heading, s.int_ext) for s in script.scenes[3:5]] == [
        ("SNIPER SCOPE POV", None),
        ("OPENING TITLES", None),
    ]
    patio = script.scenes[0]
    assert patio.int_ext == "EXT"
    assert patio.location == "BRICK'S PATIO"
    assert patio.time_of_day == "DAY"
    assert [e.text for e in patio.elements if e.kind == "character"][-1] == "BRICK"  # "BRICK ^"
    trailer = script.scenes[1]  # tab-indented cues
    assert [(e.kind, e.text) for e in trailer.elements[1:4]] == [
        ("character", "JACK"),
        ("parenthetical", "(in Vietnamese, subtitled)"),
        ("dialogue", "Did you know Brick and Steel are retired?"),
    ]
    assert ("centered", "BRICK & STEEL\nFULL RETIRED") in [
        (e.kind, e.text) for e in script.scenes[4].elements
    ]
    assert script.scenes[-1].elements[-2:][0].text == "BURN TO PINK."


def test_juno_page_furniture_never_leaks_into_scenes() -> None:
    script = sample("juno.txt")
    assert (script.title, script.title_page.get("author")) == ("JUNO", "Diablo Cody")
    furniture = re.compile(
        r"\(CONTINUED\)|CONTINUED:|\(MORE\)|OMITTED|Production Revised|^\s*\d+[A-Z]?\.?\s*$"
    )
    assert not [text for text in bodies(script) if furniture.search(text)]
    assert not [
        s.heading for s in script.scenes if furniture.search(s.heading) or re.search(r"\d+[A-Z]$", s.heading)
    ]
    # Printed on both sides as "58A ... 58A" in the PDF; the heading keeps only its text.
    assert script.scenes[48].heading == "INT. LORING HOUSE - MARK’S SPECIAL ROOM - SAME"


def test_juno_headings_speech_and_layout() -> None:
    script = sample("juno.txt")
    parts = {n: (s.int_ext, s.location, s.time_of_day) for n, s in enumerate(script.scenes, start=1)}
    assert parts[6] == ("INT", "DRUGSTORE - BATHROOM", "DAY")  # "INT.  DRUGSTORE" with two spaces
    assert script.scenes[5].heading == "INT. DRUGSTORE - BATHROOM - DAY"
    assert parts[12] == ("INT", "DANCING ELK SCHOOL - SPANISH CLASS", "DAY")  # "- DAY - (FLASHBACK)"
    assert parts[76] == ("INT", "RIDGEDALE MALL - ELEVATOR BANK", "A HALF HOUR LATER")
    drugstore = script.scenes[4].elements
    assert (drugstore[0].kind, drugstore[0].text.split(".")[0]) == (
        "action",
        "ROLLO, the eccentric drugstore clerk, sneers at Juno from behind the counter",
    )
    juno = [e for e in drugstore if e.kind == "dialogue"][1]
    assert juno.text == "I think the last one was defective. The plus sign looked more like a division sign."
    counter = [(e.kind, e.text) for e in script.scenes[6].elements]
    assert ("parenthetical", "(examining stick)") in counter  # "(examining stick) I don't know." split
    assert normalize_cue(script.scenes[0].elements[1].text) == "JUNO"  # "JUNO V.O."
    assert [e.text for s in script.scenes for e in s.elements if e.kind == "transition"] == [
        "CUT TO:",
        "FADE TO BLACK",
    ]


def test_stonehenge_has_no_title_page_and_keeps_its_maps() -> None:
    script = sample("stonehenge-trelby-sample.fountain")
    assert (script.title, script.title_page) == (None, {})  # "FADE IN:" is not a title page
    assert [s.heading for s in script.scenes if s.int_ext is None] == [
        "MAP OF THE ATLANTIC OCEAN",
        "MAP OF THE AMERICAN CONTINENTS",
        "MAP OF THE PACIFIC OCEAN",
        "MAP OF THE UNITED STATES OF AMERICA",
    ]
    assert ("action", "LATER") in [(e.kind, e.text) for e in script.scenes[0].elements]
    assert "KEVIN" in cues(script)
    assert "FISHERMAN #2" in cues(script)
    oval = script.scenes[34]
    assert (oval.location, oval.time_of_day) == ("OVAL OFFICE, WHITE HOUSE", "DAY")


def test_last_birthday_card_sections_synopses_and_comma_headings() -> None:
    script = sample("the-last-birthday-card.fountain")
    texts = bodies(script)
    assert not [t for t in texts if t.startswith(("#", "="))]
    assert not [t for t in texts if "Meet the players" in t or "Art Girl gives Scott the idea" in t]
    assert "Meet Nak" not in "\n".join(scene.text for scene in script.scenes)
    assert sum(scene.int_ext is None for scene in script.scenes) == 23
    hallway = script.scenes[1]
    assert (hallway.location, hallway.time_of_day) == (
        "HALLWAY, SCOTT'S APARTMENT BUILDING",
        "A MOMENT LATER",
    )
    no_period = script.scenes[14]
    assert (no_period.heading, no_period.int_ext, no_period.time_of_day) == (
        "INT SCOTT'S APARTMENT, SAME TIME",
        "INT",
        "SAME TIME",
    )
    assert (script.scenes[22].location, script.scenes[22].time_of_day) == (
        "SOUTHERN EXPOSURE GALLERY, SOUTH OF MARKET",
        None,
    )
    assert ("transition", "INTERCUT WITH:") in [(e.kind, e.text) for e in script.scenes[3].elements]
    assert script.scenes[-1].elements[-1].kind == "centered"
