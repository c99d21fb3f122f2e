"""Names in other alphabets are entities of their own, not all one empty key."""

from __future__ import annotations

from shared.extraction.offline import entity_key, preview_entities
from shared.scripts.parser import parse_script

SCRIPT = """INT. KITCHEN - NIGHT

ИРИНА pours tea. ОЛЕГ watches the door.

ИРИНА
Он придёт.

ОЛЕГ
Нет.
"""


def test_two_cyrillic_speakers_are_two_characters_with_distinct_keys() -> None:
    entities = preview_entities(parse_script(SCRIPT, "fountain"))
    names = {e.name.upper() for e in entities if e.type == "character"}
    assert {"ИРИНА", "ОЛЕГ"} <= names
    assert entity_key("character", "Ирина") != entity_key("character", "Олег")
