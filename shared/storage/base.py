"""The storage interface every backend implements. Keys are slash-separated relative paths
(e.g. ``projects/<pid>/assets/<aid>/<uuid>.png``); callers never build URLs themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime  # timezone-aware UTC


class ObjectNotFound(Exception):
    pass


class Storage(Protocol):
    """Async facade over a blob store. Blocking clients run in ``asyncio.to_thread`` inside."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """Raises ``ObjectNotFound`` when absent."""
        ...

    async def delete_many(self, keys: list[str]) -> None:
        """Deletes what exists; absent keys are not an error (deletes are retried after crashes)."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def list_objects(self, prefix: str = "") -> list[StoredObject]: ...

    def signed_url(self, key: str, *, expires_in: int | None = None) -> str:
        """A URL a browser can GET without our bearer token, valid for ``expires_in`` seconds."""
        ...
