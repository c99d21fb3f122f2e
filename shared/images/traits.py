"""What the offline renderer reads out of a request's words: view, colours, features, prop and scene kind.

The placeholder must let a person tell assets apart at a glance, so whatever the description names
(``red hair``, ``a yellow oilskin coat``, ``glasses``) is drawn, and everything it leaves open (build,
skin tone, hair style and colour when unnamed) comes from a hash of the asset's name: the same
character keeps the same look across seeds and views, and two characters rarely share one.

Plain keyword matching on purpose: the renderer is a stand-in for a model, it needs to be
deterministic and fast, and a miss only means a hash-picked colour instead of the named one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

RGB = tuple[int, int, int]
View = Literal["front", "side", "three-quarter", "back"]
PropKind = Literal["phone", "gun", "letter", "bag", "key", "book", "bottle", "knife", "lamp", "box"]
SceneKind = Literal["interior", "waterfront", "nature", "street"]
K = TypeVar("K", bound=str)

COLOURS: Final[dict[str, RGB]] = {
    "black": (28, 28, 32),
    "white": (226, 226, 220),  # a shade off the paper, which background removal must tell apart
    "grey": (128, 128, 132),
    "gray": (128, 128, 132),
    "silver": (188, 190, 198),
    "red": (190, 32, 38),
    "crimson": (160, 20, 44),
    "scarlet": (222, 44, 30),
    "maroon": (112, 22, 32),
    "burgundy": (118, 26, 46),
    "pink": (234, 140, 172),
    "orange": (230, 120, 30),
    "yellow": (236, 200, 40),
    "gold": (212, 170, 60),
    "golden": (212, 170, 60),
    "brass": (190, 150, 60),
    "beige": (214, 194, 158),
    "tan": (200, 160, 110),
    "khaki": (190, 174, 120),
    "cream": (238, 228, 196),
    "brown": (110, 70, 40),
    "chestnut": (120, 62, 32),
    "auburn": (150, 60, 30),
    "ginger": (200, 100, 40),
    "copper": (184, 100, 50),
    "green": (40, 130, 62),
    "olive": (110, 110, 42),
    "teal": (30, 120, 122),
    "turquoise": (62, 198, 188),
    "blue": (42, 82, 182),
    "navy": (26, 36, 82),
    "purple": (110, 50, 140),
    "violet": (140, 80, 200),
    "lavender": (188, 170, 228),
    "blond": (226, 196, 120),
    "blonde": (226, 196, 120),
    "platinum": (232, 226, 206),
    "sandy": (200, 170, 110),
}
# A named hair colour that is not a plain colour word.
_HAIR_WORDS: Final[dict[str, RGB]] = {
    "redhead": (176, 64, 30),
    "blond": COLOURS["blond"],
    "blonde": COLOURS["blond"],
    "brunette": (70, 42, 26),
}
_NATURAL_HAIR: Final[tuple[RGB, ...]] = (
    (24, 20, 18),
    (58, 38, 26),
    (96, 62, 36),
    (150, 66, 32),
    (214, 180, 110),
    (160, 156, 150),
)
_SKIN: Final[tuple[RGB, ...]] = (
    (246, 214, 188),
    (234, 190, 152),
    (208, 160, 120),
    (172, 120, 84),
    (128, 84, 56),
    (92, 60, 42),
)
_HAIR_NOUNS: Final = frozenset({"hair", "haired", "hairdo", "curls", "braid", "braids", "ponytail", "mane"})
_LONG_COATS: Final = frozenset(
    {"coat", "overcoat", "raincoat", "trenchcoat", "oilskin", "dress", "gown", "robe", "cloak", "kimono"}
)
_TOPS: Final = _LONG_COATS | frozenset(
    {
        "jacket",
        "shirt",
        "blouse",
        "sweater",
        "jumper",
        "hoodie",
        "cardigan",
        "suit",
        "uniform",
        "cape",
        "vest",
        "waistcoat",
        "blazer",
        "parka",
        "tunic",
        "top",
        "tshirt",
        "apron",
        "overalls",
    }
)
_BOTTOMS: Final = frozenset({"trousers", "pants", "jeans", "skirt", "shorts", "slacks", "leggings"})
_HATS: Final = frozenset(
    {"hat", "cap", "fedora", "beret", "helmet", "bonnet", "beanie", "bowler", "stetson", "turban"}
)
_NOUNS: Final = _HAIR_NOUNS | _TOPS | _BOTTOMS | _HATS | frozenset({"beard", "eyes", "skin", "shoes"})
_STOP: Final = frozenset({"and", "with", "or", "but", "in", "of", "on"})

# Later-listed kinds are not weaker: in a name the last keyword wins (English puts the head noun
# last: "Phone case" is a case), in a description the first (its subject comes first).
_PROP_WORDS: Final[tuple[tuple[PropKind, str], ...]] = (
    ("phone", r"(smart|tele|cell|mobile|i)?phones?|mobiles?|handsets?"),
    ("gun", r"(hand)?guns?|pistols?|revolvers?|rifles?|shotguns?|firearms?|weapons?|colt|luger|muskets?"),
    ("letter", r"letters?|envelopes?|notes?|mail|telegrams?|postcards?|invitations?|cheques?|checks?"),
    ("bag", r"(hand|sand)?bags?|suitcases?|briefcases?|satchels?|backpacks?|purses?|luggage|holdalls?"),
    ("key", r"keys?|keyrings?|keychains?"),
    ("book", r"(note)?books?|diary|diaries|journals?|ledgers?|bibles?|novels?|albums?|notebooks?"),
    ("bottle", r"bottles?|flasks?|whiske?y|wine|vials?|jars?|beers?|potions?|decanters?"),
    ("knife", r"knife|knives|daggers?|swords?|blades?|machetes?|razors?"),
    ("lamp", r"lamps?|lanterns?|torch(es)?|candles?|candlesticks?"),
    ("box", r"box(es)?|crates?|chests?|trunks?|parcels?|packages?|cases?|caskets?"),
)
_SCENE_WORDS: Final[tuple[tuple[SceneKind, str], ...]] = (
    (
        "interior",
        r"int|interior|rooms?|office|bar|pub|kitchen|apartment|flat|bedroom|hall(way)?|corridor|studio|"
        r"shop|store|restaurant|cafe|café|diner|church|warehouse|lobby|cell|library|classroom|basement|"
        r"attic|garage|hospital|ward|motel|hotel|house|cabin|lounge|cockpit|theatre|theater",
    ),
    (
        "waterfront",
        r"harbou?r|sea|seaside|beach|coast|lake|river|docks?|quay|pier|port|shore|ocean|bay|canal|marina|"
        r"lighthouse|wharf",
    ),
    (
        "nature",
        r"forest|woods?|park|field|garden|meadow|farm|countryside|hills?|mountains?|valley|desert|jungle|"
        r"orchard|clearing|moor",
    ),
)
_VIEW_PATTERNS: Final[tuple[tuple[View, str], ...]] = (
    ("three-quarter", r"three[- ]quarters?"),
    ("back", r"back view|from behind|facing away"),
    ("side", r"side view|in profile|profile view"),
)


@dataclass(frozen=True, slots=True)
class Look:
    """A character's drawn traits; colours are RGB."""

    skin: RGB
    hair: RGB
    hair_style: Literal["short", "long", "bun", "bald"]
    top: RGB
    long_coat: bool
    bottom: RGB
    hat: RGB | None
    glasses: bool
    beard: RGB | None
    build: float  # shoulder width factor around 1.0
    stature: float  # share of the available height, at most 1.0


def subject_text(prompt: str) -> str:
    """The part of a prompt that describes the subject: the style and type rules follow
    ``Visual style:`` in prompts built by ``shared.attempts.prompts`` and name colours of their own."""
    return prompt.split("Visual style:", 1)[0]


def view_of(prompt: str) -> View:
    """The view a prompt asks for: its own line first ("Side view, in profile." is how
    ``shared.attempts.prompts`` says it), so "attacked from behind" in a description does not turn
    the figure around; then anywhere in a free-form prompt."""
    lowered = prompt.lower()
    for scope in [line for line in lowered.splitlines() if re.match(r"\s*[a-z-]+ view\b", line)] or [lowered]:
        for view, pattern in _VIEW_PATTERNS:
            if re.search(pattern, scope):
                return view
    return "front"


def prop_kind(name: str, text: str) -> PropKind:
    """The prop shape: the last keyword of the name, else the first of the description, else a box."""
    for words, pick_last in ((_words(name), True), (_words(text), False)):
        hits = [(i, kind) for i, word in enumerate(words) for kind in _match(word, _PROP_WORDS)]
        if hits:
            return (max if pick_last else min)(hits)[1]
    return "box"


def scene_kind(name: str, text: str) -> SceneKind:
    for words in (_words(name), _words(text)):
        for word in words:
            for kind in _match(word, _SCENE_WORDS):
                return kind
    return "street"


def look_of(name: str, text: str, palette: Sequence[RGB]) -> Look:
    digest = hashlib.sha256(name.strip().lower().encode()).digest()
    clauses = [_words(part) for part in re.split(r"[.,;:!?()\n]", text)]
    words = {w for clause in clauses for w in clause}
    hair = _named(clauses, _HAIR_NOUNS) or next((c for w, c in _HAIR_WORDS.items() if w in words), None)
    styles: tuple[Literal["short", "long", "bun", "bald"], ...] = ("short", "long", "short", "bun")
    style = styles[digest[3] % len(styles)]
    if "bald" in words:
        style = "bald"
    elif words & {"long", "ponytail", "braid", "braids", "mane"} and (hair or words & _HAIR_NOUNS):
        style = "long"
    elif words & {"bun", "chignon"}:
        style = "bun"
    elif words & {"short", "cropped", "crew"} and words & _HAIR_NOUNS:
        style = "short"
    top = _named(clauses, _TOPS) or palette[digest[4] % len(palette)]
    bottom = _named(clauses, _BOTTOMS) or _shade(palette[(digest[4] + 1 + digest[5] % 2) % len(palette)], 0.6)
    return Look(
        skin=_SKIN[digest[0] % len(_SKIN)],
        hair=hair or _NATURAL_HAIR[digest[1] % len(_NATURAL_HAIR)],
        hair_style=style,
        top=top,
        long_coat=bool(words & _LONG_COATS) or (not words & _TOPS and digest[6] % 3 == 0),
        bottom=bottom,
        hat=(_named(clauses, _HATS) or (40, 36, 40)) if words & _HATS else None,
        glasses=bool(words & {"glasses", "spectacles", "specs", "monocle", "sunglasses"}),
        beard=(_named(clauses, {"beard", "moustache", "mustache", "stubble"}) or hair or (60, 40, 30))
        if words & {"beard", "bearded", "moustache", "mustache", "stubble"}
        else None,
        build=0.85 + digest[7] / 255 * 0.35,
        stature=0.92 + digest[8] / 255 * 0.08,
    )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", text.lower())


def _match(word: str, table: tuple[tuple[K, str], ...]) -> list[K]:
    return [kind for kind, pattern in table if re.fullmatch(pattern, word)][:1]


def _named(clauses: list[list[str]], nouns: frozenset[str] | set[str]) -> RGB | None:
    """The colour named just before one of ``nouns`` ("long *red* hair", "a *yellow* oilskin coat")."""
    for words in clauses:
        for i, word in enumerate(words):
            if word not in nouns:
                continue
            for j in range(i - 1, max(i - 4, -1), -1):  # up to three words back
                before = words[j]
                if before in _STOP or (before in _NOUNS and before not in nouns):
                    break
                if before in COLOURS:
                    colour = COLOURS[before]
                    modifier = words[j - 1] if j > 0 else ""
                    if modifier in ("dark", "deep"):
                        return _shade(colour, 0.6)
                    if modifier in ("light", "pale", "pastel"):
                        return _tint(colour, 0.45)
                    return colour
    return None


def _shade(colour: RGB, factor: float) -> RGB:
    r, g, b = colour
    return round(r * factor), round(g * factor), round(b * factor)


def _tint(colour: RGB, amount: float) -> RGB:
    r, g, b = colour
    return tuple(round(c + (235 - c) * amount) for c in (r, g, b))  # type: ignore[return-value]
