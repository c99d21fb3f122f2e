"""Scene image jobs through the real imagegen worker: generation from the reference chain, uploads
through the Stage 5 pipeline, the cap under racing jobs, failures that leave nothing behind."""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw

from tests.attempts.helpers import decode, encode
from tests.stage8.helpers import Stage8, png


async def generate(s8: Stage8, sid: str, iid: str, **headers: str) -> dict[str, Any]:
    r = await s8.env.client.post(s8.url(sid, iid, "/attempts/generate"), headers=s8.auth | headers)
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/v1/jobs/{r.json()['job']['id']}"
    return dict(r.json()["job"])


async def upload(s8: Stage8, sid: str, iid: str, data: bytes) -> Any:
    files = {"file": ("photo.png", data, "image/png")}
    return await s8.env.client.post(s8.url(sid, iid, "/attempts/upload"), files=files, headers=s8.auth)


async def attempts(s8: Stage8, sid: str, iid: str) -> list[dict[str, Any]]:
    r = await s8.env.client.get(s8.url(sid, iid, "/attempts"), headers=s8.auth)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_generation_starts_from_the_reference_and_records_it(s8: Stage8) -> None:
    ghost = await s8.asset("Ghost ship", "prop", deferred=True)
    ids = await s8.scene_ids()
    first = await s8.instance(ids[1], ghost)
    second = await s8.instance(ids[2], ghost)
    await s8.env.client.patch(
        s8.url(ids[2], second["id"]), json={"visual_state": "Half sunk, mast broken"}, headers=s8.auth
    )

    await generate(s8, ids[1], first["id"])  # its first scene: no reference, prompt alone
    assert await s8.env.run() == 1
    [made] = await attempts(s8, ids[1], first["id"])
    assert (made["source"], made["selected"], made["reference"]) == ("generated", True, None)
    assert "reference image" not in made["prompt"]
    assert "Ghost ship" in made["prompt"]
    assert made["style"]["name"] == "Noir"

    job = await generate(s8, ids[2], second["id"])
    assert await s8.env.run() == 1
    done = await s8.env.job(s8.auth, job["id"])
    assert done["status"] == "succeeded", done
    [scene2] = await attempts(s8, ids[2], second["id"])
    assert scene2["reference"] == {"kind": "instance", "attempt_id": made["id"], "scene_number": 1}
    assert done["result"]["reference_attempt_id"] == made["id"]
    assert "Half sunk, mast broken" in scene2["prompt"]
    assert "reference image" in scene2["prompt"]
    inst = await s8.instance(ids[2], ghost)
    assert (inst["use_master_as_is"], inst["image"]["attempt_id"]) == (False, scene2["id"])
    image = decode(await s8.env.download(scene2["image_url"]))
    assert image.size == (scene2["width"], scene2["height"])
    assert scene2["width"] == scene2["height"]  # a prop is square


async def test_upload_goes_through_the_stage5_pipeline(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[3], mara))["id"]
    photo = encode(decode(png((30, 60, 90), size=(300, 200))), "JPEG", exif=b"Exif\x00\x00junk")
    r = await upload(s8, ids[3], iid, photo)
    assert r.status_code == 202, r.text
    assert await s8.env.run() == 1
    [up] = await attempts(s8, ids[3], iid)
    assert (up["source"], up["selected"], up["mime"], up["width"], up["height"]) == (
        "uploaded",
        True,
        "image/jpeg",
        300,
        200,
    )
    assert "exif" not in decode(await s8.env.download(up["image_url"])).info
    assert not [k for k in await s8.env.keys() if k.startswith("staging/")]

    bad = await upload(s8, ids[3], iid, b"GIF89a" + b"\x00" * 64)
    assert bad.status_code == 415
    assert bad.json()["error"]["code"] == "unsupported_image"
    corrupt = await upload(s8, ids[3], iid, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert corrupt.status_code == 202
    await s8.env.run()
    failed = await s8.env.job(s8.auth, corrupt.json()["job"]["id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "corrupt_image")
    assert [a["id"] for a in await attempts(s8, ids[3], iid)] == [up["id"]]  # nothing half-written
    assert len(await s8.env.keys()) == 2  # the one image and its thumbnail, no staging left


async def test_racing_generations_keep_the_cap_and_one_selection(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    for _ in range(7):
        await generate(s8, ids[1], iid)
    assert await s8.env.run() == 7
    items = await attempts(s8, ids[1], iid)
    assert len(items) == 4
    assert sum(a["selected"] for a in items) == 1
    assert [a["attempt_number"] for a in items] == [7, 6, 5, 4]
    assert len(await s8.env.keys()) == 8  # evicted images went with their rows


async def test_job_routes_refuse_foreign_locked_and_styleless(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    r = await s8.env.client.post(s8.url(ids[2], iid, "/attempts/generate"), headers=s8.auth)
    assert r.status_code == 404
    r = await upload(s8, ids[2], iid, png((1, 2, 3)))
    assert r.status_code == 404
    first = await generate(s8, ids[1], iid, **{"Idempotency-Key": "once"})
    again = await generate(s8, ids[1], iid, **{"Idempotency-Key": "once"})
    assert again["id"] == first["id"]

    await s8.env.client.post(f"{s8.base}/stages/5/lock", headers=s8.auth)
    await s8.env.client.patch(s8.url(ids[1], iid), json={"generate_later": True}, headers=s8.auth)
    for n in (2, 3):
        other = (await s8.instance(ids[n], mara))["id"]
        await s8.env.client.patch(s8.url(ids[n], other), json={"generate_later": True}, headers=s8.auth)
    assert (await s8.env.client.post(f"{s8.base}/stages/8/lock", headers=s8.auth)).status_code == 200
    r = await s8.env.client.post(s8.url(ids[1], iid, "/attempts/generate"), headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "stage_locked")
    r = await upload(s8, ids[1], iid, png((1, 2, 3)))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "stage_locked")

    styleless = await Stage8.create(s8.env, s8.auth, s8.sessions, style=False)
    asset = await styleless.asset("Mara")
    sids = await styleless.scene_ids()
    inst = await styleless.instance(sids[1], asset)
    r = await s8.env.client.post(styleless.url(sids[1], inst["id"], "/attempts/generate"), headers=s8.auth)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "style_required")


def photo(size: tuple[int, int]) -> bytes:
    """A picture with structure at every scale: a diagonal ramp, a dark disc, a bright bar."""
    img = Image.linear_gradient("L").rotate(30).resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.3, w * 0.5, h * 0.6), fill=(20, 20, 60))
    draw.rectangle((w * 0.6, h * 0.15, w * 0.8, h * 0.7), fill=(250, 230, 120))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two images' grey levels on a small common grid."""
    xs = list(a.convert("L").resize((48, 27)).tobytes())
    ys = list(b.convert("L").resize((48, 27)).tobytes())
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


async def test_offline_generation_visibly_derives_from_the_reference(s8: Stage8) -> None:
    harbour = await s8.asset("Harbour wall", "location")  # no background removal: the whole frame
    ids = await s8.scene_ids()
    first, second = [await s8.instance(ids[n], harbour) for n in (1, 2)]
    ref = photo((512, 288))
    up = await upload(s8, ids[1], first["id"], ref)
    assert up.status_code == 202, up.text
    assert await s8.env.run() == 1  # the upload is scene 1's image before scene 2 is drawn
    [uploaded] = await attempts(s8, ids[1], first["id"])
    await generate(s8, ids[2], second["id"])
    await generate(s8, ids[1], first["id"])  # scene 1 has no earlier image and no master: no reference
    assert await s8.env.run() == 2
    [made] = await attempts(s8, ids[2], second["id"])
    assert made["reference"]["attempt_id"] == uploaded["id"]
    fresh = next(a for a in await attempts(s8, ids[1], first["id"]) if a["source"] == "generated")
    assert fresh["reference"] is None
    reference = Image.open(io.BytesIO(ref)).convert("RGB")
    out = decode(await s8.env.download(made["image_url"]))
    without = decode(await s8.env.download(fresh["image_url"]))

    # The middle band, clear of the text the renderer writes at the top and bottom.
    def band(img: Image.Image) -> Image.Image:
        img = img.convert("RGB").resize(reference.size)
        return img.crop((0, round(img.height * 0.2), img.width, round(img.height * 0.75)))

    assert correlation(band(out), band(reference)) > 0.8
    assert abs(correlation(band(without), band(reference))) < 0.5
