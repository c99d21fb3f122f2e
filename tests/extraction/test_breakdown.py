"""The offline breakdown as a filmmaker reads it (issue 8, points 4 and 5): characters are people,
places are merged and free of camera notes, props are things, extras are crowds, and descriptions
are sentences."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from shared.extraction.offline import describe_entities, preview_entities
from shared.extraction.offline.text import sentences
from shared.extraction.offline.wordnet import load as load_wordnet
from shared.extraction.schemas import PreviewEntity
from shared.scripts.parser import ParsedScript, parse_script

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _wordnet() -> None:
    # The lexicon comes from Debian's wordnet-base (.ci/run installs it). Without it the extractor
    # still runs, but finds no lower-case props: these tests are about what it finds with it.
    if load_wordnet() is None:
        if IN_CI:
            pytest.fail("CI needs WordNet's data in /usr/share/wordnet (apt-get install wordnet-base)")
        pytest.skip("WordNet's data is not installed (apt-get install wordnet-base)")


def sample(name: str) -> ParsedScript:
    if not SAMPLES.is_dir():
        if IN_CI:
            pytest.fail(f"CI needs the sample screenplays at {SAMPLES.resolve()}")
        pytest.skip("the shared sample screenplays are not beside this checkout")
    return parse_script((SAMPLES / name).read_text(encoding="utf-8"))


def of_type(entities: list[PreviewEntity], kind: str) -> dict[str, PreviewEntity]:
    return {entity.name: entity for entity in entities if entity.type == kind}


def forms(entity: PreviewEntity) -> set[str]:
    return {name.upper() for name in (entity.name, *entity.aliases)}


# A feature-film shape in miniature: plot props written in lower case, a misspelt name, places
# named twice, shot directions in headings, two unrelated men, a simile, kids and children.
CHARADE_LIKE = """\
EXT. HOTEL SIDEWALK (FROM ABOVE) - DAY

REGGIE LAMPERT, a slim woman in her thirties in a dark wool coat, walks with PENTHOLLOW.
She carries a leather bag. Kids run past, like children posing for a picture.

PENTHOLLOW
The stamps are in the envelope.

MAN
Taxi?

INT. GIDEON'S HOTEL ROOM - NIGHT

Penthollow opens the envelope and counts the stamps. He hands Reggie the letter.
A dozen CHILDREN crowd the window below.

REGGIE
What is this?

INT. STAIRWAY - NIGHT

Reggie climbs, the envelope in her hand, the stamps inside it.

INT. GIDEON'S ROOM - NIGHT

Reggie puts the bag on the bed. The voice of a radio drifts in. She takes a gun from the bag.

PANTHOLLOW
Put the gun down.

INT. STAIRCASE - P.O.V. - NIGHT

The stairs, seen from above.

REGGIE'S P.O.V.
The door is open.

INT. BATH - NIGHT

A towel on the floor.

INT. BATHROOM - NIGHT

Reggie washes her face.

EXT. PARK - DAY

The grass is wet. The war is over, she thinks.

EXT. PARK - LATER

Reggie sits on a bench and reads the letter again.

EXT. PARK - LATER

The stamps are gone from the envelope.

EXT. PARK - LATER

She folds the letter.

EXT. DOCK - MOVING - NIGHT

MAN
Need a boat, lady?

VOICE
Last call!
"""


def test_characters_are_people_and_misspellings_are_linked() -> None:
    script = parse_script(CHARADE_LIKE)
    characters = of_type(preview_entities(script), "character")
    # No "Voice", no "Reggie's P.O.V.": a disembodied voice and a shot are not cast.
    assert not {name for name in characters if re.search(r"voice|p\.o\.v|pov", name, re.IGNORECASE)}
    # PANTHOLLOW is Penthollow mistyped: one character, both spellings kept as aliases.
    assert "Penthollow" in characters
    assert "PANTHOLLOW" in forms(characters["Penthollow"])
    assert not any(name.upper().startswith("PANTHOLLOW") for name in characters)
    # The man hailing a taxi in scene 1 and the one offering a boat at the dock are two people.
    men = sorted(name for name in characters if name.startswith("Man"))
    assert men == ["Man (scene 1)", "Man (scene 12)"]


def test_locations_are_merged_and_free_of_shot_directions() -> None:
    locations = of_type(preview_entities(parse_script(CHARADE_LIKE)), "location")
    every_name = {form for location in locations.values() for form in forms(location)}
    assert not {name for name in every_name if re.search(r"FROM ABOVE|P\.O\.V|MOVING", name)}
    assert "Hotel Sidewalk" in locations
    # One place under two names: one location, the other name an alias.
    by_form = {form: name for name, location in locations.items() for form in forms(location)}
    assert by_form["GIDEON'S HOTEL ROOM"] == by_form["GIDEON'S ROOM"]
    assert by_form["STAIRWAY"] == by_form["STAIRCASE"]
    assert by_form["BATH"] == by_form["BATHROOM"]
    assert len(locations) == 6  # sidewalk, Gideon's room, stairs, bathroom, park, dock


def test_plot_props_are_found_in_lower_case_with_their_mentions() -> None:
    props = of_type(preview_entities(parse_script(CHARADE_LIKE)), "prop")
    assert {"Stamp", "Envelope", "Letter", "Bag", "Gun"} <= set(props)
    # Every mention in the action counts, whatever its number: counted, carried, then gone.
    assert props["Stamp"].scene_numbers == [2, 3, 10]
    assert len(props["Stamp"].mentions) == 3
    # Generic and abstract words, the set itself and the wardrobe are never props.
    assert not {"Voice", "War", "Grass", "Floor", "Window", "Door", "Stairs", "Coat", "Picture"} & set(props)


def test_extras_are_crowds_merged_without_similes() -> None:
    extras = of_type(preview_entities(parse_script(CHARADE_LIKE)), "extra_archetype")
    # "Kids" and "CHILDREN" are one archetype; "like children posing" is a comparison, not a crowd.
    assert list(extras) == ["Kids"]
    assert "CHILDREN" in forms(extras["Kids"])
    assert extras["Kids"].scene_numbers == [1, 2]
    assert not any(
        "posing" in mention.quote for mention in extras["Kids"].mentions if mention.scene_number != 1
    )


def test_offline_descriptions_are_sentences_without_style_or_capitals() -> None:
    script = parse_script(CHARADE_LIKE)
    entities = preview_entities(script)
    descriptions = describe_entities(script, entities, style_hint="Noir")
    by_name = {d.name: d.description for d in descriptions}
    reggie = by_name["Reggie Lampert"]
    assert reggie.startswith("Reggie Lampert is a slim woman in her thirties in a dark wool coat.")
    for entity, description in zip(entities, descriptions, strict=True):
        text = description.description
        assert "noir" not in text.lower(), entity.name  # the style lives in the image prompt only
        assert "render it" not in text.lower()
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            assert sentence[:1].isupper(), (entity.name, sentence)  # no "into REGGIE's face." fragments
            assert sentence.endswith((".", "!", "?", '"', "”")), (entity.name, sentence)
        # No screenplay capitals: "REGGIE LAMPERT" reads "Reggie Lampert".
        assert not re.search(r"\b[A-Z]{3,}\b", text.replace("P.O.V.", "")), (entity.name, text)


@pytest.mark.parametrize("name", ["juno.txt", "the-last-birthday-card.fountain", "airplane.fountain"])
def test_sample_descriptions_have_no_style_sentence_or_fragments(name: str) -> None:
    script = sample(name)
    entities = preview_entities(script)
    for description in describe_entities(script, entities, style_hint="1970s film noir"):
        text = description.description
        assert "film noir" not in text
        assert "visual style" not in text
        # Every sentence starts in upper case (the extractor's own splitter knows "Mr." and "...").
        assert all(sentence[:1].isupper() or sentence[:1].isdigit() for _, sentence in sentences(text)), text


def test_feature_fountain_breakdown() -> None:
    entities = preview_entities(sample("airplane.fountain"))
    characters = of_type(entities, "character")
    locations = of_type(entities, "location")
    props = of_type(entities, "prop")
    # "DR. ROMACK" once, a typo for Dr. Rumack who speaks 45 times.
    assert "DR. ROMACK" in forms(characters["Dr. Rumack"])
    assert "Dr. Romack" not in characters
    # Typos in headings join the place they misspell; camera notes never name a place.
    assert "TERMINAL BULIDING" in forms(locations["Terminal Building"])
    assert "CHCICAGO DISPATCH" in forms(locations["Chicago Dispatch"])
    assert not [name for name in locations if re.search(r"ANOTHER AREA|P\.O\.V|MOVING", name.upper())]
    # Props written in lower case: the guitar Randy plays, the inflatable autopilot, the coffee.
    assert {"Guitar", "Autopilot", "Coffee", "Magazine", "Cigarette"} <= set(props)
    assert len(props["Guitar"].mentions) >= 5
    assert not {"Ground", "Voice", "P.O.V.", "Way", "War", "Air", "Weather"} & set(props)


def test_juno_breakdown_from_pdf_text() -> None:
    entities = preview_entities(sample("juno.txt"))
    extras = of_type(entities, "extra_archetype")
    props = of_type(entities, "prop")
    locations = of_type(entities, "location")
    # Kids and children are one archetype.
    kids = [extra for extra in extras.values() if forms(extra) & {"KIDS", "CHILDREN"}]
    assert len(kids) == 1
    assert {"KIDS", "CHILDREN"} <= forms(kids[0])
    assert {"Guitar", "Couch", "Briefcase", "Recliner", "Stereo", "Hamburger Phone"} <= set(props)
    # "JUNO'S BEDROOM" on its own is the bedroom of the MacGuff house.
    assert "JUNO'S BEDROOM" in forms(locations["MacGuff House"])


def test_without_wordnet_the_breakdown_still_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A machine without wordnet-base: upper-case props only, no error.
    from shared.extraction.offline import wordnet

    monkeypatch.setenv("FILMASSETS_WORDNET_DIR", str(tmp_path))
    monkeypatch.setattr(wordnet, "_loaded", None)
    monkeypatch.setattr(wordnet, "_missing", False)
    assert wordnet.load() is None
    script = parse_script(COAT_LIKE)
    entities = preview_entities(script)
    assert [(e.type, e.name) for e in entities if e.type == "prop"] == [("prop", "Revolver")]
    assert describe_entities(script, entities)


COAT_LIKE = """\
INT. HOUSE - DAY

JOHN pulls out a REVOLVER and puts the letter on the table.

JOHN
Where is it?
"""
