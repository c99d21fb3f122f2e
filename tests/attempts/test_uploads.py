"""Uploads: quick checks at the API (size, sniffed format), safe decoding in the imagegen job
(pixel limits, truncation, EXIF orientation and stripping), and nothing stored for bad input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.models import Job
from tests.attempts.helpers import Env, decode, encode, make_env


def photo(size: tuple[int, int] = (300, 200)) -> Image.Image:
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    ImageDraw.Draw(img).ellipse(
        (size[0] // 10, size[1] // 10, size[0] // 2, size[1] // 2), fill=(200, 60, 40)
    )
    return img


def near(pixel: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


async def job_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Job)) or 0)


async def test_each_good_format_becomes_an_attempt(env_any: Env, auth: dict[str, str]) -> None:
    env = env_any
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    cases = [
        ("PNG", "image/png", {}),
        ("JPEG", "image/jpeg", {"quality": 90}),
        ("WEBP", "image/webp", {"quality": 80}),
    ]
    for fmt, mime, params in cases:
        r = await env.upload(auth, pid, aid, encode(photo(), fmt, **params), name=f"x.{fmt.lower()}")
        assert r.status_code == 202, r.text
        assert r.headers["location"] == f"/v1/jobs/{r.json()['job']['id']}"
        assert r.json()["job"]["kind"] == "image.upload"
        await env.run()
        assert (await env.job(auth, r.json()["job"]["id"]))["status"] == "succeeded"
        newest = (await env.attempts(auth, pid, aid))[0]
        assert (newest["source"], newest["mime"], newest["selected"]) == ("uploaded", mime, True)
        assert (newest["width"], newest["height"]) == (300, 200)
        assert newest["prompt"] is None
        assert decode(await env.download(newest["image_url"])).format == fmt
    assert len(await env.attempts(auth, pid, aid)) == 3
    assert await env.keys("staging/") == set()  # each staging object went with its job
    assert len(await env.keys()) == 6


async def test_png_named_jpg_is_accepted_as_png(env: Env, auth: dict[str, str]) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    r = await env.upload(auth, pid, aid, encode(photo(), "PNG"), name="holiday.jpg", ctype="image/jpeg")
    assert r.status_code == 202, r.text
    await env.run()
    [attempt] = await env.attempts(auth, pid, aid)
    assert attempt["mime"] == "image/png"
    assert decode(await env.download(attempt["image_url"])).format == "PNG"


async def test_gif_is_refused_at_the_api(
    env: Env, auth: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    gif = encode(Image.new("P", (10, 10)), "GIF")
    r = await env.upload(auth, pid, aid, gif, name="fine.png", ctype="image/png")
    assert (r.status_code, r.json()["error"]["code"]) == (415, "unsupported_image")
    assert await job_count(sessions) == 0
    assert await env.keys() == set()


async def test_oversize_file_is_refused_at_the_api(
    settings: Settings,
    clean: None,
    tmp_path: Path,
    auth: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    limit = 50_000
    async with make_env(settings, tmp_path, overrides={"max_upload_bytes": limit}) as env:
        pid = await env.project(auth)
        aid = await env.asset(auth, pid)
        png_head = encode(photo((8, 8)), "PNG")
        just_over = png_head + b"\0" * (limit + 1 - len(png_head))
        r = await env.upload(auth, pid, aid, just_over)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "image_too_large")
        far_over = png_head + b"\0" * (limit * 4)  # refused by the body limit before the route runs
        r = await env.upload(auth, pid, aid, far_over)
        assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
        assert await env.keys() == set()
    assert await job_count(sessions) == 0


def bomb() -> bytes:
    """A 10x10 PNG whose header claims 30000x30000 pixels (2.7 GB decoded), CRC fixed up."""
    data = bytearray(encode(Image.new("L", (10, 10)), "PNG"))
    ihdr = 16
    data[ihdr : ihdr + 8] = struct.pack(">II", 30_000, 30_000)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    return bytes(data)


def truncated_jpeg() -> bytes:
    data = encode(photo((256, 256)), "JPEG", quality=90)
    return data[: len(data) // 2]


# A bomb is refused at the door since issue 9 (tests/api/test_cap_and_uploads.py); a truncated body only
# shows when decoding, which is the worker's job.
@pytest.mark.parametrize(("make", "code"), [(truncated_jpeg, "corrupt_image")])
async def test_bad_image_fails_the_job_and_stores_nothing(
    env_any: Env, auth: dict[str, str], make: object, code: str
) -> None:
    env = env_any
    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    r = await env.upload(auth, pid, aid, make())  # type: ignore[operator]
    assert r.status_code == 202, r.text  # the API only sniffs: decoding is the worker's job
    assert len(await env.keys("staging/")) == 1
    await env.run()
    done = await env.job(auth, r.json()["job"]["id"])
    assert (done["status"], done["error"]["code"]) == ("failed", code)
    assert done["tries"] == 1  # bad input is final, not retried
    assert await env.keys() == set()  # staging object gone, nothing else written
    assert await env.attempts(auth, pid, aid) == []


async def test_gps_is_stripped_and_orientation_applied(env_any: Env, auth: dict[str, str]) -> None:
    env = env_any
    # Stored 400x200 with a red top-left corner; orientation 6 means "rotate 90° clockwise to view".
    img = Image.new("RGB", (400, 200), (0, 0, 255))
    ImageDraw.Draw(img).rectangle((0, 0, 59, 59), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    data = encode(img, "JPEG", exif=exif, quality=95)
    assert decode(data).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload really carries GPS

    pid = await env.project(auth)
    aid = await env.asset(auth, pid)
    assert (await env.upload(auth, pid, aid, data, name="IMG_0001.JPG")).status_code == 202
    await env.run()
    [attempt] = await env.attempts(auth, pid, aid)
    assert (attempt["width"], attempt["height"]) == (200, 400)
    stored = await env.download(attempt["image_url"])
    out = decode(stored)
    assert out.size == (200, 400)
    assert not out.getexif()
    assert not out.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif\x00\x00" not in stored
    assert b"PhoneCo" not in stored
    assert near(out.getpixel((200 - 30, 30)), (255, 0, 0))  # top-left went to top-right
    assert near(out.getpixel((30, 30)), (0, 0, 255))
    thumb = await env.download(attempt["thumbnail_url"])
    assert b"PhoneCo" not in thumb
    assert decode(thumb).size == (32, 64)
