"""From an asset to finished image bytes: the provider call and the post-processing after it.

Provider errors become job outcomes here: transient ones (rate limits, 5xx, timeouts) ask the job
runner for a later delivery; permanent ones (content policy, bad key) fail the job with the
provider's code, since retrying the same request would fail the same way.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps

from shared.attempts.prompts import build_prompt, negative_prompt, removes_background
from shared.errors import AppError
from shared.images.processing import ImageRejected, ProcessedImage, process_generated
from shared.images.providers.base import GeneratedImage, ImageProvider, ImageProviderError, ImageRequest
from shared.jobs.run import TransientJobError
from shared.models import ProjectAsset
from shared.styles.schemas import StyleSnapshot

# Provider output is decoded again here when its size is off; the same bound as process_generated.
_MAX_PIXELS: Final = 50_000_000


def image_request(
    asset: ProjectAsset, style: StyleSnapshot, *, view: str | None, size: tuple[int, int], seed: int
) -> ImageRequest:
    return ImageRequest(
        prompt=build_prompt(asset, style, view),
        width=size[0],
        height=size[1],
        negative_prompt=negative_prompt(style),
        asset_name=asset.name,
        asset_type=asset.type,
        style_name=style.name,
        style_palette=[str(c) for c in style.palette],
        seed=seed,
    )


async def call_provider(provider: ImageProvider, request: ImageRequest) -> GeneratedImage:
    try:
        return await provider.generate(request)
    except ImageProviderError as exc:
        if exc.transient:
            raise TransientJobError(str(exc), retry_after_s=exc.retry_after_s) from exc
        raise AppError(str(exc), code=exc.code, status=502) from exc


def finish(data: bytes, *, asset_type: str, size: tuple[int, int], thumbnail_side: int) -> ProcessedImage:
    """Exact size, background removal for isolated types, thumbnail. Blocking: run in a thread.

    Hosted providers only offer a few sizes, so their output may have another size or even another
    aspect ratio than the one the asset type calls for: it is centre-cropped and resized to the
    exact size, or every consumer downstream would have to cope with surprises.
    """
    try:
        return process_generated(
            fit_exact(data, size),
            remove_background=removes_background(asset_type),
            thumbnail_side=thumbnail_side,
        )
    except ImageRejected as exc:
        raise AppError(
            f"The image provider returned an unusable image: {exc.message}",
            code="image_provider_invalid_output",
            status=502,
        ) from exc


def fit_exact(data: bytes, size: tuple[int, int]) -> bytes:
    """``data`` unchanged when it already has ``size``; otherwise centre-cropped to the aspect ratio
    and resized to ``size``, as PNG (lossless, alpha kept)."""
    try:
        with Image.open(io.BytesIO(data)) as src:
            if src.size == size:
                return data
            if src.width * src.height > _MAX_PIXELS:
                raise ImageRejected(
                    "decompression_bomb", f"the image declares {src.width}x{src.height} pixels"
                )
            src.load()
            img = src if src.mode in ("RGB", "RGBA", "L") else src.convert("RGBA")
            fitted = ImageOps.fit(img, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt_image", "the image cannot be decoded") from exc
    buf = io.BytesIO()
    fitted.save(buf, "PNG", compress_level=6)
    return buf.getvalue()
