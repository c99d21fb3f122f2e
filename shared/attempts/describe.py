"""Describe an asset from one of its images (3A.7): the three texts the user chooses from.

``keep`` is the current description; ``replace`` describes the image and adds the script details it
does not show; ``merge`` blends both. A vision model writes them when an Anthropic key is set.
Offline, the image's measurable properties (orientation, size, transparency, dominant colours) are
reported apart, marked ``[offline]``; the options then all keep the current description, since only
a model can say what the image shows.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Final

from PIL import Image

from shared.attempts.schemas import ImageDescription
from shared.llm.client import LLMCall, LLMClient

OFFLINE_MARK: Final = "[offline]"
# Anthropic downscales anything larger (long edge 1568 px, ~1.15 MP) after upload: sending more
# only costs bandwidth and latency.
VISION_MAX_SIDE: Final = 1568
VISION_MAX_PIXELS: Final = 1_150_000

SYSTEM_PROMPT: Final = """\
You describe reference images for a film's pre-production. The user shows you one image of an \
asset (a character, prop, location or group of extras) and the description the script breakdown \
gave it. Describe only what the image shows: appearance, build, age, clothing, materials, colours, \
condition, layout. Then list the facts of the current description that the image does not show or \
contradicts, so they are not lost. Finally write one merged description a production designer could \
use, where the image wins any disagreement. Plain prose, present tense, no preamble."""

_COLOUR_NAMES: Final[dict[str, tuple[int, int, int]]] = {
    "black": (20, 20, 20),
    "charcoal": (60, 60, 64),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "white": (245, 245, 245),
    "ivory": (236, 230, 210),
    "red": (200, 30, 40),
    "rust": (160, 70, 40),
    "orange": (240, 140, 40),
    "yellow": (235, 210, 60),
    "olive": (110, 110, 40),
    "green": (50, 140, 60),
    "teal": (30, 120, 120),
    "blue": (40, 80, 190),
    "navy": (25, 35, 80),
    "purple": (110, 50, 140),
    "pink": (230, 140, 170),
    "brown": (110, 75, 45),
    "beige": (205, 185, 150),
}


def prepare_for_vision(data: bytes) -> tuple[bytes, str]:
    """The image as the vision API wants it: within its size limits, PNG when it has transparency
    (so a cut-out subject is not flattened onto black), JPEG otherwise. Blocking: use a thread."""
    with Image.open(io.BytesIO(data)) as src:
        img = src.convert("RGBA") if src.has_transparency_data else src.convert("RGB")
    scale = min(1.0, VISION_MAX_SIDE / max(img.size), (VISION_MAX_PIXELS / (img.width * img.height)) ** 0.5)
    if scale < 1:
        img = img.resize(
            (max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.Resampling.BICUBIC
        )
    buf = io.BytesIO()
    if img.mode == "RGBA":
        img.save(buf, "PNG", compress_level=6)
        return buf.getvalue(), "image/png"
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue(), "image/jpeg"


def offline_description(data: bytes) -> str:
    """A description from what can be measured without a model. Blocking: use a thread."""
    with Image.open(io.BytesIO(data)) as src:
        width, height = src.size
        img = src.convert("RGBA")
    img.thumbnail((96, 96))
    pixels = img.get_flattened_data()
    opaque = [(int(p[0]), int(p[1]), int(p[2])) for p in pixels if isinstance(p, tuple) and p[3] >= 128]
    transparent = 1 - len(opaque) / len(pixels)
    if width > height * 1.05:
        shape = "landscape"
    elif height > width * 1.05:
        shape = "portrait"
    else:
        shape = "square"
    parts = [f"{OFFLINE_MARK} A {shape} image, {width}x{height} px"]
    if transparent >= 0.05:
        parts[0] += f", the subject cut out on a transparent background ({transparent:.0%} transparent)"
    parts[0] += "."
    if opaque:
        colours = ", ".join(f"{name} ({share:.0%})" for name, share in _dominant(opaque))
        parts.append(f"Dominant colours: {colours}.")
        lum = sum(0.299 * r + 0.587 * g + 0.114 * b for r, g, b in opaque) / len(opaque)
        parts.append(f"Overall tone: {'dark' if lum < 85 else 'bright' if lum > 170 else 'mid'}.")
    parts.append("No vision model is configured, so the image's content is not described.")
    return " ".join(parts)


def _dominant(rgb: list[tuple[int, int, int]], top: int = 4) -> list[tuple[str, float]]:
    shares: dict[str, int] = {}
    for r, g, b in rgb:
        name = min(_COLOUR_NAMES, key=lambda n: _distance((r, g, b), _COLOUR_NAMES[n]))
        shares[name] = shares.get(name, 0) + 1
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])[:top]
    return [(name, count / len(rgb)) for name, count in ranked]


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    # Red-mean weighted RGB distance: cheap, and closer to how people name colours than plain RGB.
    mean_r = (a[0] + b[0]) // 2
    dr, dg, db = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return ((512 + mean_r) * dr * dr >> 8) + 4 * dg * dg + ((767 - mean_r) * db * db >> 8)


def model_options(current: str, found: ImageDescription) -> dict[str, str]:
    missing = [d.strip().rstrip(".") for d in found.script_details_missing if d.strip()]
    replace = found.description.strip()
    if missing:
        replace += " Also from the script: " + "; ".join(missing) + "."
    return {"keep": current.strip(), "replace": replace, "merge": found.merged.strip() or replace}


async def describe_with_model(
    llm: LLMClient,
    *,
    model: str,
    image: bytes,
    media_type: str,
    name: str,
    asset_type: str,
    current: str,
) -> tuple[ImageDescription, LLMCall]:
    """One forced tool call with the image as a base64 block. Raises the LLM client's errors,
    each carrying ``call`` for accounting."""
    content: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": base64.b64encode(image).decode()},
        },
        {
            "type": "text",
            "text": f"Asset: {name} ({asset_type.replace('_', ' ')}).\n"
            f"Current description:\n{current.strip() or '(none yet)'}",
        },
    ]
    return await llm.structured(
        model=model,
        system=SYSTEM_PROMPT,
        messages=[{"role": "user", "content": content}],
        schema=ImageDescription,
        tool_name="describe_image",
        tool_description="Report what the image shows and how it fits the current description.",
        max_tokens=1200,
        purpose="attempt.describe",
    )
