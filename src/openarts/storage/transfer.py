"""Whole-folder transfers between object storage and the local disk, over any store."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from openarts.storage.base import CHUNK, ObjectStore, StorageError, file_chunks
from openarts.storage.paths import ObjectPath, check_key


@dataclass(frozen=True, slots=True)
class TransferSummary:
    files: int
    bytes: int


async def _all_keys(store: ObjectStore, bucket: str, prefix: str) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    marker = ""
    while True:
        page = await store.list_objects(bucket, prefix=prefix, marker=marker)
        keys += [(o.key, o.size) for o in page.objects]
        if not page.is_truncated or not page.next_marker:
            return keys
        marker = page.next_marker


async def download_dir(store: ObjectStore, source: ObjectPath, target: Path) -> TransferSummary:
    """Copy every object under ``source`` (a prefix or one object) into ``target``.

    Keys become paths relative to the prefix; folder markers become folders.
    """
    prefix = source.key
    if prefix and not prefix.endswith("/"):
        keys = await _all_keys(store, source.bucket, prefix)
        if any(key == prefix for key, _ in keys):
            name = prefix.rsplit("/", 1)[-1]
            size = await _download(store, source.bucket, prefix, target / name)
            return TransferSummary(1, size)
        prefix += "/"
    files = total = 0
    for key, _ in await _all_keys(store, source.bucket, prefix):
        relative = key[len(prefix) :]
        destination = target / relative
        if relative.startswith("/") or ".." in PurePosixPath(relative).parts:
            # A key such as "a/../../x" (some S3 stores allow them) stays out of the disk.
            raise StorageError(f"object key {key!r} would land outside {target}")
        if key.endswith("/"):
            await asyncio.to_thread(destination.mkdir, parents=True, exist_ok=True)
            continue
        total += await _download(store, source.bucket, key, destination)
        files += 1
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    return TransferSummary(files, total)


async def _download(store: ObjectStore, bucket: str, key: str, destination: Path) -> int:
    await asyncio.to_thread(destination.parent.mkdir, parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    size = 0
    handle = await asyncio.to_thread(partial.open, "wb")
    try:
        async for chunk in store.read(bucket, key):
            await asyncio.to_thread(handle.write, chunk)
            size += len(chunk)
    except BaseException:
        handle.close()
        partial.unlink(missing_ok=True)
        raise
    handle.close()
    partial.replace(destination)
    return size


async def upload_dir(store: ObjectStore, source: Path, target: ObjectPath) -> TransferSummary:
    """Copy a file, or every file under a folder, to ``target`` (a prefix or a key).

    The files may be a user's code's, read by the server: only regular files are sent,
    and no symbolic link is followed (one could point at the server's own files)."""
    kind = await asyncio.to_thread(_kind, source)
    if kind == "link":
        raise StorageError(f"{source.name} is a symbolic link; only files and folders are sent")
    if kind == "file":
        key = target.key + source.name if target.is_prefix else target.key
        chunks = file_chunks(source, CHUNK, follow_links=False)
        info = await store.write(target.bucket, check_key(key), chunks)
        return TransferSummary(1, info.size)
    base = target.key if target.is_prefix else target.key + "/"
    files = total = 0
    for path in await asyncio.to_thread(_files_under, source):
        key = check_key(base + path.relative_to(source).as_posix())
        info = await store.write(target.bucket, key, file_chunks(path, CHUNK, follow_links=False))
        files += 1
        total += info.size
    return TransferSummary(files, total)


def _kind(path: Path) -> str:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "folder"  # nothing to send
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "folder"


def _files_under(folder: Path) -> list[Path]:
    """The regular files under ``folder``, never through a symbolic link."""
    found = []
    for parent, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            path = Path(parent) / name
            if stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    return sorted(found)
