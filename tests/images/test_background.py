"""Background removal: plain backgrounds go, subjects and enclosed regions stay, edges carry no halo."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw

from shared.images.background import remove_background

SIZE = (600, 800)
PAPER = (245, 245, 242)
RED = (210, 25, 30)


def noisy_paper(size: tuple[int, int] = SIZE) -> Image.Image:
    """Near-white with sensor-like noise (sigma 4), well inside the default tolerance."""
    noise = Image.effect_noise(size, 4)
    offsets = [ImageChops.add(Image.new("L", size, level), noise, 1, -128) for level in PAPER]
    return Image.merge("RGB", offsets)


def with_shape(background: Image.Image, draw_shape: str, box: tuple[int, int, int, int]) -> Image.Image:
    """``background`` with a red shape drawn anti-aliased (4x supersampled, as renderers do)."""
    scale = 4
    big = Image.new("L", (background.width * scale, background.height * scale), 0)
    getattr(ImageDraw.Draw(big), draw_shape)(tuple(v * scale for v in box), fill=255)
    coverage = big.resize(background.size, Image.Resampling.BOX)
    return Image.composite(Image.new("RGB", background.size, RED), background, coverage)


def alpha_at(img: Image.Image, xy: tuple[int, int]) -> int:
    value = img.getpixel(xy)
    assert isinstance(value, tuple)
    return int(value[3])


def test_disc_on_noisy_paper_loses_its_background_without_halo() -> None:
    out = remove_background(with_shape(noisy_paper(), "ellipse", (150, 250, 450, 550)))
    assert out.mode == "RGBA"
    assert out.size == SIZE
    for corner in ((0, 0), (599, 0), (0, 799), (599, 799), (20, 400)):
        assert alpha_at(out, corner) == 0
    assert alpha_at(out, (300, 400)) == 255
    # Every pixel that shows at all is the subject's red: a light fringe left by the paper would be
    # a visible pixel with all channels high. There must also be soft (partial) edge pixels.
    partial = 0
    for red, green, blue, alpha in out.get_flattened_data():  # type: ignore[misc]
        if alpha:
            assert min(red, green, blue) < 150, (red, green, blue, alpha)
            partial += alpha < 255
    assert partial > 100


def test_composited_on_black_the_edge_is_not_lighter_than_the_subject() -> None:
    out = remove_background(with_shape(noisy_paper(), "ellipse", (150, 250, 450, 550)))
    shown = Image.alpha_composite(Image.new("RGBA", SIZE, (0, 0, 0, 255)), out).convert("RGB")
    # Red on black has near-zero green and blue everywhere; a paper halo would light them up.
    (_, red_max), (_, green_max), (_, blue_max) = shown.getextrema()  # type: ignore[misc]
    assert red_max > 200
    assert green_max < 60
    assert blue_max < 60


def test_interior_region_of_background_colour_stays_opaque() -> None:
    ring = with_shape(noisy_paper(), "ellipse", (100, 200, 500, 600))
    ImageDraw.Draw(ring).ellipse((220, 320, 380, 480), fill=PAPER)  # the hole of a donut
    out = remove_background(ring)
    assert alpha_at(out, (300, 400)) == 255  # enclosed: not connected to the border
    assert alpha_at(out, (10, 10)) == 0


def test_subject_touching_the_frame_edge_still_works() -> None:
    # A figure cut off by the bottom edge covers part of the border; the rest is still paper.
    out = remove_background(with_shape(noisy_paper(), "rectangle", (200, 300, 400, 800)))
    assert alpha_at(out, (10, 10)) == 0
    assert alpha_at(out, (300, 799)) == 255
    assert alpha_at(out, (300, 500)) == 255


def test_non_uniform_border_is_left_opaque_and_unchanged() -> None:
    ramp = Image.linear_gradient("L").resize(SIZE)
    photo = Image.merge(
        "RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_180), Image.effect_noise(SIZE, 40))
    )
    out = remove_background(photo)
    assert out.mode == "RGBA"
    assert out.getchannel("A").getextrema() == (255, 255)
    assert ImageChops.difference(out.convert("RGB"), photo).getbbox() is None


def test_blank_frame_is_not_erased() -> None:
    out = remove_background(noisy_paper())
    assert out.getchannel("A").getextrema() == (255, 255)


def test_existing_transparency_is_kept() -> None:
    img = with_shape(noisy_paper(), "rectangle", (150, 200, 450, 600)).convert("RGBA")
    ImageDraw.Draw(img).rectangle((280, 380, 320, 420), fill=(*RED, 0))  # a hole already cut
    out = remove_background(img)
    assert alpha_at(out, (300, 400)) == 0
    assert alpha_at(out, (200, 250)) == 255
    assert alpha_at(out, (5, 5)) == 0


def test_tolerance_decides_what_counts_as_background() -> None:
    img = with_shape(noisy_paper(), "ellipse", (350, 300, 550, 500))
    ImageDraw.Draw(img).rectangle((50, 300, 250, 500), fill=(215, 215, 212))  # 30 levels darker
    assert alpha_at(remove_background(img, tolerance=8), (150, 400)) == 255
    assert alpha_at(remove_background(img, tolerance=40), (150, 400)) == 0
    assert alpha_at(remove_background(img, tolerance=40), (450, 400)) == 255
