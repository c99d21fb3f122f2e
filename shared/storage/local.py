"""A directory on disk as object storage: the offline default, served by the API's files router."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from shared.storage.base import ObjectNotFound, StoredObject
from shared.storage.signing import UrlSigner

# Temp files live beside their target (os.replace is only atomic within one filesystem); the prefix
# lets listings skip leftovers of a crash and is refused in keys so no object can collide with one.
_TMP_PREFIX = ".~tmp-"
# One regex scan instead of a Python loop per character: keys are checked on every signed URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Keys made only of what ``quote(key, safe="/")`` leaves alone need no quoting (most of ours).
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a clean relative slash path; raise ``ValueError`` otherwise.

    Both backends apply the same rules, so a key that works on S3 in production cannot fail on a
    laptop's local directory (or escape it).
    """
    if not key:
        raise ValueError("empty storage key")
    if "\\" in key:
        raise ValueError(f"backslash in storage key: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"absolute storage key: {key!r}")
    if _CONTROL.search(key):
        raise ValueError(f"control character in storage key: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"empty or dot segment in storage key: {key!r}")
        if segment.startswith(_TMP_PREFIX):
            raise ValueError(f"reserved segment in storage key: {key!r}")
    return key


class LocalStorage:
    """Objects as files under ``root``; signed URLs point at ``/v1/files/{key}`` on the API.

    Writes are atomic (temp file, fsync, ``os.replace``): a reader or a crash sees the old object
    or the new one, never half of one. The content type given to :meth:`put` is not stored; the
    files router derives it from the key's extension, which our keys always carry.
    """

    def __init__(self, root: Path, *, signer: UrlSigner, public_base_url: str, default_ttl: int) -> None:
        # Resolved once so containment checks compare like with like even if root is a symlink.
        self._root = Path(root).resolve()
        self._signer = signer
        self._public_base_url = public_base_url.rstrip("/")
        self._default_ttl = default_ttl

    @property
    def root(self) -> Path:
        return self._root

    @property
    def signer(self) -> UrlSigner:
        return self._signer

    def path_for(self, key: str) -> Path:
        """The file that holds ``key``; ``ValueError`` for keys that are invalid or leave ``root``."""
        validate_key(key)
        path = self._root.joinpath(*key.split("/"))
        # Key validation rules out "..", but a symlink inside root could still point outside it.
        if not path.resolve().is_relative_to(self._root):
            raise ValueError(f"storage key leaves the storage root: {key!r}")
        return path

    async def locate(self, key: str) -> tuple[Path, os.stat_result]:
        """Path and stat of a stored file, for serving it; ``ObjectNotFound`` when absent."""
        return await asyncio.to_thread(self._locate_sync, key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        validate_key(key)  # fail fast, before a thread hop
        await asyncio.to_thread(self._put_sync, key, data)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await asyncio.to_thread(self._get_sync, key)

    async def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            validate_key(key)  # all or nothing: one bad key must not leave half a batch deleted
        await asyncio.to_thread(self._delete_sync, keys)

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await asyncio.to_thread(lambda: self.path_for(key).is_file())

    async def list_objects(self, prefix: str = "") -> list[StoredObject]:
        if prefix.rstrip("/"):
            validate_key(prefix.rstrip("/"))
        return await asyncio.to_thread(self._list_sync, prefix)

    def signed_url(self, key: str, *, expires_in: int | None = None) -> str:
        validate_key(key)
        exp, sig = self._signer.sign(key, self._default_ttl if expires_in is None else expires_in)
        path = key if _URL_SAFE.fullmatch(key) else quote(key, safe="/")
        return f"{self._public_base_url}/v1/files/{path}?exp={exp}&sig={sig}"

    # --- blocking helpers, run in a worker thread

    def _locate_sync(self, key: str) -> tuple[Path, os.stat_result]:
        path = self.path_for(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        if not path.is_file():
            raise ObjectNotFound(key)
        return path, st

    def _put_sync(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP_PREFIX}{path.name}.{secrets.token_hex(8)}")
        # os.open with 0o666 lets the umask decide permissions, as a plain open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)

    def _get_sync(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def _delete_sync(self, keys: list[str]) -> None:
        # Empty directories are left behind on purpose: removing one could race a concurrent put
        # that has just created it and is about to write its temp file there.
        for key in keys:
            # A key naming a directory is no object either: nothing to delete.
            with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self.path_for(key).unlink()

    def _list_sync(self, prefix: str) -> list[StoredObject]:
        # Start at the deepest directory the prefix names, so listing one project does not walk all.
        prefix_dirs = prefix.split("/")[:-1]
        start = self._root.joinpath(*prefix_dirs)
        if not start.resolve().is_relative_to(self._root):
            return []  # a symlinked directory pointing outside root is not ours to list
        found: list[StoredObject] = []
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = Path(dirpath).relative_to(self._root).as_posix()
            base = "" if rel_dir == "." else f"{rel_dir}/"
            dirnames[:] = [d for d in dirnames if _may_contain(f"{base}{d}/", prefix)]
            for name in filenames:
                key = f"{base}{name}"
                if name.startswith(_TMP_PREFIX) or not key.startswith(prefix):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue  # deleted while we walked
                mtime = datetime.fromtimestamp(st.st_mtime, tz=UTC)
                found.append(StoredObject(key=key, size=st.st_size, last_modified=mtime))
        found.sort(key=lambda obj: obj.key)  # S3 lists in key order; keep both backends alike
        return found


def _may_contain(dir_key: str, prefix: str) -> bool:
    return dir_key.startswith(prefix) or prefix.startswith(dir_key)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is flushed.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
