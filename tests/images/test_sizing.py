"""Generated image sizes by asset type and project aspect ratio."""

from __future__ import annotations

import pytest

from shared.images.sizing import ASPECT_RATIOS, size_for

TABLE = {
    "character": {r: (1024, 1536) for r in ASPECT_RATIOS},
    "extra_archetype": {r: (1024, 1536) for r in ASPECT_RATIOS},
    "prop": {r: (1024, 1024) for r in ASPECT_RATIOS},
    "location": {
        "16:9": (1824, 1024),
        "9:16": (1024, 1824),
        "1:1": (1024, 1024),
        "4:3": (1360, 1024),
        "2.35:1": (2400, 1024),
    },
}


@pytest.mark.parametrize("asset_type", list(TABLE))
@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
def test_size_table(asset_type: str, ratio: str) -> None:
    width, height = size_for(asset_type, ratio)
    assert (width, height) == TABLE[asset_type][ratio]
    assert width % 16 == 0
    assert height % 16 == 0
    assert min(width, height) == 1024  # the short side is the base


@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
def test_location_follows_the_project_ratio(ratio: str) -> None:
    width, height = size_for("location", ratio)
    ratio_w, ratio_h = (float(part) for part in ratio.split(":"))
    assert width / height == pytest.approx(ratio_w / ratio_h, rel=0.01)


def test_base_scales_every_size() -> None:
    assert size_for("character", "16:9", base=512) == (512, 768)
    assert size_for("location", "16:9", base=768) == (1360, 768)


@pytest.mark.parametrize(
    ("asset_type", "ratio", "base"),
    [
        ("vehicle", "16:9", 1024),
        ("character", "21:9", 1024),
        ("location", "", 1024),
        ("prop", "1:1", 1000),
        ("prop", "1:1", 0),
    ],
)
def test_unknown_inputs_are_refused(asset_type: str, ratio: str, base: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by which input is wrong
        size_for(asset_type, ratio, base=base)


def test_ratios_match_the_projects_table() -> None:
    models = pytest.importorskip("shared.models")
    assert tuple(models.ASPECT_RATIOS) == ASPECT_RATIOS
