"""Scene parsing: the real sample screenplays end to end, then one small script per rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.scripts.parser import ParsedScript, detect_format, normalize_cue, parse_script

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
    assert (by_heading["INT. COCKPIT NIGHT"].location, by_heading["INT. COCKPIT NIGHT"].time_of_day) == (
        "COCKPIT",
        "NIGHT",
    )
    assert by_heading["INT. TOWER"].time_of_day is None
    # Shot lines laid out like cues are action, not speakers.
    assert not {"STRIKER'S POV", "INSERT - SIGN", "BACK TO ELAINE", "NEWSPAPERS", "ARAB NEWS SET"} & cues(
        script
    )
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


# --- one rule at a time -------------------------------------------------------------------------


def headings(text: str) -> list[tuple[str, str | None, str, str | None]]:
    return [(s.heading, s.int_ext, s.location, s.time_of_day) for s in parse_script(text, "fountain").scenes]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for s in parse_script(text, "fountain").scenes for e in s.elements]


def test_forced_heading_and_ellipsis() -> None:
    text = "INT. HOUSE - DAY\n\n.FLASHBACK\n\nRain.\n\n...and then nothing.\n\n..NOT A HEADING\n"
    assert [h[0] for h in headings(text)] == ["INT. HOUSE - DAY", "FLASHBACK"]
    assert ("action", "...and then nothing.") in kinds(text)
    assert ("action", "..NOT A HEADING") in kinds(text)


@pytest.mark.parametrize(
    ("line", "int_ext", "location", "time"),
    [
        ("INT. HOUSE - KITCHEN - NIGHT", "INT", "HOUSE - KITCHEN", "NIGHT"),
        ("EXT. BEACH - MAGIC HOUR", "EXT", "BEACH", "MAGIC HOUR"),
        ("I/E. CAR - MOVING - DAY", "INT/EXT", "CAR - MOVING", "DAY"),
        ("INT./EXT. VAN - CONTINUOUS", "INT/EXT", "VAN", "CONTINUOUS"),
        ("EXT/INT GARAGE - MOMENTS LATER", "INT/EXT", "GARAGE", "MOMENTS LATER"),
        ("EST. CITY SKYLINE - DAWN", "EST", "CITY SKYLINE", "DAWN"),
        ("INT - OFFICE - LATER THAT EVENING", "INT", "OFFICE", "LATER THAT EVENING"),
        ("EXT: ROOF - SUNSET", "EXT", "ROOF", "SUNSET"),
        ("Int. garden - same time", "INT", "garden", "SAME TIME"),
        (
            "INT. BLEEKER HOUSE - MOLD-O'-RIFFIC BASEMENT- NIGHT",
            "INT",
            "BLEEKER HOUSE - MOLD-O'-RIFFIC BASEMENT",
            "NIGHT",
        ),
        ("INT. LANDCRUISER, DRIVING -- A BIT LATER", "INT", "LANDCRUISER, DRIVING", "A BIT LATER"),
        ("INT. SAUSALITO HOME, THE NEXT MORNING", "INT", "SAUSALITO HOME", "THE NEXT MORNING"),
        ("EXT. CITY STREET - NIGHT - (STOCK)", "EXT", "CITY STREET", "NIGHT"),
        ("INT. GALLERY, SOUTH OF MARKET", "INT", "GALLERY, SOUTH OF MARKET", None),
        ("INT. HOUSE - DAY #12A#", "INT", "HOUSE", "DAY"),
    ],
)
def test_heading_parts(line: str, int_ext: str, location: str, time: str | None) -> None:
    heading, parsed_int_ext, parsed_location, parsed_time = headings(f"{line}\n\nAction.\n")[0]
    assert (parsed_int_ext, parsed_location, parsed_time) == (int_ext, location, time)
    assert "#" not in heading
    assert "  " not in heading


def test_notes_and_boneyard_are_removed_without_cutting_speeches() -> None:
    text = (
        "INT. HOUSE - DAY\n\nShe waits. [[fix this]]\n\nJOHN\n[[a note on its own line]]\nHello.\n"
        "/* an old\nidea */\nStill me.\n\n/*\nINT. CUT SCENE - NIGHT\n*/\n\nEXT. YARD - DAY\n"
    )
    assert kinds(text) == [("action", "She waits."), ("character", "JOHN"), ("dialogue", "Hello.\nStill me.")]
    assert [(s.heading, s.start_line) for s in parse_script(text).scenes] == [
        ("INT. HOUSE - DAY", 0),
        ("EXT. YARD - DAY", 15),
    ]


def test_transitions_centered_lyrics_and_forced_elements() -> None:
    text = (
        "INT. CLUB - NIGHT\n\n~Fly me to the moon\n~Let me play\n\n> THE END <\n\nCUT TO:\n\n"
        "> BURN TO PINK.\n\n!LOUD NOISES everywhere.\n\n@McCLANE\nYippee.\n"
    )
    assert kinds(text) == [
        ("lyric", "Fly me to the moon\nLet me play"),
        ("centered", "THE END"),
        ("transition", "CUT TO:"),
        ("transition", "BURN TO PINK."),
        ("action", "LOUD NOISES everywhere."),
        ("character", "McCLANE"),
        ("dialogue", "Yippee."),
    ]


def test_dual_dialogue_parentheticals_and_scene_text() -> None:
    text = "INT. BAR - NIGHT\n\nBRICK\n(raising a glass)\nCheers.\n\nSTEEL ^\nCheers.\n\nThey drink.\n"
    scene = parse_script(text).scenes[0]
    assert [(e.kind, e.text) for e in scene.elements][3:5] == [
        ("character", "STEEL"),
        ("dialogue", "Cheers."),
    ]
    assert scene.text == "BRICK\n(raising a glass)\nCheers.\n\nSTEEL\nCheers.\n\nThey drink."


def test_title_page_with_continuation_lines_and_custom_keys() -> None:
    text = (
        "Title: _**Big Night**_\nimdb: http://example.test/1\nContact:\n    Jane\n    Paris\n\n"
        "INT. HOUSE - DAY\n"
    )
    script = parse_script(text)
    assert script.title == "Big Night"
    assert script.title_page == {
        "title": "Big Night",
        "imdb": "http://example.test/1",
        "contact": "Jane\nParis",
    }
    assert [s.start_line for s in script.scenes] == [6]


def test_upper_case_lines_that_are_not_cues() -> None:
    text = (
        "INT. LAB - DAY\n\nLATER\n\nBOOM.\n\nSTRIKER'S POV\nThe runway.\n\n"
        "NEWSPAPERS\ncoming off the press.\n"
    )
    assert [kind for kind, _ in kinds(text)] == ["action", "action", "action", "action"]


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("JOHN (V.O.)", "JOHN"),
        ("JOHN (CONT'D)", "JOHN"),
        ("JOHN (CONT’D)", "JOHN"),
        ("JUNO V.O. (cont'd)", "JUNO"),
        ("KEVIN (OS)", "KEVIN"),
        ("MARY (O.C.) (PRE-LAP)", "MARY"),
        ("P. A. SYSTEM (MALE V.O.)", "P.A. SYSTEM"),
        ("BRICK ^", "BRICK"),
        ("@McCLANE", "McCLANE"),
        ("BLEEKER’S MOM", "BLEEKER'S MOM"),
        ("CUT TO:", None),
        ("FADE OUT.", None),
        ("INSERT - SIGN", None),
        ("STRIKER'S POV", None),
        ("23A", None),
        ("Yeah.", None),
        ("INT. HOUSE", None),
    ],
)
def test_normalize_cue(raw: str, name: str | None) -> None:
    assert normalize_cue(raw) == name


PDF_PAGE = """\
                              MY FILM

                             By A. Writer

     12   INT. HOUSE - NIGHT                                        12

          Mary waits by the window, a coat over
          her arm.                                                   *

                              MARY
                    Where is he? He said
                    eight.
                        (beat)
                    He always says eight.

                                                          (CONTINUED)
     My Film - Revised Blue - 2/1/07                        2.
          CONTINUED:

                              JOHN (O.S.)
                    Sorry!

                                                     CUT TO:
     My Film - Revised Blue - 2/1/07                        3.

     13   Ext. garden - continuous                                  13

          Page 4

          Rain.
     My Film - Revised Blue - 2/1/07                        4.
"""


def test_plain_text_from_a_pdf() -> None:
    assert detect_format(PDF_PAGE) == "plain"
    script = parse_script(PDF_PAGE)
    assert script.title_page == {"title": "MY FILM", "author": "A. Writer"}
    assert [(s.heading, s.int_ext, s.location, s.time_of_day) for s in script.scenes] == [
        ("INT. HOUSE - NIGHT", "INT", "HOUSE", "NIGHT"),
        ("Ext. garden - continuous", "EXT", "garden", "CONTINUOUS"),
    ]
    assert [(e.kind, e.text) for e in script.scenes[0].elements] == [
        ("action", "Mary waits by the window, a coat over her arm."),
        ("character", "MARY"),
        ("dialogue", "Where is he? He said eight."),
        ("parenthetical", "(beat)"),
        ("dialogue", "He always says eight."),
        ("character", "JOHN (O.S.)"),
        ("dialogue", "Sorry!"),
        ("transition", "CUT TO:"),
    ]
    assert [e.text for e in script.scenes[1].elements] == ["Rain."]


def test_format_detection() -> None:
    assert detect_format("INT. HOUSE - DAY\n\nJOHN\nHi.\n") == "fountain"
    assert detect_format("Title: X\n\n                    INDENTED\n") == "fountain"
    assert detect_format("INT. HOUSE - DAY\n(CONTINUED)\nCONTINUED:\n(MORE)\n") == "plain"
    assert parse_script("").scenes == ()
