"""Cutting an isolated subject out of a plain background (characters, props, extras).

The prompt asks the provider for an isolated subject on a plain background; this turns that
background transparent. Only what is certainly background goes: pixels close to the border colour
*and* connected to the border, so a white shirt or the sky seen through a window stays opaque.
The band where anti-aliasing blended subject and background gets partial alpha and the subject's own
colour, so the cut-out shows no light fringe when composited over something dark.

Pure Pillow: per-pixel work happens in C (ImageChops, filters, ImageMath); the only Python loop is the
flood fill, which walks runs of pixels rather than pixels.
"""

from __future__ import annotations

from typing import Final

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageStat

Colour = tuple[int, int, int]

# Share of border pixels that must be within tolerance of the median border colour. A subject may
# touch the frame (feet cut off at the bottom edge take at most ~20% of a 2:3 frame's perimeter);
# a photo or a painted scene has sky, ground and walls along its border and falls well below this.
_MIN_UNIFORM_BORDER: Final = 0.75
# If the fill leaves less than this share of the frame, there is no subject to isolate: keep it all.
_MIN_SUBJECT: Final = 0.002
# Width of the band of subject pixels that may be blends: renderers anti-alias over 1-2 px.
_EDGE: Final = 2
# How far a blended pixel looks inward for "pure" subject colour.
_REACH: Final = 3
_SEEN: Final = 0x80  # flood-fill mark: background candidate reached from the border


def remove_background(img: Image.Image, *, tolerance: int = 24) -> Image.Image:
    """Return an RGBA copy whose border-connected, near-uniform background is transparent.

    ``tolerance`` is the largest per-channel difference (0-255) from the background colour that still
    counts as background. If the border is not near-uniform, the image comes back unchanged (RGBA,
    with whatever alpha it already had).
    """
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    bg = _background_colour(rgb, tolerance)
    if bg is None:
        return _as_rgba(img)
    dist = _distance(rgb, bg)
    background = fill_from_border(dist.point(_within(tolerance)))
    if background.histogram()[0] < _MIN_SUBJECT * rgb.width * rgb.height:
        return _as_rgba(img)
    colour, alpha = _soften_edge(rgb, dist, background, bg, tolerance)
    if img.has_transparency_data:
        alpha = ImageChops.darker(alpha, img.convert("RGBA").getchannel("A"))
    colour.putalpha(alpha)
    return colour


def _as_rgba(img: Image.Image) -> Image.Image:
    return img.copy() if img.mode == "RGBA" else img.convert("RGBA")


def _within(tolerance: int) -> list[int]:
    return [255 if v <= tolerance else 0 for v in range(256)]


def _distance(rgb: Image.Image, colour: Colour) -> Image.Image:
    """Per-pixel Chebyshev distance (largest channel difference) to ``colour``, as an L image."""
    red, green, blue = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour)).split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def _background_colour(rgb: Image.Image, tolerance: int) -> Colour | None:
    """The median colour of the 1-px frame border, or ``None`` if the border is not near-uniform."""
    width, height = rgb.size
    strip = Image.new("RGB", (2 * (width + height), 1))
    strip.paste(rgb.crop((0, 0, width, 1)), (0, 0))
    strip.paste(rgb.crop((0, height - 1, width, height)), (width, 0))
    strip.paste(rgb.crop((0, 0, 1, height)).transpose(Image.Transpose.TRANSPOSE), (2 * width, 0))
    strip.paste(
        rgb.crop((width - 1, 0, width, height)).transpose(Image.Transpose.TRANSPOSE), (2 * width + height, 0)
    )
    # The median, not the mean: a subject touching the frame must not drag the estimate towards it.
    red, green, blue = (int(v) for v in ImageStat.Stat(strip).median)
    bg = (red, green, blue)
    close = _distance(strip, bg).point(_within(tolerance)).histogram()[255]
    return bg if close >= _MIN_UNIFORM_BORDER * strip.width else None


def fill_from_border(candidates: Image.Image) -> Image.Image:
    """Scanline flood fill (4-connected) of 255-pixels reachable from the frame; returns a 0/255 mask.

    ImageDraw.floodfill visits pixels one by one in Python (seconds on 1.5 MP); here every step claims
    a whole horizontal run with bytearray.find/rfind and one slice assignment, so the cost follows the
    number of runs (a few per row), not the number of pixels.
    """
    width, height = candidates.size
    buf = bytearray(candidates.tobytes())
    mark = memoryview(bytes([_SEEN]) * width)
    runs: list[tuple[int, int]] = []

    def claim(pos: int) -> int:
        """Mark the unseen run containing ``pos``; return the index just past its end."""
        row_start = pos - pos % width
        row_end = row_start + width
        found = buf.rfind(0, row_start, pos)
        left = row_start if found < 0 else found + 1
        right = buf.find(0, pos, row_end)
        right = row_end if right < 0 else right
        buf[left:right] = mark[: right - left]
        runs.append((left, right))
        return right

    def claim_all(start: int, end: int) -> None:
        pos = buf.find(255, start, end)
        while pos >= 0:
            pos = buf.find(255, claim(pos), end)

    last_row = (height - 1) * width
    claim_all(0, width)
    claim_all(last_row, last_row + width)
    for row in range(0, last_row + 1, width):
        claim_all(row, row + 1)
        claim_all(row + width - 1, row + width)
    while runs:
        left, right = runs.pop()
        if left >= width:
            claim_all(left - width, right - width)
        if left < last_row:
            claim_all(left + width, right + width)
    return Image.frombytes("L", candidates.size, bytes(buf)).point(
        [255 if v == _SEEN else 0 for v in range(256)]
    )


def _dilate(mask: Image.Image, radius: int) -> Image.Image:
    # A box blur is O(1) per pixel whatever the radius, unlike MaxFilter; any non-zero means "near".
    return mask.filter(ImageFilter.BoxBlur(radius)).point([0] + [255] * 255)


def _soften_edge(
    rgb: Image.Image, dist: Image.Image, background: Image.Image, bg: Colour, tolerance: int
) -> tuple[Image.Image, Image.Image]:
    """Colour and alpha for the cut-out: opaque subject, transparent background, and a blended band.

    A band pixel P is modelled as a * F + (1 - a) * bg, with F the subject colour nearby (the mean of
    the solid subject pixels within ``_REACH``). Along that line a = dist(P, bg) / dist(F, bg), and the
    decontaminated colour is F itself, so no trace of the background's colour is left at the edge.
    """
    near_bg = _dilate(background, _EDGE)
    band = ImageChops.subtract(near_bg, background)
    alpha = ImageChops.invert(background)
    if band.getbbox() is None:
        return rgb.copy(), alpha
    solid = ImageChops.invert(near_bg)
    weight = solid.filter(ImageFilter.BoxBlur(_REACH))
    summed = Image.composite(rgb, Image.new("RGB", rgb.size), solid).filter(ImageFilter.BoxBlur(_REACH))
    # Normalised convolution: the blurred masked colour over the blurred mask is the local mean of
    # the solid pixels only. ImageMath divides in float; x/0 gives 0 where no solid pixel is near.
    local = Image.merge(
        "RGB",
        [
            ImageMath.lambda_eval(
                lambda e: e["convert"](e["float"](e["s"]) * 255 / e["w"], "L"), s=band_img, w=weight
            )
            for band_img in summed.split()
        ],
    )
    local_dist = _distance(local, bg)
    blend_alpha = ImageMath.lambda_eval(
        lambda e: e["convert"](e["float"](e["d"]) * 255 / e["f"], "L"), d=dist, f=local_dist
    )
    # Where no solid pixel is near (1-2 px strands) or the subject colour is itself close to the
    # background, the blend cannot be separated: those pixels stay as they are, opaque.
    separable = ImageChops.darker(
        weight.point([0] + [255] * 255), local_dist.point([0 if v <= tolerance else 255 for v in range(256)])
    )
    blended = ImageChops.darker(band, separable)
    colour = Image.composite(local, rgb, blended)
    return colour, Image.composite(blend_alpha, alpha, blended)
