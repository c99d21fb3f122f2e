"""The offline renderer: a deterministic Pillow placeholder standing in for a hosted image model.

It draws what a reviewer needs to check the pipeline without a provider: the style palette, a
silhouette for the asset type, and the asset and style names. Characters, props and extras stand on
a plain light background (like the hosted prompt asks for) so background removal has real work to
do; a location fills the frame. Same request, same bytes (for a given Pillow and FreeType build):
everything random comes from one seeded ``random.Random``, and drawing and PNG encoding are
deterministic.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
from collections.abc import Sequence
from typing import Final

from PIL import Image, ImageColor, ImageDraw, ImageFont

from shared.images.providers.base import ImageRequest

RGB = tuple[int, int, int]

_PAPER: Final[RGB] = (242, 240, 235)  # the plain background: light, and far from every ink below
_MIN_SIDE: Final = 64
_MAX_SIDE: Final = 4096


def render_placeholder(request: ImageRequest) -> bytes:
    """A PNG of exactly ``request.width`` x ``request.height``; raises ``ValueError`` for bad sizes."""
    width, height = request.width, request.height
    if not (_MIN_SIDE <= width <= _MAX_SIDE and _MIN_SIDE <= height <= _MAX_SIDE):
        raise ValueError(f"size {width}x{height} outside {_MIN_SIDE}..{_MAX_SIDE} px")
    rng = random.Random(_seed(request))
    palette = _palette(request.style_palette, request.style_name)
    if request.asset_type == "location":
        img = _scene(width, height, palette, rng)
    else:
        img = Image.new("RGB", (width, height), _PAPER)
        draw = ImageDraw.Draw(img)
        unit = min(width, height)
        if request.asset_type == "extra_archetype":
            _crowd(draw, width, height, palette, rng)
        elif request.asset_type == "prop":
            _prop(draw, width / 2, height * 0.45, unit * 0.55, palette, rng)
        else:  # character, and anything unknown: a figure is the most useful default
            _figure(draw, width / 2, height * 0.08, height * 0.68, palette, rng)
    _label(img, request.asset_name or "untitled", request.style_name or "no style", palette)
    buf = io.BytesIO()
    # Level 1: the drawing is flat colour, which zlib squeezes well even at its fastest setting.
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _seed(request: ImageRequest) -> int:
    # sha256, not hash(): str hashes are salted per process, and the output must not be.
    key = f"{request.seed}\x00{request.prompt}\x00{request.asset_type}\x00{request.asset_name}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def _palette(colours: list[str], style_name: str) -> list[RGB]:
    parsed: list[RGB] = []
    for text in colours:
        try:
            red, green, blue = ImageColor.getrgb(text)[:3]
        except ValueError:
            continue  # a malformed capsule colour should not fail a render
        parsed.append((red, green, blue))
    if parsed:
        return parsed
    # No palette: five colours spread around the hue circle from the style name, so each style
    # still looks different and the same style always looks the same.
    digest = hashlib.sha256(style_name.encode()).digest()
    hue = digest[0] / 255
    derived: list[RGB] = []
    for i in range(5):
        r, g, b = colorsys.hsv_to_rgb(
            (hue + i * 0.17 + digest[i + 1] / 2550) % 1, 0.45 + digest[i + 6] / 640, 0.35 + (i % 3) * 0.22
        )
        derived.append((round(r * 255), round(g * 255), round(b * 255)))
    return derived


def _ink(palette: list[RGB]) -> RGB:
    """Outline colour: the darkest palette colour pushed towards black, always far from the paper."""
    r, g, b = min(palette, key=sum)
    return r * 2 // 5, g * 2 // 5, b * 2 // 5


def _figure(
    draw: ImageDraw.ImageDraw, cx: float, top: float, tall: float, palette: list[RGB], rng: random.Random
) -> None:
    """A standing person: head, torso with a palette belt, arms and legs, outlined in ink."""
    ink, line = _ink(palette), max(2, round(tall / 120))
    head = tall * rng.uniform(0.075, 0.09)
    shoulders = tall * rng.uniform(0.15, 0.19)
    hips = shoulders * rng.uniform(0.65, 0.85)
    neck, limb = top + 2 * head, tall * 0.06
    waist = neck + tall * 0.38
    coat, skin, legs = palette[0], palette[1 % len(palette)], palette[2 % len(palette)]
    # Hands end outside the shoulder line: an arm that swung back to touch the leg would enclose a
    # pocket of paper, which background removal rightly keeps (it is not connected to the border).
    swing = rng.uniform(0.0, 0.04) * tall
    for side in (-1, 1):
        arm = [
            (cx + side * shoulders * 0.9, neck + limb),
            (cx + side * (shoulders + limb), waist),
            (cx + side * (shoulders + limb / 2 + swing), waist + tall * 0.1),
        ]
        # The outline is a wider stroke underneath: draw.line has no outline of its own.
        for colour, width in ((ink, round(limb) + 2 * line), (coat, round(limb))):
            draw.line(arm, fill=colour, width=width, joint="curve")
        inner, outer = sorted((cx + side * hips * 0.15, cx + side * hips))
        draw.rectangle((inner, waist, outer, top + tall), fill=legs, outline=ink, width=line)
    torso = [(cx - shoulders, neck), (cx + shoulders, neck), (cx + hips, waist), (cx - hips, waist)]
    draw.polygon(torso, fill=coat, outline=ink, width=line)
    step = 2 * hips / len(palette)
    for i, colour in enumerate(palette):  # the belt shows the whole palette on the subject itself
        draw.rectangle(
            (cx - hips + i * step, waist - tall * 0.05, cx - hips + (i + 1) * step, waist), fill=colour
        )
    draw.ellipse((cx - head, top, cx + head, top + 2 * head), fill=skin, outline=ink, width=line)


def _crowd(
    draw: ImageDraw.ImageDraw, width: int, height: int, palette: list[RGB], rng: random.Random
) -> None:
    """Several small figures in two rows, the back row smaller: an archetype, not an individual."""
    for row, (top, tall) in enumerate(((0.08, 0.30), (0.42, 0.36))):
        count = rng.randint(2, 3)
        # A figure is about 0.6 of its height wide; cap the height so neighbours and frame stay clear.
        fig_tall = min(height * tall, 0.8 * width / count)
        for i in range(count):
            shifted = palette[i + row :] + palette[: i + row]
            _figure(draw, width * (i + 0.5) / count, height * top, fig_tall, shifted, rng)


def _prop(
    draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, palette: list[RGB], rng: random.Random
) -> None:
    """One of three objects (crate, bottle, lamp) centred on (cx, cy), each part outlined in ink."""
    h = size / 2
    first, second, last = palette[0], palette[1 % len(palette)], palette[-1]
    kind = rng.randrange(3)
    parts: list[tuple[str, Sequence[float] | Sequence[tuple[float, float]], RGB]]
    if kind == 0:  # crate in cavalier projection: top and side faces behind the front
        d = size * 0.22
        x0, y0, x1, y1 = cx - h + d / 2, cy - h + d, cx + h - d / 2, cy + h
        parts = [
            ("polygon", [(x0, y0), (x0 + d, y0 - d), (x1 + d, y0 - d), (x1, y0)], second),
            ("polygon", [(x1, y0), (x1 + d, y0 - d), (x1 + d, y1 - d), (x1, y1)], last),
            ("rectangle", (x0, y0, x1, y1), first),
        ]
    elif kind == 1:  # bottle: body, neck, cap, label
        parts = [
            ("rectangle", (cx - h * 0.14, cy - h * 0.75, cx + h * 0.14, cy - h * 0.1), first),
            ("rectangle", (cx - h * 0.17, cy - h, cx + h * 0.17, cy - h * 0.75), second),
            ("ellipse", (cx - h * 0.45, cy - h * 0.3, cx + h * 0.45, cy + h * 0.1), first),
            ("rectangle", (cx - h * 0.45, cy - h * 0.1, cx + h * 0.45, cy + h), first),
            ("rectangle", (cx - h * 0.45, cy + h * 0.2, cx + h * 0.45, cy + h * 0.55), last),
        ]
    else:  # lamp: stem, foot, shade
        shade = [
            (cx - h * 0.3, cy - h),
            (cx + h * 0.3, cy - h),
            (cx + h * 0.7, cy - h * 0.2),
            (cx - h * 0.7, cy - h * 0.2),
        ]
        parts = [
            ("rectangle", (cx - size * 0.03, cy - h * 0.2, cx + size * 0.03, cy + h * 0.8), second),
            ("ellipse", (cx - h * 0.5, cy + h * 0.7, cx + h * 0.5, cy + h), last),
            ("polygon", shade, first),
        ]
    ink, line = _ink(palette), max(2, round(size / 90))
    for method, xy, fill in parts:
        getattr(draw, method)(xy, fill=fill, outline=ink, width=line)


def _scene(width: int, height: int, palette: list[RGB], rng: random.Random) -> Image.Image:
    """A frame-filling street: palette sky gradient, sun, hills, lit buildings, ground."""
    by_light = sorted(palette, key=sum)
    horizon = round(height * rng.uniform(0.55, 0.68))
    sky_top, sky_low = by_light[len(by_light) // 2], by_light[-1]
    ramp = Image.linear_gradient("L").resize((width, horizon))
    img = Image.new("RGB", (width, height), by_light[0])
    img.paste(
        Image.composite(Image.new("RGB", ramp.size, sky_low), Image.new("RGB", ramp.size, sky_top), ramp),
        (0, 0),
    )
    draw = ImageDraw.Draw(img)
    sun = min(width, height) * 0.08
    sx, sy = width * rng.uniform(0.15, 0.85), horizon * rng.uniform(0.2, 0.5)
    draw.ellipse((sx - sun, sy - sun, sx + sun, sy + sun), fill=(250, 236, 190))
    hills = [(0, horizon)] + [(width * i / 6, horizon - height * rng.uniform(0.04, 0.12)) for i in range(7)]
    draw.polygon([*hills, (width, horizon)], fill=by_light[min(1, len(by_light) - 1)])
    x = 0.0
    while x < width:
        w = width * rng.uniform(0.06, 0.14)
        top = horizon - height * rng.uniform(0.12, 0.4)
        draw.rectangle((x, top, x + w, horizon), fill=palette[rng.randrange(len(palette))])
        win = max(3.0, w / 9)
        for wy in range(round(top + win), horizon - round(2 * win), round(2 * win)):
            for wx in range(round(x + win), round(x + w - win), round(2 * win)):
                lit = (250, 220, 140) if rng.random() < 0.35 else by_light[0]
                draw.rectangle((wx, wy, wx + win, wy + win), fill=lit)
        x += w + width * rng.uniform(0.0, 0.03)
    draw.rectangle((0, horizon, width, height), fill=by_light[0])
    return img


def _label(img: Image.Image, name: str, style: str, palette: list[RGB]) -> None:
    """A dark tag in the bottom band: palette swatches, asset name, style name.

    One solid tag rather than loose text: after background removal loose glyphs would keep the
    paper inside their counters (an "a" or "e" encloses it), leaving light specks on the cut-out.
    """
    width, height = img.size
    unit = min(width, height)
    draw = ImageDraw.Draw(img)
    big_size, small_size = max(12, round(unit * 0.06)), max(10, round(unit * 0.032))
    # Fresh font objects per call (about 0.1 ms): a shared FreeType face is not safe across threads.
    big, small = ImageFont.load_default(size=big_size), ImageFont.load_default(size=small_size)
    margin, pad, swatch = round(unit * 0.05), round(unit * 0.02), round(unit * 0.04)
    while draw.textlength(name, font=big) > width - 2 * (margin + pad) and len(name) > 4:
        name = name[:-4] + "…"  # the full name is in the API; the picture only needs to be recognisable
    text_width = max(draw.textlength(name, font=big), draw.textlength(style, font=small), 8 * swatch)
    bottom = height - margin
    top = bottom - (swatch * 1.4 + big_size * 1.25 + small_size * 1.3)
    ink = _ink(palette)
    draw.rounded_rectangle(
        (margin - pad, top - pad, margin + text_width + pad, bottom + pad), radius=pad, fill=ink
    )
    for i, colour in enumerate(palette[:8]):
        x = margin + i * (swatch + swatch // 4)
        draw.rectangle((x, top, x + swatch, top + swatch), fill=colour, outline=_PAPER)
    draw.text((margin, top + swatch * 1.4), name, fill=_PAPER, font=big)
    draw.text((margin, top + swatch * 1.4 + big_size * 1.25), style, fill=_PAPER, font=small)
