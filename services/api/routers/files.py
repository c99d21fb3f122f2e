"""Serves local-storage objects behind signed, expiring URLs (S3 presigns its own).

A browser's ``<img src>`` cannot send our bearer token, so the signature in the query string is
the authorisation here; the route is deliberately outside the usual auth dependency.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from services.api.errors import error_responses
from shared.errors import AppError, NotFound
from shared.storage.base import ObjectNotFound
from shared.storage.local import LocalStorage

router = APIRouter(tags=["files"])


def get_local_storage(request: Request) -> LocalStorage:
    """The app's storage when it is the local backend; otherwise this route does not exist (404)."""
    storage = getattr(request.app.state, "storage", None)
    if not isinstance(storage, LocalStorage):
        raise NotFound("file not found")
    return storage


LocalStorageDep = Annotated[LocalStorage, Depends(get_local_storage)]


@router.get(
    "/v1/files/{key:path}",
    summary="A stored image behind a signed, expiring URL (local storage only)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
        **error_responses(403),
    },
)
async def get_file(
    key: str, storage: LocalStorageDep, exp: int | None = None, sig: str | None = None
) -> FileResponse:
    # Signature before anything touches the disk: an unsigned caller learns nothing, not even
    # whether a key exists.
    if exp is None or sig is None or not storage.signer.verify(key, exp, sig):
        raise AppError("the file link is invalid or has expired", code="invalid_signature", status=403)
    try:
        path, stat = await storage.locate(key)
    except (ValueError, ObjectNotFound) as exc:
        # An invalid key (e.g. "../x") is as absent as a deleted one: never a file outside root.
        raise NotFound("file not found") from exc
    remaining = max(0, exp - int(time.time()))
    headers = {
        # private: the URL is a capability; shared caches must not hand it to others. The browser
        # may keep it until the link would have expired anyway.
        "Cache-Control": f"private, max-age={remaining}",
        # The type comes from the key's extension; forbid sniffing so bytes are never run as HTML.
        "X-Content-Type-Options": "nosniff",
    }
    return FileResponse(path, stat_result=stat, headers=headers)
