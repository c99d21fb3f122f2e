"""The embedded default image provider: renders a deterministic placeholder with Pillow, no network.

It lets the whole flow (prompt, generation job, background removal, storage, review) run on a
laptop and in tests, and costs nothing.
"""

from __future__ import annotations

import asyncio

from shared.images.providers.base import GeneratedImage, ImageProviderError, ImageRequest
from shared.images.render import render_placeholder


class OfflineImageProvider:
    name = "offline"
    model = "offline-pillow-1"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        try:
            # Rendering plus PNG encoding is tens of milliseconds of CPU: keep it off the event loop.
            data = await asyncio.to_thread(render_placeholder, request)
        except ValueError as exc:
            # Retrying the same size would fail the same way, so this is not transient.
            raise ImageProviderError(str(exc), transient=False, code="invalid_image_request") from exc
        return GeneratedImage(
            data=data,
            mime="image/png",
            width=request.width,
            height=request.height,
            provider=self.name,
            model=self.model,
            cost_usd=0.0,
        )

    async def aclose(self) -> None:
        """Nothing to release; present so callers treat every provider the same way."""
