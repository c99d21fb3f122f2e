"""Refusing uploads at the door: format and dimensions from the header, nothing decoded."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from shared.images.processing import ImageRejected, probe_header


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A 10x10 PNG whose IHDR (CRC fixed up) claims ``width`` x ``height``."""
    data = bytearray(encode(Image.new("L", (10, 10)), "PNG"))
    ihdr = 8 + 8  # signature, then length + type of the first chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small baseline JPEG whose SOF0 segment claims ``width`` x ``height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    # FFC0, length (2), precision (1), then height and width, big-endian.
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """A lossless (VP8L) WebP whose bitstream header claims ``width`` x ``height`` (14 bits each)."""
    data = bytearray(encode(Image.new("RGBA", (16, 16), (0, 0, 255, 128)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    assert data[20] == 0x2F
    # After the 0x2f signature, 32 bits little-endian: width-1 (14), height-1 (14), alpha (1), version (3).
    bits = int.from_bytes(data[21:25], "little")
    bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any pixel decoding fails the test: the probe must get by on the header."""

    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def refused(data: bytes, **kwargs: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        probe_header(data, **kwargs)
    return info.value


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize(
    ("fmt", "params"), [("PNG", {}), ("JPEG", {"quality": 80}), ("WEBP", {}), ("WEBP", {"lossless": True})]
)
def test_good_files_give_format_and_size(fmt: str, params: dict[str, object]) -> None:
    data = encode(Image.new("RGB", (640, 360), (10, 120, 200)), fmt, **params)
    assert probe_header(data) == (fmt.lower(), 640, 360)


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize(
    "bomb",
    [png_declaring(100_000, 100_000), jpeg_declaring(65_000, 65_000), webp_declaring(16_000, 16_000)],
    ids=["png-100000x100000", "jpeg-65000x65000", "webp-16000x16000"],
)
def test_declared_bomb_is_refused_without_decoding(bomb: bytes) -> None:
    assert len(bomb) < 2_000  # a few hundred bytes that would be gigabytes decoded
    error = refused(bomb)
    assert (error.code, error.status) == ("decompression_bomb", 413)


@pytest.mark.usefixtures("no_decoding")
def test_limit_is_the_callers() -> None:
    data = png_declaring(8_000, 8_000)  # 64 MP: under Pillow's own guard, over ours
    assert refused(data).code == "decompression_bomb"
    assert refused(data, max_pixels=63_999_999).details == {
        "width": 8_000,
        "height": 8_000,
        "max_pixels": 63_999_999,
    }
    assert probe_header(data, max_pixels=64_000_000) == ("png", 8_000, 8_000)


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("P", (10, 10)), "GIF"),
        encode(Image.new("RGB", (10, 10)), "BMP"),
        b"%PDF-1.7\n" + b"\x00" * 100,
        b"",
    ],
    ids=["gif", "bmp", "pdf", "empty"],
)
def test_other_formats_are_unsupported(data: bytes) -> None:
    error = refused(data)
    assert (error.code, error.status) == ("unsupported_image", 415)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,  # right magic, no IHDR
        encode(Image.new("RGB", (64, 64)), "JPEG")[:6],  # cut before the frame header
        b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00\x00\x00",  # a WebP with an empty bitstream
        png_declaring(0, 10),
    ],
    ids=["png-garbage", "jpeg-truncated", "webp-empty", "png-zero-width"],
)
def test_garbage_behind_good_magic_is_corrupt(data: bytes) -> None:
    error = refused(data)
    assert (error.code, error.status) == ("corrupt_image", 422)
