"""S3 (or any S3-compatible endpoint: MinIO, R2, moto) as object storage, through boto3."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.storage.base import ObjectNotFound, StoredObject
from shared.storage.local import validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from shared.config import Settings

# DeleteObjects accepts at most this many keys per request.
_DELETE_BATCH = 1000
# SigV4 presigned URLs cannot outlive a week.
_MAX_PRESIGN_S = 7 * 24 * 3600
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3DeleteError(RuntimeError):
    """DeleteObjects reported per-key failures (permissions, throttling); the caller should retry."""


class S3Storage:
    """Objects in one bucket. boto3 is blocking, so every network call runs in a worker thread.

    Build it with :meth:`from_settings` in services; tests may pass their own ``client``.
    """

    def __init__(self, bucket: str, *, client: S3Client, default_ttl: int) -> None:
        self._bucket = bucket
        self._client = client
        self._default_ttl = default_ttl

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def client(self) -> S3Client:
        return self._client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """Build the client from settings; create the bucket first if ``s3_create_bucket`` is set.

        Blocking (one or two requests when creating the bucket): call it at process startup.
        """
        client = build_s3_client(settings)
        if settings.s3_create_bucket:
            ensure_bucket(client, settings.s3_bucket, region=settings.s3_region)
        return cls(settings.s3_bucket, client=client, default_ttl=settings.storage_url_ttl_s)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        validate_key(key)
        await asyncio.to_thread(
            self._client.put_object, Bucket=self._bucket, Key=key, Body=data, ContentType=content_type
        )

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await asyncio.to_thread(self._get_sync, key)

    async def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            validate_key(key)
        # dict.fromkeys: drop duplicates (S3 would count them twice against the batch) but keep order.
        unique = list(dict.fromkeys(keys))
        if unique:
            await asyncio.to_thread(self._delete_sync, unique)

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await asyncio.to_thread(self._exists_sync, key)

    async def list_objects(self, prefix: str = "") -> list[StoredObject]:
        return await asyncio.to_thread(self._list_sync, prefix)

    def signed_url(self, key: str, *, expires_in: int | None = None) -> str:
        validate_key(key)
        ttl = self._default_ttl if expires_in is None else expires_in
        if not 0 < ttl <= _MAX_PRESIGN_S:
            raise ValueError(f"expires_in must be within 1..{_MAX_PRESIGN_S} seconds, got {ttl}")
        # Presigning is local computation (no request), so it need not leave the event loop.
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl
        )

    # --- blocking helpers, run in a worker thread

    def _get_sync(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise ObjectNotFound(key) from exc
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def _exists_sync(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return False
            raise
        return True

    def _delete_sync(self, keys: list[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            # Quiet: the answer lists only failures. Absent keys count as deleted, which is what
            # retried cleanups need.
            response = self._client.delete_objects(
                Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True}
            )
            errors = response.get("Errors", [])
            if errors:
                sample = ", ".join(f"{e.get('Key')}: {e.get('Code')}" for e in errors[:5])
                raise S3DeleteError(f"{len(errors)} object(s) not deleted from {self._bucket}: {sample}")

    def _list_sync(self, prefix: str) -> list[StoredObject]:
        paginator = self._client.get_paginator("list_objects_v2")
        found: list[StoredObject] = []
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found.append(
                    StoredObject(
                        key=obj["Key"],
                        size=obj["Size"],
                        last_modified=obj["LastModified"].astimezone(UTC),
                    )
                )
        return found


def build_s3_client(settings: Settings) -> S3Client:
    """A boto3 S3 client configured from settings (endpoint, region, credentials, timeouts)."""
    extra: dict[str, Any] = {}
    if settings.s3_endpoint_url:
        # S3-compatible servers (MinIO, moto, many on-prem) rarely do virtual-host bucket DNS.
        extra["s3"] = {"addressing_style": "path"}
    config = Config(
        region_name=settings.s3_region,
        signature_version="s3v4",
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        # asyncio.to_thread's default pool can run this many calls at once; let each have a socket.
        max_pool_connections=32,
        # botocore >= 1.36 adds CRC checksums to every upload by default, which several
        # S3-compatible servers reject; AWS itself accepts either.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        **extra,
    )
    secret = settings.s3_secret_access_key
    # A fresh Session: boto3's module-level default session is not thread-safe to build clients on.
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        # None falls through to boto3's chain (env, profile, instance role), as operators expect.
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
        config=config,
    )


def ensure_bucket(client: S3Client, bucket: str, *, region: str) -> None:
    """Create ``bucket`` unless it exists. Safe when several processes start at once."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    try:
        if region == "us-east-1":
            # us-east-1 is the default location and refuses an explicit LocationConstraint.
            client.create_bucket(Bucket=bucket)
        else:
            location = cast("BucketLocationConstraintType", region)
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location})
    except ClientError as exc:
        # Another replica won the race between our HEAD and CREATE: the bucket is ours, all good.
        if _error_code(exc) != "BucketAlreadyOwnedByYou":
            raise


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
