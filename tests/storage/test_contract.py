"""One behaviour for every store: the local driver, and the S3 driver against the embedded
endpoint and against moto's S3 server."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openarts.storage.base import (
    ByteRange,
    NoSuchKey,
    ObjectStore,
    one_chunk,
    read_all,
)
from openarts.storage.local import LocalStore
from openarts.storage.paths import ObjectPath
from openarts.storage.s3 import PART_BYTES
from openarts.storage.transfer import download_dir, upload_dir


async def chunks_of(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
async def bucket(any_store: ObjectStore) -> str:
    name = f"contract-{uuid.uuid4().hex[:12]}"
    await any_store.create_bucket(name)
    return name


async def test_round_trip_and_ranges(any_store: ObjectStore, bucket: str) -> None:
    info = await any_store.write(
        bucket,
        "dir/file.txt",
        one_chunk(b"0123456789"),
        content_type="text/plain",
        metadata={"origin": "test"},
    )
    assert info.etag == hashlib.md5(b"0123456789").hexdigest()
    stat = await any_store.stat(bucket, "dir/file.txt")
    assert (stat.size, stat.content_type, stat.metadata) == (10, "text/plain", {"origin": "test"})
    assert await read_all(any_store, bucket, "dir/file.txt") == b"0123456789"
    part = b"".join([c async for c in any_store.read(bucket, "dir/file.txt", ByteRange(2, 4))])
    assert part == b"234"


async def test_large_write_streams_in_parts(any_store: ObjectStore, bucket: str) -> None:
    data = bytes(range(256)) * ((PART_BYTES * 2 + 12345) // 256)
    info = await any_store.write(bucket, "large.bin", chunks_of(data))
    assert info.size == len(data)
    assert await read_all(any_store, bucket, "large.bin") == data


async def test_listing(any_store: ObjectStore, bucket: str) -> None:
    for key in ["a/1", "a/2", "b/1", "c"]:
        await any_store.write(bucket, key, one_chunk(b"x"))
    page = await any_store.list_objects(bucket, delimiter="/")
    assert [o.key for o in page.objects] == ["c"]
    assert page.common_prefixes == ["a/", "b/"]
    first = await any_store.list_objects(bucket, max_keys=2)
    assert first.is_truncated and [o.key for o in first.objects] == ["a/1", "a/2"]
    rest = await any_store.list_objects(bucket, marker=first.next_marker or "")
    assert [o.key for o in rest.objects] == ["b/1", "c"]
    grouped = await any_store.list_objects(bucket, delimiter="/", max_keys=1)
    after = await any_store.list_objects(bucket, delimiter="/", marker=grouped.next_marker or "")
    assert grouped.common_prefixes == ["a/"] and after.common_prefixes == ["b/"]


async def test_copy_and_delete(any_store: ObjectStore, bucket: str) -> None:
    await any_store.write(bucket, "src", one_chunk(b"copy me"))
    copied = await any_store.copy(bucket, "src", bucket, "dst")
    assert copied.size == 7
    await any_store.delete(bucket, "src")
    with pytest.raises(NoSuchKey):
        await any_store.stat(bucket, "src")
    assert await read_all(any_store, bucket, "dst") == b"copy me"


async def test_multipart_api(any_store: ObjectStore, bucket: str) -> None:
    upload = await any_store.create_multipart(bucket, "mp.bin")
    first = b"1" * (5 * 1024 * 1024)
    p1 = await any_store.upload_part(bucket, "mp.bin", upload, 1, chunks_of(first))
    p2 = await any_store.upload_part(bucket, "mp.bin", upload, 2, one_chunk(b"2"))
    listed = await any_store.list_parts(bucket, "mp.bin", upload)
    assert [(p.number, p.etag) for p in listed] == [(1, p1.etag), (2, p2.etag)]
    info = await any_store.complete_multipart(
        bucket, "mp.bin", upload, [(1, p1.etag), (2, p2.etag)]
    )
    assert info.size == len(first) + 1
    assert info.etag.endswith("-2")
    aborted = await any_store.create_multipart(bucket, "gone.bin")
    await any_store.upload_part(bucket, "gone.bin", aborted, 1, one_chunk(b"x"))
    await any_store.abort_multipart(bucket, "gone.bin", aborted)
    with pytest.raises(NoSuchKey):
        await any_store.stat(bucket, "gone.bin")


async def test_abandoned_uploads_are_listed_then_expire(
    any_store: ObjectStore, bucket: str
) -> None:
    old = await any_store.create_multipart(bucket, "old.bin")
    await any_store.upload_part(bucket, "old.bin", old, 1, one_chunk(b"x" * 100))
    listed = await any_store.list_multipart(bucket)
    assert [(u.key, u.upload_id) for u in listed] == [("old.bin", old)]
    if isinstance(any_store, LocalStore):
        # Nothing that showed life after the cutoff goes; what went quiet before it does.
        assert await any_store.expire_multipart(listed[0].initiated_ms - 1) == 0
        assert await any_store.expire_multipart(int(time.time() * 1000) + 1000) == 1
        assert await any_store.list_multipart(bucket) == []
        folder = any_store.root / bucket
        leftovers = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
        assert all("uploads" not in str(p) for p in leftovers), leftovers
    else:
        await any_store.abort_multipart(bucket, "old.bin", old)


async def test_missing_objects(any_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(NoSuchKey):
        await any_store.stat(bucket, "absent")
    with pytest.raises(NoSuchKey):
        await read_all(any_store, bucket, "absent")


async def test_folder_round_trip(any_store: ObjectStore, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "deep" / "er").mkdir(parents=True)
    (source / "top.txt").write_text("top")
    (source / "deep" / "er" / "leaf é.bin").write_bytes(b"\x00\x01")
    (source / "deep" / "empty").write_bytes(b"")
    sent = await upload_dir(any_store, source, ObjectPath(bucket, "run/"))
    assert (sent.files, sent.bytes) == (3, 5)
    target = tmp_path / "target"
    got = await download_dir(any_store, ObjectPath.parse(f"obs://{bucket}/run/"), target)
    assert (got.files, got.bytes) == (3, 5)
    assert (target / "deep" / "er" / "leaf é.bin").read_bytes() == b"\x00\x01"
    assert (target / "top.txt").read_text() == "top"
    single = await download_dir(any_store, ObjectPath(bucket, "run/top.txt"), tmp_path / "one")
    assert single.files == 1 and (tmp_path / "one" / "top.txt").read_text() == "top"
