"""Pixel sizes for generated reference images, by asset type and project aspect ratio.

Rule: the *short* side is ``base`` and the long side follows the ratio, rounded to a multiple of 16
(diffusion models work on 8x or 16x downsampled latents and hosted APIs round other sizes anyway).
Short side rather than long side so every asset gets the same detail across its narrow dimension: a
2.35:1 location is as tall as a portrait is wide, and a 2:3 character at base 1024 is exactly the
1024x1536 size hosted providers offer.

    type \\ project     16:9        9:16        1:1         4:3         2.35:1
    character, extra   1024x1536   1024x1536   1024x1536   1024x1536   1024x1536
    prop               1024x1024   1024x1024   1024x1024   1024x1024   1024x1024
    location           1824x1024   1024x1824   1024x1024   1360x1024   2400x1024
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:3", "2.35:1")
_ALIGN: Final = 16
# Width:height per asset type; None means "the project's ratio".
_TYPE_RATIO: Final[dict[str, Fraction | None]] = {
    "character": Fraction(2, 3),
    "extra_archetype": Fraction(2, 3),
    "prop": Fraction(1, 1),
    "location": None,
}


def size_for(asset_type: str, project_aspect_ratio: str, *, base: int = 1024) -> tuple[int, int]:
    """(width, height) for an asset of ``asset_type`` in a project shot at ``project_aspect_ratio``.

    Raises ``ValueError`` for an unknown type or ratio, or a ``base`` that is not a positive multiple
    of 16. The project ratio is validated even for types that ignore it, so a bad project is noticed.
    """
    if asset_type not in _TYPE_RATIO:
        raise ValueError(f"unknown asset type {asset_type!r}")
    if project_aspect_ratio not in ASPECT_RATIOS:
        raise ValueError(f"unknown aspect ratio {project_aspect_ratio!r}; expected one of {ASPECT_RATIOS}")
    if base <= 0 or base % _ALIGN:
        raise ValueError(f"base must be a positive multiple of {_ALIGN}, got {base}")
    ratio = _TYPE_RATIO[asset_type] or _parse_ratio(project_aspect_ratio)
    if ratio >= 1:
        return _align(base * ratio), base
    return base, _align(base / ratio)


def _parse_ratio(text: str) -> Fraction:
    # Fraction("2.35") is exact (47/20), so no float rounding creeps into the sizes.
    width, height = text.split(":")
    return Fraction(width) / Fraction(height)


def _align(length: Fraction) -> int:
    return max(_ALIGN, round(length / _ALIGN) * _ALIGN)
