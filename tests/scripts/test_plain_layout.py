"""Plain text exported from a PDF, single- and double-spaced, as users paste it (issue 8, point 3)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from shared.scripts.parser import ParsedScript, detect_format, normalize_cue, parse_script

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"


def sample_text(name: str) -> str:
    if not SAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the sample screenplays at {SAMPLES.resolve()}")
        pytest.skip("the shared sample screenplays are not beside this checkout")
    return (SAMPLES / name).read_text(encoding="utf-8")


def double_spaced(text: str) -> str:
    """The shape of double-spaced PDF text: a blank line after every line."""
    return "".join(f"{line}\n\n" for line in text.split("\n"))


def speakers(script: ParsedScript) -> Counter[str]:
    return Counter(
        cue
        for scene in script.scenes
        for element in scene.elements
        if element.kind == "character" and (cue := normalize_cue(element.text)) is not None
    )


def dialogue_of(script: ParsedScript, speaker: str) -> list[str]:
    lines: list[str] = []
    for scene in script.scenes:
        current = None
        for element in scene.elements:
            if element.kind == "character":
                current = normalize_cue(element.text)
            elif element.kind == "dialogue" and current == speaker:
                lines.append(element.text)
    return lines


# A PDF page as text extractors give it: a running header with the draft, page numbers, scene
# numbers in both margins, a speech broken over the page with (MORE) and (CONT'D).
PDF_PAGES = """\
                                                    FINAL SHOOTING SCRIPT
                                                                   1.
    1     INT. KITCHEN - NIGHT                                           1

          REGGIE LAMPERT, thirties, eats a sandwich at the counter.
          An envelope lies beside her plate.

                              REGGIE
                    I never open letters from
                    strangers.
                              (MORE)
                                                    FINAL SHOOTING SCRIPT
                                                                   2.
                              REGGIE (CONT'D)
                    Especially not at night.

                              PETER
                        (picking up the envelope)
                    Then I will.

          He tears the envelope open. Stamps spill onto the counter.

    2     EXT. STREET - DAY                                              2

          Peter walks fast, the stamps in his pocket.

                              REGGIE (V.O.)
                    Peter, wait!

                                                              CUT TO:
"""


@pytest.mark.parametrize("spacing", ["single", "double"])
def test_pdf_page_furniture_is_not_the_script(spacing: str) -> None:
    text = PDF_PAGES if spacing == "single" else double_spaced(PDF_PAGES)
    assert detect_format(text) == "plain"
    script = parse_script(text)
    assert [(scene.number, scene.location, scene.time_of_day) for scene in script.scenes] == [
        (1, "KITCHEN", "NIGHT"),
        (2, "STREET", "DAY"),
    ]
    assert speakers(script) == Counter({"REGGIE": 3, "PETER": 1})
    # The speech broken by the page break reads as one speech, without the header or (MORE).
    assert dialogue_of(script, "REGGIE") == [
        "I never open letters from strangers.",
        "Especially not at night.",
        "Peter, wait!",
    ]
    everything = " ".join(element.text for scene in script.scenes for element in scene.elements)
    assert "FINAL SHOOTING SCRIPT" not in everything
    assert "(MORE)" not in everything
    kinds = [element.kind for element in script.scenes[0].elements]
    assert kinds[0] == "action"
    assert "parenthetical" in kinds
    assert script.scenes[0].elements[0].text == (
        "REGGIE LAMPERT, thirties, eats a sandwich at the counter. An envelope lies beside her plate."
    )


def test_double_spacing_gives_the_same_scenes_as_single() -> None:
    single, double = parse_script(PDF_PAGES), parse_script(double_spaced(PDF_PAGES))
    assert [scene.text for scene in double.scenes] == [scene.text for scene in single.scenes]


@pytest.mark.parametrize("spacing", ["single", "double"])
def test_juno_pdf_text_finds_its_speakers(spacing: str) -> None:
    text = sample_text("juno.txt")
    script = parse_script(text if spacing == "single" else double_spaced(text))
    assert script.format == "plain"
    assert len(script.scenes) >= 110
    counts = speakers(script)
    # Juno speaks about 350 times; before the fix the double-spaced file found no speaker at all.
    assert counts["JUNO"] >= 300
    top = {name for name, _ in counts.most_common(10)}
    assert {"JUNO", "MARK", "VANESSA", "BLEEKER", "LEAH", "MAC", "BREN"} <= top
    assert dialogue_of(script, "JUNO")[0] == "It started with a chair."
