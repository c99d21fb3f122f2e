"""Offline placeholders a person can tell apart: described colours, turned views, prop shapes,
real glyphs for any name, and edits that visibly derive from a reference image.

Requests are built the way the generation job builds them (``image_request`` over a real asset and
style), so the renderer is tested on the prompts it will really read.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

from shared.attempts.generation import image_request
from shared.images.background import remove_background
from shared.images.providers.base import ImageProviderError, ImageRequest
from shared.images.providers.offline import OfflineImageProvider
from shared.images.render import label_font, render_placeholder
from shared.images.traits import COLOURS, prop_kind, scene_kind, view_of
from shared.models import ProjectAsset
from shared.styles.schemas import StyleSnapshot

NOIR = StyleSnapshot(
    source="manual",
    capsule_id=None,
    name="Neo noir",
    prompt_fragment="high-contrast noir, deep shadows, red accents",
    negative_fragment="",
    palette=["#1b1b2f", "#e43f5a", "#f7d08a", "#3a506b"],
)
PAPER = (242, 240, 235)
VIEWS = ("front", "side", "three-quarter", "back")
MARA = "A weary detective with long red hair, a yellow oilskin coat and black trousers."
SAILOR = "An old sailor with short white hair, a navy jacket and blue jeans."


def request(
    name: str,
    description: str = "",
    *,
    kind: str = "character",
    view: str | None = None,
    size: tuple[int, int] = (512, 768),
    seed: int = 7,
) -> ImageRequest:
    asset = ProjectAsset(id=uuid.uuid4(), name=name, type=kind, description=description, image_prompt=None)
    return image_request(asset, NOIR, view=view, size=size, seed=seed)


def render(req: ImageRequest) -> Image.Image:
    img = Image.open(io.BytesIO(render_placeholder(req)))
    img.load()
    return img.convert("RGB")


def subject(img: Image.Image) -> Image.Image:
    """The frame above the name tag: the part that shows the asset itself."""
    return img.crop((0, 0, img.width, round(img.height * 0.76)))


def ink_mask(img: Image.Image) -> Image.Image:
    """1 where the pixel is not the paper: the silhouette of what is drawn."""
    diff = ImageChops.difference(img, Image.new("RGB", img.size, PAPER)).convert("L")
    return diff.point(lambda v: 255 if v > 12 else 0).convert("1")


def iou(a: Image.Image, b: Image.Image) -> float:
    both = ImageChops.logical_and(a, b).histogram()[255]
    either = ImageChops.logical_or(a, b).histogram()[255]
    return both / either


def pixels(img: Image.Image) -> list[tuple[int, ...]]:
    """Pixel tuples read from the raw bytes (typed, unlike ``getdata``)."""
    data, bands = img.tobytes(), len(img.getbands())
    return [tuple(data[i : i + bands]) for i in range(0, len(data), bands)]


def dominant(img: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    return Counter(pixels(img.crop(box))).most_common(1)[0][0]


def opaque_paper(cut: Image.Image) -> int:
    """Pixels of the paper colour that background removal kept: a pocket the drawing enclosed.

    Exact paper only (a described white shirt is a different, enclosed colour and rightly stays).
    """
    return sum(
        1
        for r, g, b, a in pixels(cut)
        if a == 255 and max(abs(r - PAPER[0]), abs(g - PAPER[1]), abs(b - PAPER[2])) <= 4
    )


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two greyscale images' pixels (resized to the same small grid)."""
    xs = list(a.convert("L").resize((48, 64)).tobytes())
    ys = list(b.convert("L").resize((48, 64)).tobytes())
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return cov / (sx * sy)


# --- characters ---------------------------------------------------------------------------------


def test_the_described_coat_and_trousers_are_worn() -> None:
    img = render(request("Mara Quinn", MARA))
    # The torso sits around a third of the way down, the legs around two thirds.
    assert dominant(img, (206, 250, 306, 300)) == COLOURS["yellow"]
    assert dominant(img, (206, 480, 306, 520)) == COLOURS["black"]
    sailor = render(request("Old Tom", SAILOR))
    assert dominant(sailor, (206, 250, 306, 300)) == COLOURS["navy"]
    assert dominant(sailor, (206, 480, 306, 520)) == COLOURS["blue"]


def test_two_characters_with_different_descriptions_look_different() -> None:
    mara, sailor = (
        subject(render(request("Mara Quinn", MARA))),
        subject(render(request("Mara Quinn", SAILOR))),
    )
    mean_mara, mean_sailor = ImageStat.Stat(mara).mean, ImageStat.Stat(sailor).mean
    # Yellow coat against navy: the blue channel alone moves by tens of levels over the whole frame.
    assert abs(mean_mara[2] - mean_sailor[2]) > 10
    assert mean_difference(mara, sailor) > 8


def test_undescribed_characters_differ_by_name_and_keep_their_look_across_seeds() -> None:
    def palette_of(img: Image.Image) -> set[tuple[int, ...]]:
        counts = Counter(pixels(subject(img)))
        return {c for c, _ in counts.most_common(6)}

    mara, tom = render(request("Mara Quinn")), render(request("Tom Hale"))
    assert mean_difference(subject(mara), subject(tom)) > 3
    assert palette_of(mara) != palette_of(tom)
    # Another seed is another take (the pose moves), not another person (the colours stay).
    again = render(request("Mara Quinn", seed=8))
    assert mean_difference(mara, again) > 0
    assert palette_of(mara) == palette_of(again)


def test_the_four_views_are_visibly_turned() -> None:
    views = {view: render(request("Mara Quinn", MARA, view=view)) for view in VIEWS}
    for a, b in itertools.combinations(VIEWS, 2):
        assert mean_difference(subject(views[a]), subject(views[b])) > 2, (a, b)
        assert iou(ink_mask(subject(views[a])), ink_mask(subject(views[b]))) < 0.93, (a, b)

    # Across the chest, a profile is much narrower than the figure seen from the front or back.
    def chest_width(img: Image.Image) -> int:
        return ink_mask(img.crop((0, 220, img.width, 221))).histogram()[255]

    assert chest_width(views["side"]) < 0.7 * chest_width(views["front"])
    assert chest_width(views["front"]) == pytest.approx(chest_width(views["back"]), rel=0.05)
    # Front and back: the face, or the back of the head covered in the described red hair.
    face = (236, 130, 276, 138)  # between the eyes and the mouth
    assert dominant(views["front"], face) != COLOURS["red"]
    assert dominant(views["back"], face) == COLOURS["red"]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(
    "description",
    [
        MARA + " Round glasses, a grey beard.",
        "A tall man in a long grey coat and a black fedora, bald.",
        "A girl with a blonde ponytail in a pink dress.",
        "",
    ],
)
def test_every_view_cuts_out_cleanly(view: str, description: str) -> None:
    """No pocket of paper enclosed by the drawing: background removal would keep it as a light speck."""
    out = remove_background(render(request("Mara Quinn", description, view=view)))
    top = out.crop((0, 0, out.width, round(out.height * 0.76)))
    alpha = top.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0
    assert opaque_paper(top) == 0


def test_the_view_line_wins_over_words_in_the_description() -> None:
    attacked = "A guard, attacked from behind, falls.\nFront view, facing the camera.\nVisual style: noir."
    assert view_of(attacked) == "front"
    assert view_of("A guard seen from behind") == "back"  # a free-form prompt still says it
    assert view_of(request("Guard", "Attacked from behind.", view="side").prompt) == "side"


def test_concurrent_renders_give_the_same_bytes() -> None:
    """Fonts are cached per thread; renders in parallel threads must not disturb each other."""
    requests = [request("Comédie Française", MARA, view=view) for view in VIEWS] * 3
    alone = [render_placeholder(r) for r in requests]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(render_placeholder, requests)) == alone


# --- props ----------------------------------------------------------------------------------------

PROPS = ["Phone", "Revolver", "Letter", "Briefcase", "Key", "Diary", "Whisky bottle", "Knife", "Lamp"]


def prop_mask(name: str, description: str = "") -> Image.Image:
    img = render(request(name, description, kind="prop", size=(512, 512)))
    return ink_mask(img.crop((0, 0, 512, 368)))  # above the name tag


def test_props_have_the_silhouette_their_name_says() -> None:
    masks = {name: prop_mask(name) for name in PROPS}
    for a, b in itertools.combinations(PROPS, 2):
        assert iou(masks[a], masks[b]) < 0.8, (a, b)
    for name, mask in masks.items():
        bbox = mask.getbbox()
        assert bbox is not None, name
        x0, y0, x1, y1 = bbox
        tall = (y1 - y0) / (x1 - x0)
        if name in ("Phone", "Whisky bottle", "Lamp"):
            assert tall > 1.2, name  # upright objects
        if name in ("Revolver", "Letter", "Briefcase", "Key"):
            assert tall < 0.95, name  # lying objects


@pytest.mark.parametrize(
    ("name", "description", "kind"),
    [
        ("Phone", "", "phone"),
        ("Mara's smartphone", "", "phone"),
        ("Phone case", "", "box"),  # the head noun is last in a name
        ("Letter opener", "A silver blade with an ivory handle.", "letter"),
        ("Exhibit 4", "A cracked mobile phone in a plastic bag.", "phone"),  # the subject comes first
        ("Exhibit 5", "An old Colt revolver, loaded.", "gun"),
        ("The Ledger", "", "book"),
        ("Gizmo", "A strange humming device.", "box"),  # nothing named: the generic fallback
    ],
)
def test_prop_kind_is_read_from_name_then_description(name: str, description: str, kind: str) -> None:
    assert prop_kind(name, description) == kind


def test_prop_named_in_the_description_is_drawn_as_such() -> None:
    assert iou(prop_mask("Exhibit 4", "A cracked mobile phone."), prop_mask("Phone")) > 0.6
    assert iou(prop_mask("Exhibit 4", "A cracked mobile phone."), prop_mask("Lamp")) < 0.5


@pytest.mark.parametrize("name", PROPS)
def test_every_prop_cuts_out_cleanly(name: str) -> None:
    out = remove_background(render(request(name, kind="prop", size=(512, 512))))
    top = out.crop((0, 0, out.width, round(out.height * 0.72)))
    assert opaque_paper(top) == 0


# --- locations and extras -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Harbour", "waterfront"),
        ("INT. Kitchen - night", "interior"),
        ("Pine Forest", "nature"),
        ("Main St", "street"),
    ],
)
def test_scene_kind_from_the_name(name: str, kind: str) -> None:
    assert scene_kind(name, "") == kind


def test_scene_kinds_look_different() -> None:
    names = ["Harbour", "Kitchen", "Pine Forest", "Main St"]
    scenes = {n: render(request(n, kind="location", size=(912, 512), seed=1)) for n in names}
    for a, b in itertools.combinations(names, 2):
        assert mean_difference(scenes[a], scenes[b]) > 15, (a, b)


@pytest.mark.parametrize("name", ["Dock workers", "Commuters", "Nurses"])
def test_extras_cut_out_cleanly(name: str) -> None:
    out = remove_background(render(request(name, kind="extra_archetype")))
    assert opaque_paper(out.crop((0, 0, out.width, round(out.height * 0.76)))) == 0


def test_extras_are_a_group() -> None:
    img = render(request("Dock workers", "Dock workers in orange overalls.", kind="extra_archetype"))
    mask = ink_mask(subject(img))
    # Count the separate figures along a row through the front row's torsos.
    row = [mask.getpixel((x, 420)) for x in range(img.width)]
    runs = sum(1 for a, b in itertools.pairwise([0, *row]) if b and not a)
    assert runs >= 2
    assert Counter(pixels(subject(img)))[COLOURS["orange"]] > 1000


# --- names in any script -----------------------------------------------------------------------------


def glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> bytes:
    mask = font.getmask(char)
    return bytes(mask) + str(mask.size).encode()


def test_accented_and_non_latin_names_render_as_distinct_glyphs() -> None:
    font = label_font(40, bold=True)
    name = "Comédie Française Ωμέγα Жизнь Đặng"
    chars = sorted(set(name) - {" "})
    bitmaps = {c: glyph(font, c) for c in chars}
    missing = glyph(font, "\ue000")  # a private-use code point no font has: the .notdef box
    assert all(bitmaps[c] != missing for c in chars), [c for c in chars if bitmaps[c] == missing]
    assert len(set(bitmaps.values())) == len(chars)  # every letter its own shape, no shared box


def test_the_name_tag_shows_the_letters() -> None:
    from shared.images import render as module

    def tag(name: str) -> Image.Image:
        img = Image.new("RGB", (512, 512), PAPER)
        module._label(img, name, "Neo noir", [(27, 27, 47), (228, 63, 90)])
        return img.crop((0, 380, 512, 512))

    boxes = tag("\ue000" * 5)
    for name in ("Ωμέγα", "Жизнь", "Éçàîõ"):
        assert mean_difference(tag(name), boxes) > 1, name
    assert mean_difference(tag("Ωμέγα"), tag("Жизнь")) > 1


# --- reference images -------------------------------------------------------------------------------


def photo(size: tuple[int, int]) -> bytes:
    """A reference with structure at every scale: a diagonal ramp, a dark disc, a bright bar."""
    img = Image.linear_gradient("L").rotate(30, expand=False).resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.3, w * 0.5, h * 0.6), fill=(20, 20, 60))
    draw.rectangle((w * 0.6, h * 0.15, w * 0.8, h * 0.7), fill=(250, 230, 120))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_a_reference_makes_the_output_derive_from_it() -> None:
    ref = photo((800, 1200))
    plain = request("Mara Quinn", "Soaked by rain, the coat torn at the sleeve.")
    edited = dataclasses.replace(plain, reference=ref)
    out, without = render(edited), render(plain)
    reference = Image.open(io.BytesIO(ref)).convert("RGB").resize(out.size)
    # The middle band: below the state banner, above the name tag.
    band = (0, round(out.height * 0.15), out.width, round(out.height * 0.75))
    assert correlation(out.crop(band), reference.crop(band)) > 0.9
    assert abs(correlation(without.crop(band), reference.crop(band))) < 0.5
    assert render_placeholder(edited) == render_placeholder(dataclasses.replace(edited))
    assert render_placeholder(edited) != render_placeholder(
        dataclasses.replace(edited, reference=photo((600, 600)))
    )


def test_a_transparent_reference_goes_back_on_paper() -> None:
    cut = remove_background(render(request("Mara Quinn", MARA)))
    buf = io.BytesIO()
    cut.save(buf, "PNG")
    out = render(dataclasses.replace(request("Mara Quinn", "Now in the rain."), reference=buf.getvalue()))
    # A plain light background (tinted), not black where the cut-out was transparent: it cuts out again.
    corner = out.getpixel((5, out.height // 2))
    assert isinstance(corner, tuple)
    assert min(corner) > 150
    assert remove_background(out).getchannel("A").getpixel((5, out.height // 2)) == 0


async def test_an_unreadable_reference_is_a_permanent_provider_error() -> None:
    req = dataclasses.replace(request("Mara Quinn"), reference=b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageProviderError) as info:
        await OfflineImageProvider().generate(req)
    assert (info.value.transient, info.value.code) == (False, "invalid_image_request")
