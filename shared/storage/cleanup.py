"""Deleting stored objects once the rows that referenced them are gone for good."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import after_commit
from shared.storage.base import Storage


def delete_after_commit(session: AsyncSession, storage: Storage, keys: list[str]) -> None:
    """Delete ``keys`` after the boundary owning ``session`` commits, never on rollback. A crash
    between the two leaves orphans for the sweep, never a row without its file."""
    if keys:
        after_commit(session, lambda: storage.delete_many(keys))
