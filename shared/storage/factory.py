"""Pick the storage backend the settings ask for."""

from __future__ import annotations

from shared.config import Settings
from shared.storage.base import Storage
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage
from shared.storage.signing import UrlSigner


def build_storage(settings: Settings) -> Storage:
    """The configured backend. For S3 this may create the bucket (blocking): call at startup."""
    if settings.storage_backend == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(
        settings.storage_local_dir,
        signer=UrlSigner(settings.storage_signing_secret.get_secret_value()),
        public_base_url=settings.public_base_url,
        default_ttl=settings.storage_url_ttl_s,
    )
