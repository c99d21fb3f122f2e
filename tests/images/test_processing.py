"""Upload and provider-output processing: what gets in, what comes out, what is refused and how."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFile

from shared.images.processing import (
    ImageRejected,
    make_thumbnail,
    process_generated,
    process_upload,
    sniff_format,
)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def photo(size: tuple[int, int]) -> Image.Image:
    """Gradient plus noise: enough texture that JPEG truncation really cuts into scan data."""
    ramp = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 30)
    return Image.merge("RGB", (ramp, noise, ImageChops.invert(ramp)))


def reopen(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def rgb_at(img: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    value = img.convert("RGB").getpixel(xy)
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


def alpha_at(img: Image.Image, xy: tuple[int, int]) -> int:
    value = img.getpixel(xy)
    assert isinstance(value, tuple)
    return int(value[3])


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> bool:
    return max(abs(a - b) for a, b in zip(actual, expected, strict=True)) <= tolerance


def rejected(data: bytes, **kwargs: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        process_upload(data, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("GIF", None), ("BMP", None), ("TIFF", None)],
)
def test_sniff_reads_magic_bytes(fmt: str, expected: str | None) -> None:
    assert sniff_format(encode(Image.new("RGB", (8, 8)), fmt)[:16]) == expected


def test_sniff_refuses_random_and_short_input() -> None:
    assert sniff_format(os.urandom(64).replace(b"\x89", b"\x00").replace(b"\xff", b"\x00")) is None
    assert sniff_format(b"") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") is None


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_good_formats_come_out_decoded_with_their_dimensions(fmt: str, mime: str) -> None:
    result = process_upload(encode(photo((640, 480)), fmt))
    assert (result.mime, result.width, result.height) == (mime, 640, 480)
    out = reopen(result.data)
    assert out.size == (640, 480)
    assert out.format == fmt


def test_png_bytes_saved_as_jpg_are_accepted_as_png(tmp_path: Path) -> None:
    misnamed = tmp_path / "holiday.jpg"
    misnamed.write_bytes(encode(photo((64, 48)), "PNG"))
    assert process_upload(misnamed.read_bytes()).mime == "image/png"


def test_gif_is_unsupported() -> None:
    error = rejected(encode(Image.new("P", (10, 10)), "GIF"))
    assert (error.code, error.status) == ("unsupported_image", 415)


def test_declared_bomb_is_rejected_before_any_pixel_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 10x10 PNG whose IHDR claims 30000x30000 (900 MP): tiny on disk, 2.7 GB if decoded.
    data = bytearray(encode(Image.new("L", (10, 10)), "PNG"))
    ihdr = 8 + 8  # signature, then length + type of the first chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", 30_000, 30_000)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = rejected(bytes(data))
    assert (error.code, error.status) == ("decompression_bomb", 413)


def test_pixel_limit_is_ours_not_pillows_global() -> None:
    # 60 MP of one colour compresses to almost nothing and is below Pillow's own 89 MP warning.
    big = encode(Image.new("1", (10_000, 6_000)), "PNG")
    assert len(big) < 200_000
    assert rejected(big).code == "decompression_bomb"
    assert (
        rejected(encode(Image.new("RGB", (100, 100)), "PNG"), max_pixels=5_000).code == "decompression_bomb"
    )


def test_truncated_jpeg_is_corrupt() -> None:
    data = encode(photo((256, 256)), "JPEG", quality=90)
    error = rejected(data[: len(data) // 2])
    assert (error.code, error.status) == ("corrupt_image", 422)


def test_damaged_png_is_corrupt() -> None:
    data = bytearray(encode(photo((64, 64)), "PNG"))
    data[-40:-20] = b"\x00" * 20  # inside the IDAT payload: the CRC no longer matches
    assert rejected(bytes(data)).code == "corrupt_image"


def test_header_only_webp_is_corrupt() -> None:
    assert rejected(b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00\x00\x00").code == "corrupt_image"


def test_oversized_bytes_are_too_large() -> None:
    error = rejected(encode(photo((64, 64)), "PNG"), max_bytes=100)
    assert (error.code, error.status) == ("image_too_large", 413)


def test_truncation_guard_refuses_to_run_with_pillow_padding_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        process_upload(encode(photo((32, 32)), "JPEG"))


def test_gps_exif_xmp_and_comments_are_stripped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-place</x:xmpmeta>'
    data = encode(photo((300, 200)), "JPEG", exif=exif, xmp=xmp, comment=b"taken at home")
    assert reopen(data).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really carries GPS

    result = process_upload(data)
    out = reopen(result.data)
    assert not out.getexif()
    assert not out.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "comment"} & out.info.keys()
    for blob in (result.data, result.thumbnail):
        assert b"Exif\x00\x00" not in blob
        assert b"secret-place" not in blob
        assert b"PhoneCo" not in blob


def test_exif_orientation_is_applied() -> None:
    # Stored 400x200 with a red top-left corner; orientation 6 means "rotate 90° clockwise to view".
    img = Image.new("RGB", (400, 200), (0, 0, 255))
    ImageDraw.Draw(img).rectangle((0, 0, 59, 59), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    result = process_upload(encode(img, "JPEG", exif=exif, quality=95))

    out = reopen(result.data)
    assert out.size == (200, 400)
    assert near(rgb_at(out, (200 - 30, 30)), (255, 0, 0), 40)  # top-left went to top-right
    assert near(rgb_at(out, (30, 30)), (0, 0, 255), 40)
    assert ExifTags.Base.Orientation not in out.getexif()  # or viewers would rotate it again


def test_long_side_is_bounded_keeping_aspect() -> None:
    result = process_upload(encode(photo((3000, 1000)), "PNG"), max_side=1024)
    assert (result.width, result.height) == (1024, 341)
    assert reopen(result.data).size == (1024, 341)


def test_large_jpeg_uses_reduced_decoding_and_keeps_content() -> None:
    src = Image.new("RGB", (4096, 3072), (200, 40, 90))
    result = process_upload(encode(src, "JPEG"), max_side=512)
    out = reopen(result.data)
    assert out.size == (512, 384)
    assert near(rgb_at(out, (256, 192)), (200, 40, 90), 8)


def test_thumbnail_is_small_webp() -> None:
    result = process_upload(encode(photo((1600, 900)), "JPEG"))
    assert result.thumbnail_mime == "image/webp"
    assert sniff_format(result.thumbnail) == "webp"
    assert (result.thumbnail_width, result.thumbnail_height) == (320, 180)
    assert reopen(result.thumbnail).size == (320, 180)
    assert len(result.thumbnail) < 40_000


def test_thumbnail_never_upscales() -> None:
    _, width, height = make_thumbnail(Image.new("RGB", (100, 50)), 320)
    assert (width, height) == (100, 50)


def test_alpha_survives_png_and_opaque_alpha_is_dropped() -> None:
    cutout = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(cutout).ellipse((50, 10, 150, 90), fill=(10, 200, 10, 255))
    out = reopen(process_upload(encode(cutout, "PNG")).data)
    assert out.mode == "RGBA"
    assert alpha_at(out, (0, 0)) == 0
    assert reopen(process_upload(encode(Image.new("RGBA", (20, 20), "red"), "PNG")).data).mode == "RGB"


def test_webp_keeps_losslessness_and_alpha() -> None:
    art = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    ImageDraw.Draw(art).rectangle((20, 20, 100, 60), fill=(250, 120, 0, 255))
    result = process_upload(encode(art, "WEBP", lossless=True))
    assert result.mime == "image/webp"
    assert b"VP8L" in result.data[:64]
    out = reopen(result.data)
    assert out.getpixel((60, 40)) == (250, 120, 0, 255)
    assert alpha_at(out, (2, 2)) == 0


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    deep = Image.new("I;16", (32, 32), 32_768)  # mid grey in 16 bits
    out = reopen(process_upload(encode(deep, "PNG")).data)
    assert out.mode == "L"
    assert out.getpixel((5, 5)) == 128


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process_upload(encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG"))
    out = reopen(result.data)
    assert out.mode == "RGB"
    assert near(rgb_at(out, (10, 10)), (255, 0, 0), 60)


def test_generated_without_removal_keeps_provider_bytes() -> None:
    data = encode(photo((300, 200)), "PNG")
    result = process_generated(data, remove_background=False)
    assert result.data == data
    assert (result.mime, result.width, result.height) == ("image/png", 300, 200)
    assert sniff_format(result.thumbnail) == "webp"


def test_generated_with_removal_is_png_with_alpha() -> None:
    img = Image.new("RGB", (300, 400), (240, 240, 240))
    ImageDraw.Draw(img).rectangle((100, 100, 200, 300), fill=(30, 30, 160))
    result = process_generated(encode(img, "JPEG", quality=95), remove_background=True)
    assert result.mime == "image/png"
    out = reopen(result.data)
    assert out.mode == "RGBA"
    assert alpha_at(out, (5, 5)) == 0
    assert alpha_at(out, (150, 200)) == 255
    assert reopen(result.thumbnail).mode == "RGBA"


def test_generated_output_in_unknown_format_is_rejected() -> None:
    with pytest.raises(ImageRejected) as info:
        process_generated(encode(Image.new("RGB", (8, 8)), "BMP"), remove_background=False)
    assert info.value.code == "unsupported_image"
