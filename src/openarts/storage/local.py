"""The local driver: a directory in the home, one folder per bucket, one file per object.

Users can look at their data with ordinary tools: key ``a/b.txt`` of bucket ``data`` is
the file ``<root>/data/a/b.txt``. Alongside, each bucket keeps hidden folders (names
starting ``.openarts-``): object metadata (ETag, content type, user metadata) in
``.openarts-meta``, files being written in ``.openarts-tmp`` (renamed into place when
complete, so no partial object is ever visible) and multipart uploads in
``.openarts-uploads``. A file put into a bucket folder by hand is an object too; its
ETag is computed the first time it is asked for.

A file system cannot hold both a key ``a`` and a key ``a/b``; writing the second answers
InvalidKey rather than silently replacing the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from openarts.storage.base import (
    CHUNK,
    BucketAlreadyExists,
    BucketInfo,
    BucketNotEmpty,
    ByteRange,
    InvalidKey,
    InvalidPart,
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
from openarts.storage.in_order import InOrderSteps
from openarts.storage.listing import group_listing
from openarts.storage.paths import RESERVED_PREFIX, InvalidPath, check_bucket, check_key
from openarts.storage.presign import PlatformPresigner

META = RESERVED_PREFIX + "meta"
TMP = RESERVED_PREFIX + "tmp"
UPLOADS = RESERVED_PREFIX + "uploads"
BUCKET_FILE = RESERVED_PREFIX + "bucket.json"
# Metadata paths: folder segments end ".d", object files ".m", and a "folder/" key's own
# metadata is MARKER_META, which ends in neither, so no two keys can share a path.
MARKER_META = "folder.marker"
MIN_PART_BYTES = 5 * 1024 * 1024
SYNC_EVERY = 32 * 1024 * 1024
SETTLED_NS = 2_000_000_000
SHARED_DATA = "data"  # a multipart upload's parts, each at its final offset
DEFAULT_TYPE = "application/octet-stream"


def _ms(ns: int) -> int:
    return ns // 1_000_000


def multipart_etag(part_etags: list[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags))
    return f"{digest.hexdigest()}-{len(part_etags)}"


class LocalStore(ObjectStore):
    def __init__(self, root: Path, presigner: PlatformPresigner | None = None) -> None:
        self.root = root
        # Only the server may enter: objects are reached through it, never by path.
        _private_dir(self.root)
        self.root.chmod(0o700)
        self.presigner = presigner

    # -- paths ---------------------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / check_bucket(bucket)

    def _existing_bucket(self, bucket: str) -> Path:
        try:
            path = self._bucket_dir(bucket)
        except InvalidPath as exc:
            raise NoSuchBucket(str(exc)) from None
        if not (path / BUCKET_FILE).is_file():
            raise NoSuchBucket(f"bucket {bucket} does not exist")
        return path

    @staticmethod
    def _checked_key(key: str) -> str:
        try:
            return check_key(key)
        except InvalidPath as exc:
            raise InvalidKey(str(exc)) from None

    @staticmethod
    def _meta_path(bucket_dir: Path, key: str) -> Path:
        *folders, leaf = key.split("/")
        path = bucket_dir / META
        for folder in folders:
            path /= folder + ".d"
        return path / (leaf + ".m" if leaf else MARKER_META)

    def local_folder(self, bucket: str, prefix: str) -> Path | None:
        folder = self._existing_bucket(bucket)
        if prefix:
            folder = folder / self._checked_key(prefix.rstrip("/"))
        return folder

    # -- buckets -------------------------------------------------------------------------
    async def create_bucket(self, bucket: str) -> None:
        try:
            path = self._bucket_dir(bucket)
        except InvalidPath as exc:
            raise InvalidKey(str(exc)) from None
        await asyncio.to_thread(self._create_bucket_sync, path)

    @staticmethod
    def _create_bucket_sync(path: Path) -> None:
        marker = path / BUCKET_FILE
        if marker.is_file():
            raise BucketAlreadyExists(f"bucket {path.name} already exists")
        _private_dir(path)
        _write_json(marker, {"created_ms": _ms(time.time_ns())})

    async def delete_bucket(self, bucket: str) -> None:
        path = self._existing_bucket(bucket)
        await asyncio.to_thread(self._delete_bucket_sync, path)

    def _delete_bucket_sync(self, path: Path) -> None:
        for entry in path.iterdir():
            if not entry.name.startswith(RESERVED_PREFIX):
                raise BucketNotEmpty(f"bucket {path.name} is not empty")
        shutil.rmtree(path)

    async def bucket_exists(self, bucket: str) -> bool:
        try:
            self._existing_bucket(bucket)
        except NoSuchBucket:
            return False
        return True

    async def list_buckets(self) -> list[BucketInfo]:
        return await asyncio.to_thread(self._list_buckets_sync)

    def _list_buckets_sync(self) -> list[BucketInfo]:
        buckets = []
        for entry in sorted(self.root.iterdir()):
            marker = entry / BUCKET_FILE
            if marker.is_file():
                buckets.append(BucketInfo(entry.name, int(_read_json(marker)["created_ms"])))
        return buckets

    # -- objects -------------------------------------------------------------------------
    async def stat(self, bucket: str, key: str) -> ObjectInfo:
        bucket_dir = self._existing_bucket(bucket)
        return await asyncio.to_thread(self._stat_sync, bucket_dir, self._checked_key(key))

    def _stat_sync(self, bucket_dir: Path, key: str) -> ObjectInfo:
        data = bucket_dir / key
        meta_path = self._meta_path(bucket_dir, key)
        if key.endswith("/"):
            if not (data.is_dir() and meta_path.is_file()):
                raise NoSuchKey(f"key {key} does not exist")
            return _info_of(key, _read_json(meta_path))
        try:
            status = data.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NoSuchKey(f"key {key} does not exist") from None
        if not data.is_file():
            raise NoSuchKey(f"key {key} does not exist")
        meta = _read_json(meta_path) if meta_path.is_file() else {}
        if meta.get("size") != status.st_size or meta.get("mtime_ns") != status.st_mtime_ns:
            # Written by hand, or the sidecar was lost in a crash: describe the file again.
            info = ObjectInfo(
                key,
                status.st_size,
                _md5_file(data),
                _ms(status.st_mtime_ns),
                str(meta.get("content_type") or DEFAULT_TYPE),
                dict(meta.get("metadata") or {}),
            )
            # Only for a file that has settled: one just renamed into place gets its own
            # sidecar from _publish in a moment, with the content type this would lose.
            if time.time_ns() - status.st_mtime_ns > SETTLED_NS:
                with contextlib.suppress(OSError):
                    _write_json(meta_path, _meta_of(info, status.st_mtime_ns))
            return info
        return _info_of(key, meta)

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        marker: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        bucket_dir = self._existing_bucket(bucket)
        keys = await asyncio.to_thread(self._keys_under, bucket_dir, prefix)
        entries = group_listing(
            keys, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
        )
        objects = await asyncio.to_thread(
            lambda: [self._stat_sync(bucket_dir, key) for key in entries.keys]
        )
        return ListPage(objects, entries.prefixes, entries.is_truncated, entries.next_marker)

    def _keys_under(self, bucket_dir: Path, prefix: str) -> list[str]:
        directory = prefix.rpartition("/")[0]
        start = bucket_dir / directory if directory else bucket_dir
        if not start.is_dir():
            return []
        keys: list[str] = []
        base = len(str(bucket_dir)) + 1
        if (
            directory
            and (directory + "/").startswith(prefix)
            and self._meta_path(bucket_dir, directory + "/").is_file()
        ):
            keys.append(directory + "/")  # the walk below only sees folders beneath it
        for current, dirs, files in os.walk(start):
            if current == str(bucket_dir):
                dirs[:] = [d for d in dirs if not d.startswith(RESERVED_PREFIX)]
                files = [f for f in files if not f.startswith(RESERVED_PREFIX)]
            relative = current[base:]
            for name in dirs:
                key = f"{relative}/{name}/" if relative else f"{name}/"
                if (
                    key.startswith(prefix)
                    and _is_utf8(key)
                    and self._meta_path(bucket_dir, key).is_file()
                ):
                    keys.append(key)
            for name in files:
                key = f"{relative}/{name}" if relative else name
                # A file named by hand in another encoding cannot be an S3 key: skip it.
                if key.startswith(prefix) and _is_utf8(key):
                    keys.append(key)
        keys.sort(key=lambda k: k.encode("utf-8"))
        return keys

    async def open_described(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO | None]:
        bucket_dir = self._existing_bucket(bucket)
        return await asyncio.to_thread(
            self._open_described_sync, bucket_dir, self._checked_key(key)
        )

    def _open_described_sync(
        self, bucket_dir: Path, key: str
    ) -> tuple[ObjectInfo, BinaryIO | None]:
        if key.endswith("/"):
            return self._stat_sync(bucket_dir, key), None
        path = bucket_dir / key
        for _ in range(3):
            try:
                handle = path.open("rb")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise NoSuchKey(f"key {key} does not exist") from None
            try:
                opened = os.fstat(handle.fileno())
                info = self._stat_sync(bucket_dir, key)
                # Still the same file after its description was read: a replacement in
                # between (objects are replaced by rename) gives another inode; try again.
                if path.stat().st_ino == opened.st_ino and info.size == opened.st_size:
                    return info, handle
            except BaseException:
                handle.close()
                raise
            handle.close()
        return self._stat_sync(bucket_dir, key), None

    async def read(
        self, bucket: str, key: str, byte_range: ByteRange | None = None
    ) -> AsyncIterator[bytes]:
        bucket_dir = self._existing_bucket(bucket)
        key = self._checked_key(key)
        if key.endswith("/"):
            await asyncio.to_thread(self._stat_sync, bucket_dir, key)
            return
        path = bucket_dir / key
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NoSuchKey(f"key {key} does not exist") from None
        try:
            remaining = None
            if byte_range is not None:
                await asyncio.to_thread(handle.seek, byte_range.first)
                remaining = byte_range.length
            while remaining is None or remaining > 0:
                size = CHUNK if remaining is None else min(CHUNK, remaining)
                block = await asyncio.to_thread(handle.read, size)
                if not block:
                    break
                if remaining is not None:
                    remaining -= len(block)
                yield block
        finally:
            handle.close()

    async def write(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        bucket_dir = self._existing_bucket(bucket)
        key = self._checked_key(key)
        temporary, digest, size = await self._receive(bucket_dir, chunks)
        try:
            return await asyncio.to_thread(
                self._publish,
                bucket_dir,
                key,
                temporary,
                digest.hexdigest(),
                size,
                content_type,
                metadata,
            )
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    async def _receive(
        self, bucket_dir: Path, chunks: AsyncIterator[bytes], *, durable: bool = True
    ) -> tuple[Path, Any, int]:
        staging = bucket_dir / TMP
        _private_dir(staging)
        temporary = staging / uuid.uuid4().hex
        digest = hashlib.md5()
        size = 0
        handle = await asyncio.to_thread(_private_file, temporary)
        syncing: asyncio.Future[None] | None = None
        synced_at = 0
        # Each block is hashed and written on a thread while the next one arrives.
        steps = InOrderSteps()
        try:
            async for chunk in chunks:
                size += len(chunk)
                await steps.add(_hash_and_write, digest, handle, chunk)
                if (
                    durable
                    and size - synced_at >= SYNC_EVERY
                    and (syncing is None or syncing.done())
                ):
                    # Start writing back to disk while the rest is still arriving, so the
                    # final sync has little left to do.
                    await steps.finish()
                    synced_at = size
                    syncing = asyncio.ensure_future(asyncio.to_thread(_flush, handle))
            await steps.finish()
            if syncing is not None:
                await syncing
            if durable:
                await asyncio.to_thread(_flush, handle)
        except BaseException:
            await steps.settle()
            if syncing is not None:
                await asyncio.gather(syncing, return_exceptions=True)
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        handle.close()
        return temporary, digest, size

    def _publish(
        self,
        bucket_dir: Path,
        key: str,
        temporary: Path,
        etag: str,
        size: int,
        content_type: str | None,
        metadata: dict[str, str] | None,
    ) -> ObjectInfo:
        target = bucket_dir / key
        meta_path = self._meta_path(bucket_dir, key)
        if key.endswith("/"):
            if size:
                raise InvalidKey(f"key {key} ends with '/' and must be empty")
            self._make_parents(bucket_dir, target / "x")
            _private_dir(target)
            mtime_ns = time.time_ns()
        else:
            self._make_parents(bucket_dir, target)
            if target.is_dir():
                raise InvalidKey(f"key {key} is a folder of other keys here; choose another key")
            os.replace(temporary, target)
            mtime_ns = target.stat().st_mtime_ns
        info = ObjectInfo(
            key, size, etag, _ms(mtime_ns), content_type or DEFAULT_TYPE, metadata or {}
        )
        _write_json(meta_path, _meta_of(info, mtime_ns))
        return info

    @staticmethod
    def _make_parents(bucket_dir: Path, target: Path) -> None:
        parent = target.parent
        for ancestor in [
            *reversed(parent.relative_to(bucket_dir).parents),
            parent.relative_to(bucket_dir),
        ]:
            path = bucket_dir / ancestor
            if path.is_file():
                raise InvalidKey(
                    f"{ancestor} is an object here, so it cannot also be a folder of keys"
                )
        _private_dir(parent)

    async def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> ObjectInfo:
        info = await self.stat(source_bucket, source_key)
        return await self.write(
            bucket,
            key,
            self.read(source_bucket, source_key),
            content_type=info.content_type,
            metadata=info.metadata,
        )

    async def delete(self, bucket: str, key: str) -> None:
        bucket_dir = self._existing_bucket(bucket)
        await asyncio.to_thread(self._delete_sync, bucket_dir, self._checked_key(key))

    def _delete_sync(self, bucket_dir: Path, key: str) -> None:
        target = bucket_dir / key
        meta_path = self._meta_path(bucket_dir, key)
        if key.endswith("/"):
            meta_path.unlink(missing_ok=True)
        elif target.is_file():
            target.unlink()
            meta_path.unlink(missing_ok=True)
        else:
            return
        _prune(target.parent if not key.endswith("/") else target, bucket_dir)
        _prune(meta_path.parent, bucket_dir / META)

    async def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        if self.presigner is None:
            raise StorageError("this local store is not served by an endpoint; cannot presign")
        await self.stat(bucket, key)
        return self.presigner.url(bucket, key, expires_s)

    # -- multipart -----------------------------------------------------------------------
    def _upload_dir(self, bucket_dir: Path, key: str, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise NoSuchUpload(f"upload {upload_id} does not exist")
        path = bucket_dir / UPLOADS / upload_id
        info = path / "upload.json"
        if not info.is_file() or _read_json(info)["key"] != key:
            raise NoSuchUpload(f"upload {upload_id} does not exist for key {key}")
        return path

    async def create_multipart(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        bucket_dir = self._existing_bucket(bucket)
        key = self._checked_key(key)
        upload_id = uuid.uuid4().hex
        path = bucket_dir / UPLOADS / upload_id
        await asyncio.to_thread(_private_dir, path)
        await asyncio.to_thread(
            _write_json,
            path / "upload.json",
            {
                "key": key,
                "content_type": content_type,
                "metadata": metadata or {},
                "created_ms": _ms(time.time_ns()),
            },
        )
        return upload_id

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
        bucket_dir = self._existing_bucket(bucket)
        upload = self._upload_dir(bucket_dir, key, upload_id)
        if not 1 <= number <= 10000:
            raise InvalidPart(f"part number {number} must be between 1 and 10000")
        offset = None
        if length is not None:
            offset = await asyncio.to_thread(_claim_slot, upload, number, length)
        # Parts are not synced to disk: completion syncs the object they make. A crash
        # before completion loses the upload (the client starts it again), never an object
        # that was accepted.
        lock = None
        if offset is not None:
            # One writer per slot; a second upload of the same part goes to its own file.
            lock = await asyncio.to_thread(_try_lock, upload / f"part-{number:05d}.lock")
        record = upload / f"part-{number:05d}.json"
        if lock is not None and offset is not None and length is not None:
            try:
                # The old record goes first: a write that fails leaves no part, never a
                # record that points at half-overwritten bytes.
                await asyncio.to_thread(record.unlink, missing_ok=True)
                etag, size = await _receive_at(upload / SHARED_DATA, offset, length, chunks)
                meta: dict[str, Any] = {"etag": etag, "size": size, "offset": offset}
                await asyncio.to_thread(_write_json, record, meta)
            finally:
                os.close(lock)
            return PartInfo(number, size, etag, _ms(time.time_ns()))
        temporary, digest, size = await self._receive(bucket_dir, chunks, durable=False)
        await asyncio.to_thread(os.replace, temporary, upload / f"part-{number:05d}")
        etag = digest.hexdigest()
        meta = {"etag": etag, "size": size}
        await asyncio.to_thread(_write_json, record, meta)
        return PartInfo(number, size, etag, _ms(time.time_ns()))

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        bucket_dir = self._existing_bucket(bucket)
        upload = self._upload_dir(bucket_dir, key, upload_id)
        return await asyncio.to_thread(self._parts_sync, upload)

    @staticmethod
    def _parts_sync(upload: Path) -> list[PartInfo]:
        return [part for part, _ in _part_records(upload)]

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> ObjectInfo:
        bucket_dir = self._existing_bucket(bucket)
        key = self._checked_key(key)
        upload = self._upload_dir(bucket_dir, key, upload_id)
        return await asyncio.to_thread(self._complete_sync, bucket_dir, key, upload, parts)

    def _complete_sync(
        self, bucket_dir: Path, key: str, upload: Path, parts: list[tuple[int, str]]
    ) -> ObjectInfo:
        if not parts:
            raise InvalidPart("a multipart upload needs at least one part")
        numbers = [number for number, _ in parts]
        if numbers != sorted(set(numbers)):
            raise InvalidPart("parts must be listed once each, in ascending order")
        locks = []
        try:
            # Holding every part's lock: no part write can land while the object is made.
            for number in numbers:
                lock = _try_lock(upload / f"part-{number:05d}.lock")
                if lock is None:
                    raise InvalidPart(f"part {number} is still being uploaded; complete after it")
                locks.append(lock)
            records = {part.number: (part, offset) for part, offset in _part_records(upload)}
            for index, (number, etag) in enumerate(parts):
                part = records[number][0] if number in records else None
                if part is None or part.etag != etag.strip('"'):
                    raise InvalidPart(f"part {number} was not uploaded with ETag {etag}")
                if index < len(parts) - 1 and part.size < MIN_PART_BYTES:
                    raise InvalidPart(
                        f"part {number} is {part.size} bytes; every part but the last must be "
                        f"at least {MIN_PART_BYTES} bytes"
                    )
            return self._assemble(bucket_dir, key, upload, numbers, records, parts)
        finally:
            for lock in locks:
                os.close(lock)

    def _assemble(
        self,
        bucket_dir: Path,
        key: str,
        upload: Path,
        numbers: list[int],
        records: dict[int, tuple[PartInfo, int | None]],
        parts: list[tuple[int, str]],
    ) -> ObjectInfo:
        known = {number: part for number, (part, _) in records.items()}
        info = _read_json(upload / "upload.json")
        size = sum(known[number].size for number in numbers)
        etag = multipart_etag([known[number].etag for number, _ in parts])
        if _laid_out_in_place(numbers, records, info.get("part_size")):
            # Every part already sits at its place in one file: no copy, just trim it.
            temporary = upload / SHARED_DATA
            with temporary.open("rb+") as out:
                out.truncate(size)
                _flush(out)
        else:
            staging = bucket_dir / TMP
            _private_dir(staging)
            temporary = staging / uuid.uuid4().hex
            with _private_file(temporary) as out:
                for number in numbers:
                    offset = records[number][1]
                    if offset is None:
                        _append(upload / f"part-{number:05d}", out)
                    else:
                        _append(upload / SHARED_DATA, out, offset, known[number].size)
                _flush(out)
        try:
            result = self._publish(
                bucket_dir,
                key,
                temporary,
                etag,
                size,
                info.get("content_type"),
                info.get("metadata"),
            )
        finally:
            temporary.unlink(missing_ok=True)
        shutil.rmtree(upload, ignore_errors=True)
        return result

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        bucket_dir = self._existing_bucket(bucket)
        upload = self._upload_dir(bucket_dir, key, upload_id)
        await asyncio.to_thread(shutil.rmtree, upload, True)

    async def list_multipart(self, bucket: str, prefix: str = "") -> list[UploadInfo]:
        bucket_dir = self._existing_bucket(bucket)
        uploads = await asyncio.to_thread(_uploads_in, bucket_dir)
        found = [u for u in uploads if u.key.startswith(prefix)]
        # S3's order: by key, then by upload ID (what the page markers compare).
        return sorted(found, key=lambda u: (u.key, u.upload_id))

    async def expire_multipart(self, older_than_ms: int) -> int:
        return await asyncio.to_thread(self._expire_sync, older_than_ms)

    def _expire_sync(self, older_than_ms: int) -> int:
        expired = 0
        for entry in self.root.iterdir():
            folder = entry / UPLOADS
            if not folder.is_dir():
                continue
            for upload in folder.iterdir():
                begun = _upload_begun_ms(upload)
                if begun is not None and begun < older_than_ms:
                    shutil.rmtree(upload, ignore_errors=True)
                    expired += 1
        return expired


def _uploads_in(bucket_dir: Path) -> list[UploadInfo]:
    folder = bucket_dir / UPLOADS
    if not folder.is_dir():
        return []
    found = []
    for upload in folder.iterdir():
        try:
            info = _read_json(upload / "upload.json")
        except (OSError, ValueError):
            continue  # being made or removed
        found.append(UploadInfo(str(info["key"]), upload.name, int(info["created_ms"])))
    return found


def _upload_begun_ms(upload: Path) -> int | None:
    """When an upload last showed life: its record's time or its folder's last change (a
    part written), whichever is later; an upload still being written is never taken for
    an abandoned one."""
    try:
        changed = _ms(upload.stat().st_mtime_ns)
    except OSError:
        return None
    try:
        return max(changed, int(_read_json(upload / "upload.json")["created_ms"]))
    except (OSError, ValueError, KeyError):
        return changed


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _meta_of(info: ObjectInfo, mtime_ns: int) -> dict[str, Any]:
    return {
        "etag": info.etag,
        "size": info.size,
        "mtime_ns": mtime_ns,
        "last_modified_ms": info.last_modified_ms,
        "content_type": info.content_type,
        "metadata": info.metadata,
    }


def _info_of(key: str, meta: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        key,
        int(meta["size"]),
        str(meta["etag"]),
        int(meta["last_modified_ms"]),
        str(meta.get("content_type") or DEFAULT_TYPE),
        dict(meta.get("metadata") or {}),
    )


def _hash_and_write(digest: Any, handle: Any, chunk: bytes) -> None:
    digest.update(chunk)
    handle.write(chunk)


def _append(source_path: Path, out: Any, start: int = 0, length: int | None = None) -> None:
    """Append bytes of a file to ``out``, in the kernel where it can (no copy through
    Python)."""
    out.flush()
    with source_path.open("rb") as source:
        remaining = os.fstat(source.fileno()).st_size - start if length is None else length
        position = start
        try:
            while remaining > 0:
                copied = os.copy_file_range(source.fileno(), out.fileno(), remaining, position)
                if copied == 0:
                    break
                remaining -= copied
                position += copied
        except OSError:
            source.seek(position)
            while remaining > 0 and (block := source.read(min(CHUNK, remaining))):
                out.write(block)
                remaining -= len(block)


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` (created if needed), or None if someone holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _claim_slot(upload: Path, number: int, length: int) -> int | None:
    """Where part ``number`` of ``length`` bytes goes in the upload's shared data file, or
    None when it must be kept apart.

    S3 clients cut uploads into parts of one size (the last one smaller). The first part
    of at least MIN_PART_BYTES fixes that size; a part of that size or smaller is written
    straight to its final offset, so completing the upload needs no copy. Uploads that do
    not follow the pattern are still correct: completion copies them together.
    """
    info_path = upload / "upload.json"
    with info_path.open("rb+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # parts of one upload arrive in parallel
        info = _read_json(info_path)
        part_size = info.get("part_size")
        if part_size is None and length >= MIN_PART_BYTES:
            part_size = info["part_size"] = length
            _write_json(info_path, info)
    if part_size is None or length > part_size:
        return None
    return (number - 1) * int(part_size)


async def _receive_at(
    data: Path, offset: int, length: int, chunks: AsyncIterator[bytes]
) -> tuple[str, int]:
    fd = await asyncio.to_thread(os.open, data, os.O_WRONLY | os.O_CREAT, 0o600)
    digest = hashlib.md5()
    written = 0
    # Each block is hashed and written on a thread while the next one arrives.
    steps = InOrderSteps()
    try:
        async for chunk in chunks:
            if written + len(chunk) > length:
                raise InvalidPart(f"the part is longer than its declared {length} bytes")
            await steps.add(_hash_and_pwrite, digest, fd, chunk, offset + written)
            written += len(chunk)
        await steps.finish()
    finally:
        await steps.settle()
        os.close(fd)
    if written != length:
        raise InvalidPart(f"the part ended after {written} of its {length} bytes")
    return digest.hexdigest(), written


def _hash_and_pwrite(digest: Any, fd: int, chunk: bytes, position: int) -> None:
    digest.update(chunk)
    view = memoryview(chunk)
    while view:
        done = os.pwrite(fd, view, position)
        view, position = view[done:], position + done


def _part_records(upload: Path) -> list[tuple[PartInfo, int | None]]:
    records = []
    for meta in sorted(upload.glob("part-*.json")):
        if not meta.stem[5:].isdigit():
            continue
        info = _read_json(meta)
        part = PartInfo(
            int(meta.stem[5:]), info["size"], info["etag"], _ms(meta.stat().st_mtime_ns)
        )
        records.append((part, info.get("offset")))
    return records


def _laid_out_in_place(
    numbers: list[int], records: dict[int, tuple[PartInfo, int | None]], part_size: int | None
) -> bool:
    if part_size is None or numbers != list(range(1, len(numbers) + 1)):
        return False
    for number in numbers:
        part, offset = records[number]
        if offset != (number - 1) * part_size:
            return False
        if number < len(numbers) and part.size != part_size:
            return False
    return True


def _flush(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _prune(directory: Path, stop: Path) -> None:
    """Remove now-empty folders from ``directory`` up to (not including) ``stop``."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with _private_file(temporary) as out:
        out.write(json.dumps(data).encode())
    os.replace(temporary, path)


def _private_dir(path: Path) -> None:
    """Make ``path`` and its missing parents, each 0700 (``mkdir(parents=True)`` would
    give the parents the default mode)."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


def _private_file(path: Path) -> BinaryIO:
    """A new file open for writing, readable by the server alone (0600)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
