"""Turning untrusted image bytes into the bytes we store: uploads and provider output.

Everything here is blocking: a 12 MP photo takes a couple of hundred milliseconds of CPU. Async callers
run these functions in ``asyncio.to_thread`` (Pillow releases the GIL while decoding, resampling and
encoding, so threads really overlap). Nothing touches Pillow's process-wide settings, so concurrent
calls are safe.
"""

from __future__ import annotations

import contextlib
import io
import struct
from dataclasses import dataclass
from typing import Final, Literal

from PIL import Image, ImageFile, ImageOps

from shared.errors import AppError
from shared.images.background import remove_background as _remove_background

ImageFormat = Literal["png", "jpeg", "webp"]
RejectCode = Literal["unsupported_image", "image_too_large", "corrupt_image", "decompression_bomb"]

# A decompression bomb is a *valid* file whose decoded size is over our limit; an honest 100-megapixel
# panorama hits the same check. "Too large, send something smaller" is what 413 says, so it shares the
# status of oversized bytes and keeps its own code for clients that want to tell the two apart.
_STATUS: Final[dict[RejectCode, int]] = {
    "unsupported_image": 415,
    "image_too_large": 413,
    "corrupt_image": 422,
    "decompression_bomb": 413,
}
_PIL_FORMAT: Final[dict[ImageFormat, str]] = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_MIME: Final[dict[ImageFormat, str]] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
# Pillow raises a zoo of exception types on bad input depending on the plugin and where it breaks.
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error)
# Provider output is not user input, but a buggy or hostile endpoint could still send a bomb.
_GENERATED_MAX_PIXELS: Final = 50_000_000
_JPEG_QUALITY: Final = 90
_WEBP_QUALITY: Final = 90
_THUMB_QUALITY: Final = 80


class ImageRejected(AppError):
    """Bytes we refuse to store; ``code`` is one of ``RejectCode`` and tells the client why."""

    code = "unsupported_image"
    status = 415

    def __init__(self, code: RejectCode, message: str, *, details: object = None) -> None:
        super().__init__(message, code=code, status=_STATUS[code], details=details)


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    data: bytes
    mime: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_mime: str
    thumbnail_width: int
    thumbnail_height: int


def sniff_format(head: bytes) -> ImageFormat | None:
    """The real format from the magic bytes (the first 12 are enough); ``None`` for anything we
    do not accept. File names and client content types are never consulted: both are attacker input."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def probe_header(data: bytes, *, max_pixels: int = 50_000_000) -> tuple[ImageFormat, int, int]:
    """Format, width and height from the header alone; raise ``ImageRejected`` for what we refuse.

    Meant for the upload route, before anything is stored or queued: it costs microseconds because
    Pillow's ``open`` parses only the header (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X) and decodes no
    pixel, so a 100000x100000 bomb is refused on its declared size. ``unsupported_image`` when the
    magic bytes are not PNG/JPEG/WebP, ``corrupt_image`` when the header cannot be parsed,
    ``decompression_bomb`` when width x height is over ``max_pixels``. A file that passes can still
    turn out corrupt further in: only decoding finds that, and the worker does.
    """
    fmt = _require_format(data)
    with _open_header(data, fmt, max_pixels=max_pixels) as img:
        width, height = img.size
    return fmt, width, height


def process_upload(
    data: bytes,
    *,
    max_side: int = 2048,
    max_pixels: int = 50_000_000,
    thumbnail_side: int = 320,
    max_bytes: int | None = None,
) -> ProcessedImage:
    """Validate, decode, orient, strip and bound a user upload; raise ``ImageRejected`` for bad input.

    The output keeps the source format (JPEG stays JPEG and never has alpha; PNG stays PNG, alpha
    included; WebP stays WebP, lossless if the source was) so we neither bloat photos into PNGs nor
    flatten transparency. All metadata is dropped except the ICC profile, which is colour data rather
    than data about the user, and without which wide-gamut phone photos would render washed out.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageRejected("image_too_large", f"the file is over {max_bytes} bytes")
    fmt = _require_format(data)
    src = _open(data, fmt, max_pixels=max_pixels)
    target = _fit(src.size, max_side)
    if fmt == "jpeg" and target != src.size:
        # libjpeg can decode at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients: a 48 MP
        # photo bound for 2048 px then never exists at full size in memory. draft() picks the largest
        # reduction that still leaves at least ``target``, so the resize below only ever shrinks.
        src.draft(None, target)
    _load(src)
    icc = src.info.get("icc_profile") if src.mode != "CMYK" else None  # a CMYK profile lies about RGB
    img = _normalise_mode(src)
    if img.size != target:
        # reducing_gap: a cheap integer box reduce() down to no less than 3x the target, then bicubic
        # for the rest. Pillow documents the result as indistinguishable from a full bicubic pass; it
        # only kicks in for huge images (a 12000 px PNG), where it saves most of the time.
        img = img.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
    # After the resize: transposing 3 MP is cheaper than transposing 12 MP, and the long-side bound
    # does not care about orientation. exif_transpose reads the EXIF that resize() carried in .info.
    # Unreadable EXIF does not make the pixels bad: only the orientation hint is lost (and stripped).
    with contextlib.suppress(*_DECODE_ERRORS):
        ImageOps.exif_transpose(img, in_place=True)
    # Dropping .info is the strip: Pillow's encoders only write EXIF/XMP/comments they are handed.
    img.info = {"icc_profile": icc} if icc else {}
    body = _encode(img, fmt, lossless=fmt == "webp" and _is_lossless_webp(data))
    return _result(body, _MIME[fmt], img, thumbnail_side)


def process_generated(data: bytes, *, remove_background: bool, thumbnail_side: int = 320) -> ProcessedImage:
    """Provider output: optionally cut the subject out to a transparent PNG; always add a thumbnail.

    Without background removal the provider's bytes are stored untouched: re-encoding would only lose
    quality, and any provenance metadata (C2PA) they carry is worth keeping.
    """
    fmt = _require_format(data)
    src = _open(data, fmt, max_pixels=_GENERATED_MAX_PIXELS)
    _load(src)
    img = _normalise_mode(src)
    if not remove_background:
        return _result(data, _MIME[fmt], img, thumbnail_side)
    cut = _remove_background(img)
    cut.info = {}
    return _result(_encode(cut, "png", lossless=True), "image/png", cut, thumbnail_side)


def make_thumbnail(img: Image.Image, side: int) -> tuple[bytes, int, int]:
    """A WebP whose long side is at most ``side`` (never upscaled), alpha kept; returns bytes, w, h."""
    target = _fit(img.size, side)
    thumb = img if target == img.size else img.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    icc = img.info.get("icc_profile")
    thumb.save(buf, "WEBP", quality=_THUMB_QUALITY, method=4, **({"icc_profile": icc} if icc else {}))
    return buf.getvalue(), thumb.width, thumb.height


def _result(body: bytes, mime: str, img: Image.Image, thumbnail_side: int) -> ProcessedImage:
    thumb, tw, th = make_thumbnail(img, thumbnail_side)
    return ProcessedImage(
        data=body,
        mime=mime,
        width=img.width,
        height=img.height,
        thumbnail=thumb,
        thumbnail_mime="image/webp",
        thumbnail_width=tw,
        thumbnail_height=th,
    )


def _require_format(data: bytes) -> ImageFormat:
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise ImageRejected("unsupported_image", "only PNG, JPEG and WebP images are accepted")
    return fmt


def _open(data: bytes, fmt: ImageFormat, *, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the header, enforce the pixel limit before a single pixel is decoded, check PNG CRCs."""
    img = _open_header(data, fmt, max_pixels=max_pixels)
    if fmt == "png":
        # Pillow's PNG decoder skips chunk CRCs, so a bit-flipped IDAT decodes to garbage; verify()
        # checks every CRC without inflating anything (about 2 ms for 6 MB) on a throwaway handle.
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
                probe.verify()
        except _DECODE_ERRORS as exc:
            raise ImageRejected("corrupt_image", "the PNG fails its checksums") from exc
    return img


def _open_header(data: bytes, fmt: ImageFormat, *, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the header only and enforce the pixel limit before a single pixel is decoded."""
    try:
        # formats=[...]: only the plugin the magic bytes named may parse the file.
        img = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own global guard (2x MAX_IMAGE_PIXELS) fires inside open(); the warning only
        # arrives here when warnings are configured as errors.
        raise ImageRejected(
            "decompression_bomb", "the image declares too many pixels", details={"max_pixels": max_pixels}
        ) from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected("corrupt_image", "the image header cannot be read") from exc
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageRejected("corrupt_image", "the image declares no pixels")
    if width * height > max_pixels:
        raise ImageRejected(
            "decompression_bomb",
            f"the image declares {width}x{height} pixels",
            details={"width": width, "height": height, "max_pixels": max_pixels},
        )
    return img


def _load(img: ImageFile.ImageFile) -> None:
    # With LOAD_TRUNCATED_IMAGES on, Pillow pads a truncated JPEG with grey and reports success. It is
    # process-wide, so we cannot switch it off per call without racing other threads: refuse instead.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is enabled; truncated uploads would pass")
    try:
        img.load()
    except _DECODE_ERRORS as exc:
        raise ImageRejected("corrupt_image", "the image data is corrupt or truncated") from exc


def _normalise_mode(img: Image.Image) -> Image.Image:
    """Exactly L, RGB or RGBA: the modes every encoder and resampler below handles losslessly."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's I->L conversion clips at 255 instead of scaling, which would turn a 16-bit PNG white.
        return img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGB", "L"):
        return img
    if img.has_transparency_data:
        img = img.convert("RGBA")
        # An alpha channel that is opaque everywhere only costs bytes and forces alpha-capable formats.
        return img.convert("RGB") if img.getchannel("A").getextrema() == (255, 255) else img
    return img.convert("L" if img.mode in ("1", "I", "F") else "RGB")


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = max_side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _encode(img: Image.Image, fmt: ImageFormat, *, lossless: bool) -> bytes:
    buf = io.BytesIO()
    icc = img.info.get("icc_profile")
    extra: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=_JPEG_QUALITY, **extra)
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=6, **extra)
    elif lossless:
        # method 0 / quality 20 measured ~4x faster than the default effort for ~5% more bytes.
        img.save(buf, "WEBP", lossless=True, method=0, quality=20, **extra)
    else:
        img.save(buf, "WEBP", quality=_WEBP_QUALITY, method=4, **extra)
    return buf.getvalue()


def _is_lossless_webp(data: bytes) -> bool:
    """Whether the first image chunk is VP8L (lossless) rather than VP8 (lossy), walking RIFF chunks."""
    pos = 12
    while pos + 8 <= len(data) and pos < 4096:  # image data follows a few small header chunks
        fourcc = data[pos : pos + 4]
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)  # chunks are padded to even sizes
    return False
