"""Scene parsing rules, one small script at a time: Fountain markup, headings, cues, PDF text."""

from __future__ import annotations

import pytest

from shared.scripts.parser import detect_format, normalize_cue, parse_script


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


def test_an_upper_case_heading_needs_no_blank_line_before_it() -> None:
    text = "INT. HOUSE - DAY\nShe reads snake_case_name on a *tiny* note.\nEXT. YARD - NIGHT\nRain.\n"
    assert [h[0] for h in headings(text)] == ["INT. HOUSE - DAY", "EXT. YARD - NIGHT"]
    assert kinds(text)[0] == ("action", "She reads snake_case_name on a tiny note.")


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
