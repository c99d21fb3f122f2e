"""The image provider interface: prompt, size and reference images in, image bytes and cost out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str
    width: int
    height: int
    negative_prompt: str | None = None
    reference_images: list[bytes] = field(default_factory=list)
    # Offline rendering shows these; hosted providers only see the prompt.
    asset_name: str = ""
    asset_type: str = ""
    style_name: str = ""
    style_palette: list[str] = field(default_factory=list)  # hex colours "#rrggbb"
    seed: int = 0
    # An image the new one derives from (PNG, JPEG or WebP bytes): the same subject in a new state,
    # or a new view of it. Hosted providers send it to their edit endpoint; the offline renderer
    # fits, tints and captions it.
    reference: bytes | None = None


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    mime: str  # "image/png" | "image/jpeg" | "image/webp"
    width: int
    height: int
    provider: str
    model: str
    cost_usd: float


class ImageProviderError(Exception):
    """``transient`` errors are retried by the job (rate limits, 5xx, timeouts); others fail it."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        code: str = "image_provider_error",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code
        self.retry_after_s = retry_after_s


class ImageProvider(Protocol):
    name: str

    async def generate(self, request: ImageRequest) -> GeneratedImage: ...

    async def aclose(self) -> None: ...
