"""The offline renderer: a deterministic Pillow placeholder standing in for a hosted image model.

It draws what a reviewer needs to tell assets apart and check the pipeline without a provider:
a character wears the colours its description names (hair, coat, trousers, hat, glasses, beard;
a hash of its name picks the rest), turned the way the requested view asks (front, side,
three-quarter, back); a prop has a silhouette picked from the words of its name or description
(phone, gun, letter, bag, key, book, bottle, knife, lamp, box); a location is a scene of its kind
(interior, waterfront, nature, street) in the style palette; extras are a small group. The name
is written in Noto Sans, shipped by the pinned ``fontpkg-noto-sans`` wheel, so "Comédie Française"
or "Ωμέγα" render as letters rather than boxes.

With a reference image (``ImageRequest.reference``) the output is that image fitted to the size,
tinted towards the palette and overlaid with the new description: an edit of it, as the hosted
edits endpoint would return.

Characters, props and extras stand on a plain light background (like the hosted prompt asks for) so
background removal has real work to do; nothing drawn encloses a pocket of that paper, which
removal would rightly keep. Same request, same bytes (for a given Pillow and FreeType build):
everything random comes from one seeded ``random.Random`` or a hash, text uses Pillow's basic layout
(not raqm, which may or may not be installed), and drawing and PNG encoding are deterministic.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import importlib.resources
import io
import math
import random
import textwrap
import threading
from collections.abc import Sequence
from typing import Final

from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFont, ImageOps

from shared.images import traits
from shared.images.background import fill_from_border
from shared.images.providers.base import ImageRequest
from shared.images.traits import RGB, Look, View

_PAPER: Final[RGB] = (242, 240, 235)  # the plain background: light, and far from every ink below
_MIN_SIDE: Final = 64
_MAX_SIDE: Final = 4096
# A reference is decoded in full; more than this is not a reference but an attack or a mistake.
_REFERENCE_MAX_PIXELS: Final = 50_000_000
_FONT_PACKAGE: Final = "fontpkg_noto_sans"
_FONT_FILE: Final = "NotoSans[wdth,wght].ttf"

Part = tuple[str, Sequence[float] | Sequence[tuple[float, float]], RGB]


def render_placeholder(request: ImageRequest) -> bytes:
    """A PNG of exactly ``request.width`` x ``request.height``; raises ``ValueError`` for bad sizes
    and for a reference that is not a readable image."""
    width, height = request.width, request.height
    if not (_MIN_SIDE <= width <= _MAX_SIDE and _MIN_SIDE <= height <= _MAX_SIDE):
        raise ValueError(f"size {width}x{height} outside {_MIN_SIDE}..{_MAX_SIDE} px")
    rng = random.Random(_seed(request))
    palette = _palette(request.style_palette, request.style_name)
    name = request.asset_name or "untitled"
    text = traits.subject_text(request.prompt)
    view = traits.view_of(request.prompt)
    caption = request.style_name or "no style"
    if request.reference is not None:
        img = _from_reference(request.reference, width, height, palette)
        _state_banner(img, _state_text(text, name), palette)
        caption = f"{caption} · from reference"
    elif request.asset_type == "location":
        img = _scene(width, height, palette, rng, traits.scene_kind(name, text))
    else:
        img = Image.new("RGB", (width, height), _PAPER)
        draw = ImageDraw.Draw(img)
        unit = min(width, height)
        if request.asset_type == "extra_archetype":
            _crowd(draw, width, height, palette, name, text, rng)
        elif request.asset_type == "prop":
            kind = traits.prop_kind(name, text)
            _prop(draw, kind, width / 2, height * 0.42, unit * 0.6, palette, rng)
            caption = f"{caption} · {kind}"
        else:  # character, and anything unknown: a figure is the most useful default
            look = traits.look_of(name, text, palette)
            _figure(draw, width / 2, height * 0.08, height * 0.68, look, view, palette, rng)
            caption = f"{caption} · {view}"
        _seal_pockets(img, _ink(palette))
    _label(img, name, caption, palette)
    buf = io.BytesIO()
    # Level 1: the drawing is flat colour, which zlib squeezes well even at its fastest setting.
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def label_font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Noto Sans at ``size`` px (Latin, Greek, Cyrillic, Vietnamese), regular or bold.

    One font object per thread and size: a FreeType face is not safe to share across threads (and
    renders run in worker threads), while a fresh one costs several milliseconds, most of it loading
    the variable font's glyphs the first time they are measured.
    """
    cache: dict[tuple[int, bool], ImageFont.FreeTypeFont] = _fonts.__dict__.setdefault("by_size", {})
    font = cache.get((size, bold))
    if font is None:
        font = ImageFont.truetype(io.BytesIO(_font_bytes()), size, layout_engine=ImageFont.Layout.BASIC)
        # The variable font's axes are weight (100-900) then width (62.5-100).
        font.set_variation_by_axes([700 if bold else 400, 100])
        if len(cache) >= 64:  # sizes follow image sizes, which are few; bound it all the same
            cache.clear()
        cache[(size, bold)] = font
    return font


_fonts = threading.local()


@functools.cache
def _font_bytes() -> bytes:
    return (importlib.resources.files(_FONT_PACKAGE) / "files" / _FONT_FILE).read_bytes()


def _seed(request: ImageRequest) -> int:
    # sha256, not hash(): str hashes are salted per process, and the output must not be.
    key = f"{request.seed}\x00{request.prompt}\x00{request.asset_type}\x00{request.asset_name}"
    digest = hashlib.sha256(key.encode())
    if request.reference is not None:
        digest.update(request.reference)
    return int.from_bytes(digest.digest()[:8], "big")


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


def _ink(palette: Sequence[RGB]) -> RGB:
    """Outline colour: the darkest palette colour pushed towards black, always far from the paper."""
    r, g, b = min(palette, key=sum)
    return r * 2 // 5, g * 2 // 5, b * 2 // 5


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """Corners in order: Pillow refuses a rectangle or ellipse whose x1 < x0, which rounding at the
    smallest sizes could otherwise produce."""
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _draw_parts(draw: ImageDraw.ImageDraw, parts: Sequence[Part], ink: RGB, line: int) -> None:
    for method, xy, fill in parts:
        if method == "rounded_rectangle":
            x0, y0, x1, y1 = _box(*xy)
            _rounded(
                draw,
                (x0, y0, x1, y1),
                radius=min(x1 - x0, y1 - y0) * 0.15,
                fill=fill,
                outline=ink,
                width=line,
            )
            continue
        if method in ("rectangle", "ellipse", "chord", "pieslice"):
            xy = _box(*xy)
        getattr(draw, method)(xy, fill=fill, outline=ink, width=line)


def _rounded(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float, float, float],
    *,
    radius: float,
    fill: RGB,
    outline: RGB,
    width: int,
) -> None:
    x0, y0, x1, y1 = _box(*xy)
    if min(x1 - x0, y1 - y0) < 4 * (radius + width + 1):
        # Pillow's rounded_rectangle fails ("x1 must be greater than or equal to x0") on boxes only a
        # few corner radii big, as at the smallest image sizes; square corners cost nothing there.
        draw.rectangle((x0, y0, x1, y1), fill=fill, outline=outline, width=width)
    else:
        draw.rounded_rectangle((x0, y0, x1, y1), radius=radius, fill=fill, outline=outline, width=width)


def _seal_pockets(img: Image.Image, ink: RGB) -> None:
    """Paint over paper the drawing encloses (where outlines of touching parts leave a sliver).

    Background removal keeps enclosed paper, rightly: on a real picture it is the sky seen through a
    window. On a placeholder it is only a gap between two outlines and would show as a light speck on
    the cut-out, so it is sealed here with the ink colour. Drawing is not anti-aliased, so the paper
    is exactly ``_PAPER``; the scanline fill from the border costs a few milliseconds.
    """
    r, g, b = ImageChops.difference(img, Image.new("RGB", img.size, _PAPER)).split()
    drawn = ImageChops.lighter(ImageChops.lighter(r, g), b)
    bbox = drawn.getbbox()
    if bbox is None:
        return
    # Only around the drawing: one pixel of paper on each side keeps the crop's border connected
    # to the paper outside it, and the fill costs in proportion to the rows it walks.
    x0, y0, x1, y1 = (
        max(0, bbox[0] - 1),
        max(0, bbox[1] - 1),
        min(img.width, bbox[2] + 1),
        min(img.height, bbox[3] + 1),
    )
    exact = drawn.crop((x0, y0, x1, y1)).point([255] + [0] * 255)
    pockets = ImageChops.subtract(exact, fill_from_border(exact))
    if pockets.getbbox() is not None:
        img.paste(ink, (x0, y0, x1, y1), mask=pockets)


# --- characters -------------------------------------------------------------------------------------


def _figure(
    draw: ImageDraw.ImageDraw,
    cx: float,
    top: float,
    tall: float,
    look: Look,
    view: View,
    palette: Sequence[RGB],
    rng: random.Random,
) -> None:
    """A standing person in ``look``'s colours, turned as ``view`` says, outlined in ink.

    Front and back share the symmetric silhouette, and differ where a person looks: the face (eyes,
    mouth, glasses, beard) or the back of the head covered in hair and a seam down the coat. Side is
    a narrow profile walking right, nose out, one arm, legs in stride; three-quarter is between,
    the face features pushed towards the side it turns to and the far shoulder narrower. The seed
    only moves the pose (where the figure stands, how the arms swing, the stride): another attempt
    is another take of the same person.
    """
    ink, line = _ink(palette), max(1, round(tall / 150))
    cx += rng.uniform(-0.03, 0.03) * tall
    swing = rng.uniform(0.0, 0.05) * tall
    tall *= look.stature
    top += (1 - look.stature) * tall  # shorter people stand on the same ground
    head = tall * 0.08
    shoulders = tall * 0.17 * look.build
    hips = shoulders * 0.75
    neck = top + 2 * head
    waist = neck + tall * 0.36
    hem = waist + (tall * 0.2 if look.long_coat else tall * 0.02)
    floor = top + tall
    limb = tall * 0.06
    shoe = _mix(look.bottom, (20, 18, 16), 0.7)
    turn = {"front": 1.0, "back": 1.0, "three-quarter": 0.78, "side": 0.5}[view]
    facing = 1 if view in ("side", "three-quarter") else 0  # towards the right of the frame

    # Legs, then arms behind the body, then the body, the near arm and the head.
    if view == "side":
        stride = tall * 0.1 + swing  # wide enough that the shoes never meet and close the gap
        for sign in (-1, 1):
            foot = cx + sign * stride
            leg = [
                (cx - limb * 0.8, waist),
                (cx + limb * 0.8, waist),
                (foot + limb * 0.7, floor),
                (foot - limb * 0.7, floor),
            ]
            draw.polygon(leg, fill=look.bottom, outline=ink, width=line)
            draw.rectangle(
                _box(foot - limb * 0.8, floor - limb * 0.5, foot + limb * 1.3, floor),
                fill=shoe,
                outline=ink,
                width=line,
            )
    else:
        spread = hips * turn
        shift = facing * hips * 0.12
        for sign in (-1, 1):
            # The gap between the legs stays open at the floor (the shoes do not reach across it).
            inner, outer = cx + shift + sign * spread * 0.2, cx + shift + sign * spread
            draw.rectangle(_box(inner, waist, outer, floor), fill=look.bottom, outline=ink, width=line)
            toe = limb * 0.4 * facing
            draw.rectangle(
                _box(inner, floor - limb * 0.5, outer + sign * limb * 0.2 + toe, floor),
                fill=shoe,
                outline=ink,
                width=line,
            )

    if look.hair_style == "long" and view in ("front", "three-quarter"):
        _long_hair(draw, cx, top + head, head, look.hair, 1.6, ink, line)  # behind the shoulders
    width_near, width_far = shoulders * turn, shoulders * turn
    if view == "three-quarter":
        width_near, width_far = shoulders * 0.95, shoulders * 0.6
    torso_hips = hips * turn if view != "three-quarter" else hips * 0.8
    flare = 1.25 if look.long_coat else 1.0
    # How far the arm's centre line sits outside the body's edge: its stroke overlaps the edge by
    # at least two outlines and a pixel, even on the small figures of a crowd.
    hug = max(0.0, limb * 0.5 - max(limb * 0.2, 2 * line + 1))
    if view != "side":
        # Each arm hugs the side of the body (its stroke overlaps the body's edge all the way down),
        # and the hand stays clear of the legs: an arm that left a gap to the coat, or a hand that
        # touched a leg, would enclose a pocket of paper, which background removal rightly keeps.
        for sign, span in ((-1, width_far), (1, width_near)):

            def side_at(y: float, span: float = span) -> float:  # the body's half-width at height y
                return span + (torso_hips * flare - span) * (y - neck) / (hem - neck)

            low = waist + tall * 0.1
            legs_out = hips * turn + sign * facing * hips * 0.12  # the outer side of this side's leg
            hand_x = max(side_at(low) + hug, legs_out + limb * 0.9)
            arm = [
                (cx + sign * (side_at(neck + limb) + limb * 0.1), neck + limb),
                (cx + sign * (side_at(waist) + hug), waist),
                (cx + sign * (hand_x + swing), low),
            ]
            _limb(draw, arm, look.top, ink, limb, line)
            _hand(draw, arm[-1], limb, look.skin, ink, line)
    body = [
        (cx - width_far, neck),
        (cx + width_near, neck),
        (cx + torso_hips * flare, hem),
        (cx - torso_hips * flare, hem),
    ]
    draw.polygon(body, fill=look.top, outline=ink, width=line)
    belt = _mix(look.top, ink, 0.55)
    draw.rectangle(
        _box(cx - torso_hips * 1.02, waist - tall * 0.03, cx + torso_hips * 1.02, waist), fill=belt
    )
    if view == "back":
        draw.line([(cx, neck + limb), (cx, hem)], fill=ink, width=line)  # the seam down the back
    elif view == "front":
        draw.line([(cx, neck + limb * 1.5), (cx, hem)], fill=_mix(look.top, ink, 0.5), width=line)  # buttons
        for k in range(3):
            y = neck + limb * 2 + k * tall * 0.09
            draw.ellipse(_box(cx - limb * 0.15, y, cx + limb * 0.15, y + limb * 0.3), fill=ink)
    if view == "side":
        arm = [
            (cx, neck + limb),
            (cx + limb * 0.8, waist - tall * 0.04),
            (cx + limb * 2.2, waist + tall * 0.06),
        ]
        _limb(draw, arm, look.top, ink, limb, line)
        _hand(draw, arm[-1], limb, look.skin, ink, line)
    draw.rectangle(
        _box(cx - head * 0.35, neck - head * 0.4, cx + head * 0.35, neck + limb * 0.6),
        fill=look.skin,
        outline=ink,
        width=line,
    )
    _head(draw, cx, top, head, look, view, ink, line)


def _limb(
    draw: ImageDraw.ImageDraw,
    points: list[tuple[float, float]],
    colour: RGB,
    ink: RGB,
    width: float,
    line: int,
) -> None:
    # The outline is a wider stroke underneath: draw.line has no outline of its own.
    for fill, w in ((ink, round(width) + 2 * line), (colour, round(width))):
        draw.line(points, fill=fill, width=max(1, w), joint="curve")


def _hand(
    draw: ImageDraw.ImageDraw, end: tuple[float, float], limb: float, skin: RGB, ink: RGB, line: int
) -> None:
    """A hand centred on the arm's end and wider than its stroke: the stroke's square end then lies
    inside it, with no corner left to trap a speck of paper against the coat."""
    x, y = end
    r = limb * 0.5 + line + max(1.0, limb * 0.12)
    draw.ellipse(_box(x - r, y - r, x + r, y + r * 1.2), fill=skin, outline=ink, width=line)


def _head(
    draw: ImageDraw.ImageDraw, cx: float, top: float, r: float, look: Look, view: View, ink: RGB, line: int
) -> None:
    cy = top + r
    box = _box(cx - r, top, cx + r, top + 2 * r)
    hair = look.hair if look.hair_style != "bald" else look.skin
    if look.hair_style == "long" and view == "back":
        _long_hair(draw, cx, cy, r, hair, 2.1, ink, line)  # seen from behind it lies over the coat
    if view == "side":
        if look.hair_style == "long":
            _rounded(
                draw,
                _box(cx - r * 1.05, cy - r * 0.3, cx + r * 0.1, cy + r * 1.7),
                radius=r * 0.3,
                fill=hair,
                outline=ink,
                width=line,
            )
        nose = [(cx + r * 0.9, cy - r * 0.25), (cx + r * 1.3, cy + r * 0.2), (cx + r * 0.9, cy + r * 0.3)]
        draw.polygon(nose, fill=look.skin, outline=ink, width=line)
    draw.ellipse(box, fill=hair if view == "back" else look.skin, outline=ink, width=line)
    if view == "back":
        if look.hair_style == "bun":
            draw.ellipse(
                _box(cx - r * 0.4, cy - r * 0.3, cx + r * 0.4, cy + r * 0.5),
                fill=_mix(hair, ink, 0.3),
                outline=ink,
                width=line,
            )
        _hat(draw, cx, top, r, look, ink, line)
        return
    if look.hair_style != "bald":
        # The hairline: a cap over the top, and for side/three-quarter the back of the head as well.
        if view == "side":  # the top and the back of the head, the face to the right left bare
            draw.chord(box, 165, 345, fill=hair, outline=ink, width=line)
            draw.pieslice(box, 95, 200, fill=hair, outline=ink, width=line)
        elif view == "three-quarter":
            draw.chord(box, 175, 360, fill=hair, outline=ink, width=line)
            draw.pieslice(box, 130, 195, fill=hair, outline=ink, width=line)
        else:
            draw.chord(box, 180, 360, fill=hair, outline=ink, width=line)
        if look.hair_style == "bun":
            bx = cx - r * 0.5 if view != "front" else cx
            draw.ellipse(
                _box(bx - r * 0.4, top - r * 0.45, bx + r * 0.4, top + r * 0.3),
                fill=hair,
                outline=ink,
                width=line,
            )
    # Face features: centred for front, pushed towards the turn for three-quarter and side.
    eye = max(1.5, r * 0.12)
    eyes = {"front": (-0.38, 0.38), "three-quarter": (0.05, 0.55), "side": (0.55,)}[view]
    for ex in eyes:
        x, y = cx + ex * r, cy + r * 0.1
        draw.ellipse(_box(x - eye, y - eye, x + eye, y + eye), fill=ink)
        if look.glasses:
            g = r * 0.26
            draw.ellipse(_box(x - g, y - g, x + g, y + g), outline=ink, width=max(1, line))
    if look.glasses and len(eyes) == 2:
        draw.line(
            [(cx + eyes[0] * r + r * 0.26, cy + r * 0.1), (cx + eyes[1] * r - r * 0.26, cy + r * 0.1)],
            fill=ink,
            width=max(1, line),
        )
    mouth = {"front": 0.0, "three-quarter": 0.32, "side": 0.7}[view]
    if look.beard is not None:
        start, end = {"front": (20, 160), "three-quarter": (15, 150), "side": (10, 120)}[view]
        draw.chord(box, start, end, fill=look.beard, outline=ink, width=line)
    draw.line(
        [(cx + (mouth - 0.2) * r, cy + r * 0.55), (cx + (mouth + 0.2) * r, cy + r * 0.55)],
        fill=ink,
        width=max(1, line),
    )
    if view == "three-quarter":
        nose = [(cx + r * 0.3, cy - r * 0.05), (cx + r * 0.45, cy + r * 0.3), (cx + r * 0.28, cy + r * 0.32)]
        draw.line(nose, fill=ink, width=max(1, line))
    _hat(draw, cx, top, r, look, ink, line)


def _long_hair(
    draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, hair: RGB, reach: float, ink: RGB, line: int
) -> None:
    _rounded(
        draw,
        _box(cx - r * 1.1, cy - r * 0.2, cx + r * 1.1, cy + r * reach),
        radius=r * 0.4,
        fill=hair,
        outline=ink,
        width=line,
    )


def _hat(draw: ImageDraw.ImageDraw, cx: float, top: float, r: float, look: Look, ink: RGB, line: int) -> None:
    if look.hat is None:
        return
    draw.rectangle(
        _box(cx - r * 0.8, top - r * 0.55, cx + r * 0.8, top + r * 0.35),
        fill=look.hat,
        outline=ink,
        width=line,
    )
    draw.rectangle(
        _box(cx - r * 1.35, top + r * 0.25, cx + r * 1.35, top + r * 0.45),
        fill=look.hat,
        outline=ink,
        width=line,
    )


def _crowd(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    palette: Sequence[RGB],
    name: str,
    text: str,
    rng: random.Random,
) -> None:
    """Several small figures in two rows, the back row smaller: an archetype, not an individual.

    Each member gets the archetype's named colours and a look of its own for the rest.
    """
    member = 0
    for top, tall in ((0.08, 0.30), (0.42, 0.36)):
        count = 3 if (len(name) + round(top * 100)) % 2 else 2
        # A figure is about 0.6 of its height wide; cap the height so neighbours and frame stay clear.
        fig_tall = min(height * tall, 0.8 * width / count)
        for i in range(count):
            look = traits.look_of(f"{name}\x00{member}", text, palette)
            member += 1
            view: View = ("front", "three-quarter", "front")[i % 3]
            _figure(draw, width * (i + 0.5) / count, height * top, fig_tall, look, view, palette, rng)


# --- props ------------------------------------------------------------------------------------------


def _prop(
    draw: ImageDraw.ImageDraw,
    kind: traits.PropKind,
    cx: float,
    cy: float,
    size: float,
    palette: Sequence[RGB],
    rng: random.Random,
) -> None:
    """The silhouette of ``kind`` centred on (cx, cy) within ``size``, each part outlined in ink;
    the seed nudges its place and scale, as another take would."""
    cx += rng.uniform(-0.04, 0.04) * size
    size *= rng.uniform(0.9, 1.04)
    h = size / 2
    first, second, last = palette[0], palette[1 % len(palette)], palette[-1]
    ink, line = _ink(palette), max(2, round(size / 90))
    metal = _mix((150, 152, 160), first, 0.15)
    cream = _mix((238, 228, 200), first, 0.12)
    parts: list[Part]
    if kind == "phone":  # a handset standing upright: dark body, lit screen, home button
        body = _mix((34, 34, 40), first, 0.2)
        _rounded(
            draw,
            _box(cx - h * 0.36, cy - h, cx + h * 0.36, cy + h),
            radius=h * 0.1,
            fill=body,
            outline=ink,
            width=line,
        )
        parts = [
            (
                "rectangle",
                (cx - h * 0.29, cy - h * 0.8, cx + h * 0.29, cy + h * 0.72),
                _mix(second, (255, 255, 255), 0.35),
            ),
            ("ellipse", (cx - h * 0.07, cy + h * 0.79, cx + h * 0.07, cy + h * 0.93), last),
            ("rectangle", (cx - h * 0.1, cy - h * 0.92, cx + h * 0.1, cy - h * 0.87), ink),
        ]
        for row in range(3):  # app tiles: what makes a screen read as a phone rather than a slab
            for col in range(3):
                x, y = cx - h * 0.22 + col * h * 0.16, cy - h * 0.7 + row * h * 0.17
                parts.append(
                    ("rectangle", (x, y, x + h * 0.11, y + h * 0.11), palette[(row + col) % len(palette)])
                )
    elif kind == "gun":  # a pistol pointing right: slide, grip, solid trigger guard, muzzle
        parts = [
            (
                "polygon",
                [
                    (cx - h * 0.75, cy - h * 0.1),
                    (cx - h * 0.3, cy - h * 0.1),
                    (cx - h * 0.12, cy + h * 0.75),
                    (cx - h * 0.62, cy + h * 0.75),
                ],
                _mix((96, 60, 34), first, 0.3),
            ),
            (
                "polygon",
                [
                    (cx - h * 0.3, cy - h * 0.1),
                    (cx + h * 0.12, cy - h * 0.1),
                    (cx + h * 0.05, cy + h * 0.2),
                    (cx - h * 0.22, cy + h * 0.25),
                ],
                metal,
            ),
            ("rectangle", (cx - h * 0.85, cy - h * 0.42, cx + h * 0.95, cy - h * 0.08), metal),
            ("rectangle", (cx + h * 0.82, cy - h * 0.34, cx + h * 0.95, cy - h * 0.2), ink),
            ("rectangle", (cx - h * 0.8, cy - h * 0.5, cx - h * 0.7, cy - h * 0.42), metal),
        ]
    elif kind == "letter":  # an envelope, flap folded, stamp and wax seal
        parts = [("rectangle", (cx - h * 0.95, cy - h * 0.6, cx + h * 0.95, cy + h * 0.6), cream)]
        _draw_parts(draw, parts, ink, line)
        draw.line(
            [(cx - h * 0.95, cy - h * 0.6), (cx, cy + h * 0.1), (cx + h * 0.95, cy - h * 0.6)],
            fill=ink,
            width=line,
        )
        parts = [
            ("rectangle", (cx + h * 0.58, cy - h * 0.5, cx + h * 0.85, cy - h * 0.2), second),
            ("ellipse", (cx - h * 0.13, cy - h * 0.03, cx + h * 0.13, cy + h * 0.23), (170, 30, 36)),
        ]
    elif kind == "bag":  # a briefcase: body, flap band, clasp, a solid handle with a dark grip slot
        parts = [
            ("rounded_rectangle", (cx - h * 0.38, cy - h * 0.72, cx + h * 0.38, cy - h * 0.3), second),
            ("rectangle", (cx - h * 0.22, cy - h * 0.6, cx + h * 0.22, cy - h * 0.42), ink),
            ("rounded_rectangle", (cx - h * 0.95, cy - h * 0.35, cx + h * 0.95, cy + h * 0.75), first),
            (
                "rectangle",
                (cx - h * 0.95, cy - h * 0.15, cx + h * 0.95, cy - h * 0.02),
                _mix(first, ink, 0.4),
            ),
            ("rectangle", (cx - h * 0.1, cy - h * 0.2, cx + h * 0.1, cy + h * 0.05), (212, 170, 60)),
        ]
    elif kind == "key":  # bow with a (dark, not paper) hole, shaft, two teeth opening downwards
        brass = _mix((200, 160, 60), first, 0.2)
        parts = [
            ("rectangle", (cx - h * 0.3, cy - h * 0.1, cx + h * 0.95, cy + h * 0.1), brass),
            ("rectangle", (cx + h * 0.5, cy + h * 0.05, cx + h * 0.62, cy + h * 0.38), brass),
            ("rectangle", (cx + h * 0.76, cy + h * 0.05, cx + h * 0.9, cy + h * 0.3), brass),
            ("ellipse", (cx - h * 0.95, cy - h * 0.4, cx - h * 0.2, cy + h * 0.4), brass),
            ("ellipse", (cx - h * 0.7, cy - h * 0.13, cx - h * 0.45, cy + h * 0.13), ink),
        ]
    elif kind == "book":  # a closed hardback in cavalier projection: cover, page block, spine, title band
        d = h * 0.3
        x0, y0, x1, y1 = cx - h * 0.6, cy - h * 0.75, cx + h * 0.45, cy + h * 0.9
        parts = [
            ("polygon", [(x0, y0), (x0 + d, y0 - d), (x1 + d, y0 - d), (x1, y0)], cream),
            ("polygon", [(x1, y0), (x1 + d, y0 - d), (x1 + d, y1 - d), (x1, y1)], cream),
            ("rectangle", (x0, y0, x1, y1), first),
            ("rectangle", (x0, y0, x0 + h * 0.14, y1), _mix(first, ink, 0.45)),
            ("rectangle", (x0 + h * 0.3, y0 + h * 0.35, x1 - h * 0.15, y0 + h * 0.6), last),
        ]
    elif kind == "bottle":  # body, neck, cap, label
        parts = [
            ("rectangle", (cx - h * 0.14, cy - h * 0.75, cx + h * 0.14, cy - h * 0.1), first),
            ("rectangle", (cx - h * 0.17, cy - h, cx + h * 0.17, cy - h * 0.75), second),
            ("ellipse", (cx - h * 0.45, cy - h * 0.3, cx + h * 0.45, cy + h * 0.1), first),
            ("rectangle", (cx - h * 0.45, cy - h * 0.1, cx + h * 0.45, cy + h), first),
            ("rectangle", (cx - h * 0.45, cy + h * 0.2, cx + h * 0.45, cy + h * 0.55), last),
        ]
    elif kind == "knife":  # a blade pointing up-right from a handle with a guard
        angle = math.radians(-35)
        ux, uy = math.cos(angle), math.sin(angle)  # along the knife
        vx, vy = -uy, ux  # across it

        def at(u: float, v: float) -> tuple[float, float]:
            return cx + (u * ux + v * vx) * h, cy + (u * uy + v * vy) * h

        parts = [
            (
                "polygon",
                [at(-0.95, -0.1), at(-0.35, -0.1), at(-0.35, 0.1), at(-0.95, 0.1)],
                _mix((70, 44, 26), first, 0.3),
            ),
            (
                "polygon",
                [at(-0.35, -0.22), at(-0.25, -0.22), at(-0.25, 0.22), at(-0.35, 0.22)],
                (212, 170, 60),
            ),
            ("polygon", [at(-0.25, -0.13), at(0.75, -0.13), at(1.0, 0.12), at(-0.25, 0.12)], metal),
        ]
    elif kind == "lamp":  # stem, foot, shade
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
    else:  # a box, and the fallback for any object the words do not name: a crate, lid strip varying
        d = size * 0.22
        x0, y0, x1, y1 = cx - h + d / 2, cy - h + d, cx + h - d / 2, cy + h
        band = rng.uniform(0.15, 0.3)
        parts = [
            ("polygon", [(x0, y0), (x0 + d, y0 - d), (x1 + d, y0 - d), (x1, y0)], second),
            ("polygon", [(x1, y0), (x1 + d, y0 - d), (x1 + d, y1 - d), (x1, y1)], last),
            ("rectangle", (x0, y0, x1, y1), first),
            (
                "rectangle",
                (x0, y0 + (y1 - y0) * band, x1, y0 + (y1 - y0) * (band + 0.1)),
                _mix(first, ink, 0.35),
            ),
        ]
    _draw_parts(draw, parts, ink, line)


# --- locations --------------------------------------------------------------------------------------


def _scene(
    width: int, height: int, palette: Sequence[RGB], rng: random.Random, kind: traits.SceneKind
) -> Image.Image:
    """A frame-filling scene of ``kind`` in the palette."""
    by_light = sorted(palette, key=sum)
    if kind == "interior":
        return _interior(width, height, palette, by_light, rng)
    horizon = round(height * rng.uniform(0.5, 0.62))
    img = _sky(width, height, horizon, by_light)
    draw = ImageDraw.Draw(img)
    sun = min(width, height) * 0.08
    sx, sy = width * rng.uniform(0.15, 0.85), horizon * rng.uniform(0.2, 0.5)
    draw.ellipse((sx - sun, sy - sun, sx + sun, sy + sun), fill=(250, 236, 190))
    hills = [(0, horizon)] + [(width * i / 6, horizon - height * rng.uniform(0.04, 0.12)) for i in range(7)]
    draw.polygon([*hills, (width, horizon)], fill=by_light[min(1, len(by_light) - 1)])
    if kind == "waterfront":
        _waterfront(draw, width, height, horizon, palette, by_light, rng)
    elif kind == "nature":
        _nature(draw, width, height, horizon, palette, by_light, rng)
    else:
        _street(draw, width, height, horizon, palette, by_light, rng)
    return img


def _sky(width: int, height: int, horizon: int, by_light: Sequence[RGB]) -> Image.Image:
    sky_top, sky_low = by_light[len(by_light) // 2], by_light[-1]
    ramp = Image.linear_gradient("L").resize((width, horizon))
    img = Image.new("RGB", (width, height), by_light[0])
    img.paste(
        Image.composite(Image.new("RGB", ramp.size, sky_low), Image.new("RGB", ramp.size, sky_top), ramp),
        (0, 0),
    )
    return img


def _street(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    palette: Sequence[RGB],
    by_light: Sequence[RGB],
    rng: random.Random,
) -> None:
    """Lit buildings along the horizon, a road with a dashed centre line."""
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
    mid = horizon + (height - horizon) * 0.55
    dash = width / 14
    for i in range(0, 14, 2):
        draw.rectangle((i * dash, mid - 2, (i + 1) * dash, mid + 2), fill=(230, 210, 120))


def _waterfront(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    palette: Sequence[RGB],
    by_light: Sequence[RGB],
    rng: random.Random,
) -> None:
    """Open water with wave lines, a pier on posts, a lighthouse on the far shore."""
    water = _mix(by_light[min(1, len(by_light) - 1)], (40, 90, 140), 0.5)
    draw.rectangle((0, horizon, width, height), fill=water)
    crest = _mix(water, (255, 255, 255), 0.35)
    for k in range(12):
        y = horizon + (height - horizon) * (k + 0.5) / 12
        x = width * rng.uniform(0, 0.3)
        while x < width:
            length = width * rng.uniform(0.04, 0.1)
            draw.line([(x, y), (x + length, y)], fill=crest, width=max(1, height // 300))
            x += length + width * rng.uniform(0.05, 0.15)
    lx = width * rng.uniform(0.65, 0.85)
    unit = min(width, height)
    draw.polygon(
        [
            (lx - unit * 0.03, horizon),
            (lx - unit * 0.018, horizon - unit * 0.22),
            (lx + unit * 0.018, horizon - unit * 0.22),
            (lx + unit * 0.03, horizon),
        ],
        fill=(236, 232, 224),
    )
    draw.rectangle(
        (lx - unit * 0.03, horizon - unit * 0.14, lx + unit * 0.03, horizon - unit * 0.11), fill=(190, 40, 40)
    )
    draw.rectangle(
        (lx - unit * 0.024, horizon - unit * 0.26, lx + unit * 0.024, horizon - unit * 0.22),
        fill=(250, 220, 140),
    )
    deck = horizon + (height - horizon) * 0.45
    draw.rectangle((0, deck, width * 0.45, deck + height * 0.03), fill=palette[0])
    for k in range(6):
        px = width * 0.45 * (k + 0.5) / 6
        draw.rectangle(
            (px - width * 0.006, deck, px + width * 0.006, height), fill=_mix(palette[0], (0, 0, 0), 0.4)
        )


def _nature(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    horizon: int,
    palette: Sequence[RGB],
    by_light: Sequence[RGB],
    rng: random.Random,
) -> None:
    """A meadow running to the horizon and trees, nearer ones larger."""
    grass = _mix(by_light[0], (60, 120, 50), 0.55)
    draw.rectangle((0, horizon, width, height), fill=grass)
    for k in range(9):
        depth = (k + 1) / 9
        tx = width * rng.uniform(0.03, 0.97)
        base = horizon + (height - horizon) * depth * 0.8
        tall = height * (0.1 + 0.3 * depth)
        trunk = tall * 0.08
        draw.rectangle((tx - trunk, base - tall * 0.45, tx + trunk, base), fill=(90, 60, 36))
        leaf = _mix(palette[k % len(palette)], (40, 110, 50), 0.6)
        draw.polygon(
            [(tx, base - tall), (tx + tall * 0.3, base - tall * 0.3), (tx - tall * 0.3, base - tall * 0.3)],
            fill=leaf,
        )


def _interior(
    width: int, height: int, palette: Sequence[RGB], by_light: Sequence[RGB], rng: random.Random
) -> Image.Image:
    """A room: back wall with a window and a door, floor in perspective, a table, a hanging lamp."""
    wall = by_light[-1] if sum(by_light[-1]) < 600 else _mix(by_light[-1], by_light[0], 0.2)
    img = Image.new("RGB", (width, height), _mix(wall, (0, 0, 0), 0.25))
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = width * 0.14, height * 0.1, width * 0.86, height * 0.68
    draw.rectangle((x0, y0, x1, y1), fill=wall)  # the back wall; the margins are the side walls
    draw.polygon([(0, height), (x0, y1), (x1, y1), (width, height)], fill=by_light[0])
    draw.polygon([(0, 0), (x0, y0), (x1, y0), (width, 0)], fill=_mix(wall, (0, 0, 0), 0.4))
    for k in range(1, 6):  # floorboards converging on the back wall
        fx = width * k / 6
        draw.line(
            [(fx, height), (x0 + (x1 - x0) * k / 6, y1)], fill=_mix(by_light[0], (0, 0, 0), 0.3), width=2
        )
    wx = x0 + (x1 - x0) * rng.uniform(0.1, 0.45)
    ww, wh = (x1 - x0) * 0.3, (y1 - y0) * 0.45
    draw.rectangle(
        (wx, y0 + (y1 - y0) * 0.15, wx + ww, y0 + (y1 - y0) * 0.15 + wh),
        fill=(170, 200, 230),
        outline=palette[0],
        width=max(2, width // 200),
    )
    draw.line(
        [(wx + ww / 2, y0 + (y1 - y0) * 0.15), (wx + ww / 2, y0 + (y1 - y0) * 0.15 + wh)],
        fill=palette[0],
        width=max(2, width // 200),
    )
    dx = x1 - (x1 - x0) * 0.2
    draw.rectangle((dx, y0 + (y1 - y0) * 0.3, dx + (x1 - x0) * 0.12, y1), fill=palette[1 % len(palette)])
    tx, ty = width * rng.uniform(0.35, 0.55), height * 0.72
    draw.rectangle((tx, ty, tx + width * 0.22, ty + height * 0.04), fill=palette[-1])
    for leg in (tx + width * 0.01, tx + width * 0.2):
        draw.rectangle((leg, ty, leg + width * 0.01, ty + height * 0.14), fill=palette[-1])
    lamp_x = width * 0.5
    draw.line([(lamp_x, 0), (lamp_x, height * 0.2)], fill=(30, 30, 30), width=2)
    draw.polygon(
        [
            (lamp_x - width * 0.04, height * 0.26),
            (lamp_x + width * 0.04, height * 0.26),
            (lamp_x + width * 0.015, height * 0.2),
            (lamp_x - width * 0.015, height * 0.2),
        ],
        fill=(250, 220, 140),
    )
    return img


# --- reference images and text ----------------------------------------------------------------------


def _from_reference(data: bytes, width: int, height: int, palette: Sequence[RGB]) -> Image.Image:
    """The reference fitted to the size (centre crop, no stretching) and tinted towards the palette:
    recognisably the same picture, visibly a new take on it."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as src:
            if src.width * src.height > _REFERENCE_MAX_PIXELS:
                raise ValueError(f"reference image of {src.width}x{src.height} pixels is too large")
            src.load()
            rgba = src.convert("RGBA")
    except (OSError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise ValueError(f"reference image cannot be read: {exc}") from exc
    # A cut-out (a previous attempt after background removal) goes back on paper, so the new image
    # has a plain background for removal again rather than black where alpha was.
    flat = Image.new("RGB", rgba.size, _PAPER)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    fitted = ImageOps.fit(flat, (width, height), Image.Resampling.BICUBIC)
    return Image.blend(fitted, Image.new("RGB", (width, height), palette[0]), 0.18)


def _state_text(text: str, name: str) -> str:
    # The framing line of a built prompt ("Character reference sheet of X...") says nothing new.
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and name not in ln]
    return " ".join(lines) or name


def _state_banner(img: Image.Image, text: str, palette: Sequence[RGB]) -> None:
    """The new state written over the top of the picture, on the ink colour."""
    width, height = img.size
    unit = min(width, height)
    size = max(10, round(unit * 0.035))
    font = label_font(size)
    margin = round(unit * 0.03)
    chars = max(8, int((width - 2 * margin) / (size * 0.52)))
    lines = textwrap.wrap(text, chars, max_lines=3, placeholder=" …") or [text[:chars]]
    draw = ImageDraw.Draw(img)
    bottom = margin + len(lines) * size * 1.3 + margin
    draw.rectangle((0, 0, width, bottom), fill=_ink(palette))
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * size * 1.3), line, fill=_PAPER, font=font)


def _label(img: Image.Image, name: str, style: str, palette: Sequence[RGB]) -> None:
    """A dark tag in the bottom band: palette swatches, asset name, style name (and view or shape).

    One solid tag rather than loose text: after background removal loose glyphs would keep the
    paper inside their counters (an "a" or "e" encloses it), leaving light specks on the cut-out.
    """
    width, height = img.size
    unit = min(width, height)
    draw = ImageDraw.Draw(img)
    big_size, small_size = max(12, round(unit * 0.06)), max(10, round(unit * 0.032))
    big, small = label_font(big_size, bold=True), label_font(small_size)
    margin, pad, swatch = round(unit * 0.05), round(unit * 0.02), round(unit * 0.04)
    while draw.textlength(name, font=big) > width - 2 * (margin + pad) and len(name) > 4:
        name = name[:-4] + "…"  # the full name is in the API; the picture only needs to be recognisable
    while draw.textlength(style, font=small) > width - 2 * (margin + pad) and len(style) > 4:
        style = style[:-4] + "…"
    text_width = max(draw.textlength(name, font=big), draw.textlength(style, font=small), 8 * swatch)
    bottom = height - margin
    top = bottom - (swatch * 1.4 + big_size * 1.35 + small_size * 1.4)
    ink = _ink(palette)
    draw.rounded_rectangle(
        (margin - pad, top - pad, margin + text_width + pad, bottom + pad), radius=pad, fill=ink
    )
    for i, colour in enumerate(palette[:8]):
        x = margin + i * (swatch + swatch // 4)
        draw.rectangle((x, top, x + swatch, top + swatch), fill=colour, outline=_PAPER)
    draw.text((margin, top + swatch * 1.4), name, fill=_PAPER, font=big)
    draw.text((margin, top + swatch * 1.4 + big_size * 1.35), style, fill=_PAPER, font=small)
