"""Character cues: folding extensions away and rejecting upper-case lines that are not speakers."""

from __future__ import annotations

import re

from shared.scripts.elements import normalize_space, word_set
from shared.scripts.headings import is_heading

# Extensions written without parentheses, as in "JUNO V.O." or "MARK CONT'D".
_BARE_EXTENSION = re.compile(
    r"\s+(?:V\.\s?O\.?|O\.\s?S\.?|O\.\s?C\.?|VO|OS|OC|CONT'D\.?|CONT\.|CONTD|PRE-?LAP|FILTERED)$",
    re.IGNORECASE,
)
# "P. A. SYSTEM" and "P.A. SYSTEM" are the same speaker.
_SPACED_INITIALS = re.compile(r"\b([A-Z])\.\s+(?=[A-Z]\.)")
_PARENTHETICAL = re.compile(r"\([^()]*\)?")

# First words of upper-case lines that direct the camera or the edit rather than name a speaker.
# Scripts converted from PDFs (airplane.fountain) put "INSERT - SIGN" or "BACK TO ELAINE" directly
# above the text they introduce, which looks exactly like a cue followed by dialogue.
_DIRECTION_WORDS = word_set(
    """
    ANGLE ANGLES CLOSE CLOSEUP CLOSE-UP CLOSER WIDE WIDER EXTREME INSERT BACK CUT FADE DISSOLVE
    SMASH MATCH JUMP SUPER SUPERIMPOSE TITLE TITLES CREDITS INTERCUT MONTAGE SERIES END LATER
    CONTINUED CONTINUOUS MORE OMITTED ESTABLISHING FLASHBACK PAN TRACKING AERIAL REVERSE POV ON SFX
    VFX SUBTITLE SUBTITLES FREEZE SPLIT ZOOM DOLLY SLOW TIME BEGIN OPENING
    """
)
# Last words of shot descriptions laid out like cues ("ARAB NEWS SET", "STRIKER'S POV").
_SHOT_WORDS = word_set("POV SHOT SHOTS SET NEWSCAST FOOTAGE MONTAGE SEQUENCE")
_NUMBER = re.compile(r"^\d+[A-Z]{0,3}\.?$")
# "JOHN'S P.O.V.", "P.O.V. - THE STREET": a shot, however the writer dots it.
_POV = re.compile(r"(?<![A-Z])P\.?\s?O\.?\s?V(?![A-Z])", re.IGNORECASE)
_MAX_CUE_LENGTH = 50
_MAX_CUE_WORDS = 6


def normalize_cue(raw: str) -> str | None:
    """Fold a character cue to the speaker's name, or ``None`` if the line is not a plausible cue.

    ``"JOHN (V.O.)"`` -> ``"JOHN"``, ``"JUNO V.O. (cont'd)"`` -> ``"JUNO"``, ``"@McCLANE"`` ->
    ``"McCLANE"``. A leading ``@`` (a Fountain forced cue) skips the plausibility checks, since the
    writer has said it is a cue. Curly apostrophes become straight so both spellings fold together.
    """
    text = raw.strip().replace("’", "'")
    forced = text.startswith("@")
    text = text.lstrip("@").rstrip("^").strip()
    text = normalize_space(_PARENTHETICAL.sub(" ", text))
    while (bare := _BARE_EXTENSION.search(text)) is not None:
        text = text[: bare.start()].rstrip()
    text = _SPACED_INITIALS.sub(r"\1.", text.rstrip(" ,"))
    if not text or not any(ch.isalpha() for ch in text):
        return None
    if forced:
        return text
    return text if _plausible(text) else None


def _plausible(name: str) -> bool:
    letters = [ch for ch in name if ch.isalpha()]
    lower = sum(ch.islower() for ch in letters)
    # "McCLANE" and "MacGUFF" keep a few lower-case letters; a sentence does not.
    if lower * 3 > len(letters):
        return False
    words = name.split()
    if len(name) > _MAX_CUE_LENGTH or len(words) > _MAX_CUE_WORDS:
        return False
    if name.endswith(":") or "!" in name or "?" in name or " - " in name:
        return False
    if name.endswith(".") and len(words[-1].rstrip(".")) > 3 and "." not in words[-1][:-1]:
        return False  # "FADE OUT." / "BURN TO PINK." are transitions
    if (
        words[0].upper().rstrip(":.,") in _DIRECTION_WORDS
        or words[-1].upper() in _SHOT_WORDS
        or "'S POV" in name.upper()
        or _POV.search(name)
    ):
        return False
    return not (_NUMBER.match(name) or is_heading(name) or name.rstrip(".") == "THE END")
