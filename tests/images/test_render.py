"""The offline renderer and provider: deterministic, exact, styled, and usable by background removal."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image, ImageChops

from shared.images.background import remove_background
from shared.images.processing import sniff_format
from shared.images.providers.base import ImageProviderError, ImageRequest
from shared.images.providers.offline import OfflineImageProvider
from shared.images.render import render_placeholder

NOIR = ["#1b1b2f", "#e43f5a", "#f7d08a", "#3a506b"]
REQUEST = ImageRequest(
    prompt="a weary detective in a trench coat",
    width=1024,
    height=1536,
    asset_name="Mara Quinn",
    asset_type="character",
    style_name="Neo noir",
    style_palette=NOIR,
    seed=7,
)


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def differs(a: bytes, b: bytes) -> bool:
    return ImageChops.difference(decode(a).convert("RGB"), decode(b).convert("RGB")).getbbox() is not None


def test_same_request_gives_same_bytes() -> None:
    assert render_placeholder(REQUEST) == render_placeholder(dataclasses.replace(REQUEST))


@pytest.mark.parametrize("asset_type", ["character", "prop", "extra_archetype", "location"])
@pytest.mark.parametrize("size", [(1024, 1536), (1824, 1024), (1000, 700), (64, 64)])
def test_exact_requested_size_as_png(asset_type: str, size: tuple[int, int]) -> None:
    request = dataclasses.replace(REQUEST, asset_type=asset_type, width=size[0], height=size[1])
    data = render_placeholder(request)
    assert sniff_format(data) == "png"
    assert decode(data).size == size


def test_palette_changes_the_image() -> None:
    other = dataclasses.replace(REQUEST, style_palette=["#2e8b57", "#f4a460", "#4682b4"])
    assert differs(render_placeholder(REQUEST), render_placeholder(other))


def test_palette_colours_appear_in_the_image() -> None:
    colours = {
        colour for _, colour in decode(render_placeholder(REQUEST)).convert("RGB").getcolors(1 << 16) or []
    }
    for hex_colour in NOIR:
        assert tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)) in colours


def test_without_palette_the_style_name_picks_the_colours() -> None:
    bare = dataclasses.replace(REQUEST, style_palette=[])
    assert render_placeholder(bare) == render_placeholder(bare)
    assert differs(
        render_placeholder(bare), render_placeholder(dataclasses.replace(bare, style_name="Pastel"))
    )


def test_seed_and_prompt_vary_the_drawing() -> None:
    assert render_placeholder(REQUEST) != render_placeholder(dataclasses.replace(REQUEST, seed=8))
    assert render_placeholder(REQUEST) != render_placeholder(dataclasses.replace(REQUEST, prompt="other"))


def test_character_background_comes_off_and_the_figure_stays() -> None:
    alpha = remove_background(decode(render_placeholder(REQUEST))).getchannel("A")
    for corner in ((0, 0), (1023, 0), (0, 1535), (1023, 1535)):
        assert alpha.getpixel(corner) == 0
    assert alpha.getpixel((512, 450)) == 255  # the torso
    assert alpha.getpixel((512, 180)) == 255  # the head


@pytest.mark.parametrize("asset_type", ["prop", "extra_archetype"])
def test_subject_types_sit_on_a_removable_background(asset_type: str) -> None:
    out = remove_background(decode(render_placeholder(dataclasses.replace(REQUEST, asset_type=asset_type))))
    alpha = out.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0
    transparent = alpha.histogram()[0] / (out.width * out.height)
    assert 0.3 < transparent < 0.98  # most of the frame is background, and a subject remains


def test_location_fills_the_frame() -> None:
    request = dataclasses.replace(REQUEST, asset_type="location", width=1824, height=1024)
    out = remove_background(decode(render_placeholder(request)))
    assert out.getchannel("A").getextrema() == (255, 255)  # a scene, not a subject on paper


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        render_placeholder(dataclasses.replace(REQUEST, width=0))


async def test_offline_provider_generates_for_free() -> None:
    provider = OfflineImageProvider()
    image = await provider.generate(REQUEST)
    await provider.aclose()
    assert (image.provider, image.model, image.cost_usd) == ("offline", "offline-pillow-1", 0.0)
    assert (image.mime, image.width, image.height) == ("image/png", 1024, 1536)
    assert image.data == render_placeholder(REQUEST)


async def test_offline_provider_reports_bad_requests_as_permanent() -> None:
    with pytest.raises(ImageProviderError) as info:
        await OfflineImageProvider().generate(dataclasses.replace(REQUEST, height=100_000))
    assert info.value.transient is False
