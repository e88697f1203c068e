"""The S3 driver: any S3/OBS-compatible endpoint (OBS, MinIO, AWS S3, moto), via boto3.

boto3 is synchronous; each call runs in a worker thread. Writes stream: bodies are cut
into parts of PART_BYTES and sent as a multipart upload, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from openarts.storage.base import (
    CHUNK,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    InvalidKey,
    InvalidPart,
    InvalidRange,
    ListPage,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    StorageError,
    UploadInfo,
)

T = TypeVar("T")
PART_BYTES = 8 * 1024 * 1024
# A marker that sorts after every key under a prefix, to resume after a common prefix.
_AFTER_ALL = "\U0010ffff"

_ERRORS: dict[str, type[StorageError]] = {
    "NoSuchBucket": NoSuchBucket,
    "NoSuchKey": NoSuchKey,
    "404": NoSuchKey,
    "NotFound": NoSuchKey,
    "BucketNotEmpty": BucketNotEmpty,
    "BucketAlreadyOwnedByYou": BucketAlreadyExists,
    "BucketAlreadyExists": BucketAlreadyExists,
    "NoSuchUpload": NoSuchUpload,
    "InvalidPart": InvalidPart,
    "InvalidPartOrder": InvalidPart,
    "EntityTooSmall": InvalidPart,
    "InvalidRange": InvalidRange,
    "InvalidArgument": InvalidKey,
    "KeyTooLongError": InvalidKey,
}


def s3_client(
    endpoint: str,
    access_key: str,
    secret_key: str,
    *,
    region: str = "us-east-1",
    addressing: str = "path",
    **config: Any,
) -> Any:
    """A boto3 S3 client for an S3/OBS-compatible endpoint (path-style by default)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(s3={"addressing_style": addressing}, signature_version="s3v4", **config),
    )


def _extra(content_type: str | None, metadata: dict[str, str] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"Metadata": metadata or {}}
    if content_type:
        extra["ContentType"] = content_type
    return extra


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


class S3Store(ObjectStore):
    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        addressing: str = "path",
    ) -> None:
        self.region = region
        self._client = s3_client(
            endpoint,
            access_key,
            secret_key,
            region=region,
            addressing=addressing,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await self._run(getattr(self._client, method), **kwargs)

    @staticmethod
    async def _run(function: Callable[..., T], **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(function, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message") or code)
            raise _ERRORS.get(code, StorageError)(message) from None

    # -- buckets -------------------------------------------------------------------------
    async def create_bucket(self, bucket: str) -> None:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        await self._call("create_bucket", **kwargs)

    async def delete_bucket(self, bucket: str) -> None:
        await self._call("delete_bucket", Bucket=bucket)

    async def bucket_exists(self, bucket: str) -> bool:
        try:
            await self._call("head_bucket", Bucket=bucket)
        except (NoSuchKey, NoSuchBucket):
            return False
        return True

    async def list_buckets(self) -> list[BucketInfo]:
        answer = await self._call("list_buckets")
        return [BucketInfo(b["Name"], _ms(b["CreationDate"])) for b in answer.get("Buckets", [])]

    # -- objects -------------------------------------------------------------------------
    async def stat(self, bucket: str, key: str) -> ObjectInfo:
        head = await self._call("head_object", Bucket=bucket, Key=key)
        return ObjectInfo(
            key,
            int(head["ContentLength"]),
            head["ETag"].strip('"'),
            _ms(head["LastModified"]),
            head.get("ContentType") or "application/octet-stream",
            dict(head.get("Metadata") or {}),
        )

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        marker: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if marker:
            after = marker + _AFTER_ALL if delimiter and marker.endswith(delimiter) else marker
            kwargs["StartAfter"] = after
        answer = await self._call("list_objects_v2", **kwargs)
        objects = [
            ObjectInfo(o["Key"], int(o["Size"]), o["ETag"].strip('"'), _ms(o["LastModified"]))
            for o in answer.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in answer.get("CommonPrefixes", [])]
        truncated = bool(answer.get("IsTruncated"))
        last = max([o.key for o in objects] + prefixes, default=None)
        return ListPage(objects, prefixes, truncated, last if truncated else None)

    async def read(
        self, bucket: str, key: str, byte_range: ByteRange | None = None
    ) -> AsyncIterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if byte_range is not None:
            kwargs["Range"] = f"bytes={byte_range.first}-{byte_range.last}"
        answer = await self._call("get_object", **kwargs)
        body = answer["Body"]
        try:
            while block := await asyncio.to_thread(body.read, CHUNK):
                yield block
        finally:
            body.close()

    async def write(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        extra = _extra(content_type, metadata)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[tuple[int, str]] = []
        try:
            async for chunk in chunks:
                buffer.extend(chunk)
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        answer = await self._call(
                            "create_multipart_upload", Bucket=bucket, Key=key, **extra
                        )
                        upload_id = answer["UploadId"]
                    body = bytes(buffer[:PART_BYTES])
                    del buffer[:PART_BYTES]
                    part = await self._call(
                        "upload_part",
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=body,
                    )
                    parts.append((len(parts) + 1, part["ETag"].strip('"')))
            if upload_id is None:
                await self._call("put_object", Bucket=bucket, Key=key, Body=bytes(buffer), **extra)
                return await self.stat(bucket, key)
            if buffer or not parts:
                part = await self._call(
                    "upload_part",
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=len(parts) + 1,
                    Body=bytes(buffer),
                )
                parts.append((len(parts) + 1, part["ETag"].strip('"')))
            return await self.complete_multipart(bucket, key, upload_id, parts)
        except BaseException:
            if upload_id is not None:
                await self._call(
                    "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id
                )
            raise

    async def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> ObjectInfo:
        await self._call(
            "copy_object",
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": source_bucket, "Key": source_key},
        )
        return await self.stat(bucket, key)

    async def delete(self, bucket: str, key: str) -> None:
        await self._call("delete_object", Bucket=bucket, Key=key)

    # -- multipart -----------------------------------------------------------------------
    async def create_multipart(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        answer = await self._call(
            "create_multipart_upload", Bucket=bucket, Key=key, **_extra(content_type, metadata)
        )
        return str(answer["UploadId"])

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        chunks: AsyncIterator[bytes],
        *,
        length: int | None = None,
    ) -> PartInfo:
        # Spooled: small parts stay in memory, large ones go to a temporary file.
        with tempfile.SpooledTemporaryFile(max_size=PART_BYTES) as spool:
            size = 0
            async for chunk in chunks:
                await asyncio.to_thread(spool.write, chunk)
                size += len(chunk)
            spool.seek(0)
            answer = await self._call(
                "upload_part",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=spool,
            )
        return PartInfo(number, size, answer["ETag"].strip('"'), 0)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        answer = await self._call("list_parts", Bucket=bucket, Key=key, UploadId=upload_id)
        return [
            PartInfo(
                int(p["PartNumber"]), int(p["Size"]), p["ETag"].strip('"'), _ms(p["LastModified"])
            )
            for p in answer.get("Parts", [])
        ]

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> ObjectInfo:
        await self._call(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in parts]
            },
        )
        return await self.stat(bucket, key)

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        await self._call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)

    async def list_multipart(self, bucket: str, prefix: str = "") -> list[UploadInfo]:
        found: list[UploadInfo] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            answer = await self._call("list_multipart_uploads", **request)
            for upload in answer.get("Uploads", []):
                initiated = upload["Initiated"]
                found.append(
                    UploadInfo(upload["Key"], upload["UploadId"], int(initiated.timestamp() * 1000))
                )
            if not answer.get("IsTruncated"):
                return found
            request["KeyMarker"] = answer["NextKeyMarker"]
            request["UploadIdMarker"] = answer["NextUploadIdMarker"]

    async def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        await self.stat(bucket, key)
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url

    async def close(self) -> None:
        self._client.close()
