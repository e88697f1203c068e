"""The one storage interface, with a local-directory driver and an S3/OBS driver.

Everything streams: reads are async iterators of chunks, writes consume one, so an object
never has to sit whole in memory.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage failure with the S3 error code that describes it."""

    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoSuchBucket(StorageError):
    code = "NoSuchBucket"


class NoSuchKey(StorageError):
    code = "NoSuchKey"


class BucketNotEmpty(StorageError):
    code = "BucketNotEmpty"


class BucketAlreadyExists(StorageError):
    code = "BucketAlreadyOwnedByYou"


class InvalidKey(StorageError):
    code = "InvalidArgument"


class InvalidRange(StorageError):
    code = "InvalidRange"


class NoSuchUpload(StorageError):
    code = "NoSuchUpload"


class InvalidPart(StorageError):
    code = "InvalidPart"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # without quotes
    last_modified_ms: int
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class ListPage:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None  # the last key or prefix returned, when truncated


@dataclass(frozen=True, slots=True)
class PartInfo:
    number: int
    size: int
    etag: str
    last_modified_ms: int


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """A multipart upload begun and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated_ms: int


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An inclusive byte range resolved against a size: ``first`` to ``last``."""

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class ObjectStore(ABC):
    """Buckets and objects. Drivers raise the StorageError subclasses above."""

    @abstractmethod
    async def create_bucket(self, bucket: str) -> None: ...

    @abstractmethod
    async def delete_bucket(self, bucket: str) -> None: ...

    @abstractmethod
    async def bucket_exists(self, bucket: str) -> bool: ...

    @abstractmethod
    async def list_buckets(self) -> list[BucketInfo]: ...

    @abstractmethod
    async def stat(self, bucket: str, key: str) -> ObjectInfo: ...

    @abstractmethod
    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        marker: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """Keys after ``marker`` in byte order, grouped by ``delimiter`` like S3."""

    async def open_described(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO | None]:
        """The object's description and, for a store that keeps objects as files, the file
        opened with it (the caller closes it), so the bytes sent are the bytes described and
        can be sent without copying. Other stores answer None and are read with ``read``."""
        return await self.stat(bucket, key), None

    @abstractmethod
    def read(
        self, bucket: str, key: str, byte_range: ByteRange | None = None
    ) -> AsyncIterator[bytes]:
        """Chunks of the object (or of the range); raises before the first chunk if absent."""

    @abstractmethod
    async def write(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the object; it becomes visible whole, or not at all."""

    @abstractmethod
    async def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str
    ) -> ObjectInfo: ...

    @abstractmethod
    async def delete(self, bucket: str, key: str) -> None:
        """Delete; deleting a missing key is not an error (as in S3)."""

    @abstractmethod
    async def create_multipart(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str: ...

    @abstractmethod
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
        """Store one part; ``length``, when the caller knows it, lets a driver place it."""

    @abstractmethod
    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]: ...

    @abstractmethod
    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> ObjectInfo: ...

    @abstractmethod
    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None: ...

    @abstractmethod
    async def list_multipart(self, bucket: str, prefix: str = "") -> list[UploadInfo]:
        """The uploads in progress in ``bucket`` whose keys start with ``prefix``, by key
        then by when they began."""

    async def expire_multipart(self, older_than_ms: int) -> int:
        """Abort every upload begun before ``older_than_ms`` (epoch ms); how many. A
        remote store keeps its own lifecycle rules: nothing to do by default."""
        return 0

    @abstractmethod
    async def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        """A URL that lets anyone GET the object, without credentials, for ``expires_s``."""

    def local_folder(self, bucket: str, prefix: str) -> Path | None:
        """The folder on this machine that holds ``prefix`` of ``bucket`` as plain files,
        when the store keeps them so (the local driver); None otherwise."""
        return None

    async def close(self) -> None:
        return None


async def read_all(store: ObjectStore, bucket: str, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(bucket, key)])


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def file_chunks(
    path: Path, chunk: int = CHUNK, *, follow_links: bool = True
) -> AsyncIterator[bytes]:
    """A file's bytes; ``follow_links=False`` refuses a symbolic link (ELOOP), for files
    a user's code wrote, which may point anywhere the reader could read."""
    flags = os.O_RDONLY | (0 if follow_links else os.O_NOFOLLOW)
    handle = await asyncio.to_thread(lambda: os.fdopen(os.open(path, flags), "rb"))
    try:
        while block := await asyncio.to_thread(handle.read, chunk):
            yield block
    finally:
        handle.close()
