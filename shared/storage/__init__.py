"""Object storage: one async interface, a local directory (offline default) or S3 behind it."""

from shared.storage.base import ObjectNotFound, Storage, StoredObject
from shared.storage.factory import build_storage
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage
from shared.storage.signing import UrlSigner

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StoredObject",
    "UrlSigner",
    "build_storage",
]
