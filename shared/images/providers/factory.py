"""Pick the image provider the settings ask for."""

from __future__ import annotations

from shared.config import Settings
from shared.images.providers.base import ImageProvider


def build_image_provider(settings: Settings) -> ImageProvider:
    """The configured provider; the caller owns it and must ``await provider.aclose()``."""
    if settings.image_provider == "openai":
        from shared.images.providers.openai_images import OpenAIImagesProvider

        return OpenAIImagesProvider.from_settings(settings)
    if settings.image_provider == "offline":
        # Imported here so a worker configured for a hosted provider never loads the renderer.
        from shared.images.providers.offline import OfflineImageProvider

        return OfflineImageProvider()
    raise ValueError(f"unknown image provider {settings.image_provider!r}")
