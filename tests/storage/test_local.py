"""The local driver's behaviour, edge cases included."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openarts.storage.base import (
    BucketAlreadyExists,
    BucketNotEmpty,
    ByteRange,
    InvalidKey,
    InvalidPart,
    ListPage,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectInfo,
    StorageError,
    one_chunk,
    read_all,
)
from openarts.storage.local import MIN_PART_BYTES, LocalStore, multipart_etag
from openarts.storage.paths import InvalidPath, ObjectPath
from openarts.storage.transfer import download_dir


@pytest.fixture
async def store(tmp_path: Path) -> LocalStore:
    local = LocalStore(tmp_path / "obs")
    await local.create_bucket("data")
    return local


async def put(store: LocalStore, key: str, data: bytes, bucket: str = "data") -> str:
    return (await store.write(bucket, key, one_chunk(data))).etag


def test_paths_name_the_same_object() -> None:
    assert ObjectPath.parse("obs://data/a/b.txt") == ObjectPath.parse("/data/a/b.txt")
    assert ObjectPath.parse("s3://data/dir/").is_prefix
    for bad in [
        "obs://data/../x",
        "/data/a/./b",
        "data/x",
        "obs://Data/x",
        "obs://1.2.3.4/x",
        "/data/a\x00b",
        "obs://data//x",
    ]:
        with pytest.raises(InvalidPath):
            ObjectPath.parse(bad)


async def test_write_read_stat(store: LocalStore, tmp_path: Path) -> None:
    etag = await put(store, "a/b.txt", b"hello world")
    assert etag == hashlib.md5(b"hello world").hexdigest()
    info = await store.stat("data", "a/b.txt")
    assert (info.size, info.etag) == (11, etag)
    assert await read_all(store, "data", "a/b.txt") == b"hello world"
    assert (tmp_path / "obs" / "data" / "a" / "b.txt").read_bytes() == b"hello world"
    ranged = [c async for c in store.read("data", "a/b.txt", ByteRange(6, 10))]
    assert b"".join(ranged) == b"world"


async def test_zero_byte_and_unicode_keys(store: LocalStore) -> None:
    await put(store, "empty", b"")
    assert (await store.stat("data", "empty")).size == 0
    assert await read_all(store, "data", "empty") == b""
    await put(store, "données/日本語 file.txt", "ü".encode())
    listed = await store.list_objects("data", prefix="données/")
    assert [o.key for o in listed.objects] == ["données/日本語 file.txt"]


async def test_missing_things(store: LocalStore) -> None:
    with pytest.raises(NoSuchKey):
        await store.stat("data", "nope")
    with pytest.raises(NoSuchKey):
        await read_all(store, "data", "nope")
    with pytest.raises(NoSuchBucket):
        await store.stat("other", "x")
    with pytest.raises(BucketAlreadyExists):
        await store.create_bucket("data")
    await store.delete("data", "nope")  # deleting nothing is fine, as in S3


async def test_traversal_and_reserved_keys_are_refused(store: LocalStore) -> None:
    for key in ["../escape", "a/../../b", "/abs", ".openarts-meta/x", "a\x00"]:
        with pytest.raises(InvalidKey):
            await put(store, key, b"x")


async def test_listing_prefix_delimiter_and_paging(store: LocalStore) -> None:
    for key in ["a-c", "a/b", "a/c/d", "a/c/e", "b", "deep/1/2/3/4/5/6/7/8/9/leaf"]:
        await put(store, key, b"x")
    everything = await store.list_objects("data")
    assert [o.key for o in everything.objects] == [
        "a-c",
        "a/b",
        "a/c/d",
        "a/c/e",
        "b",
        "deep/1/2/3/4/5/6/7/8/9/leaf",
    ]
    top = await store.list_objects("data", delimiter="/")
    assert [o.key for o in top.objects] == ["a-c", "b"]
    assert top.common_prefixes == ["a/", "deep/"]
    inside = await store.list_objects("data", prefix="a/", delimiter="/")
    assert [o.key for o in inside.objects] == ["a/b"]
    assert inside.common_prefixes == ["a/c/"]
    partial = await store.list_objects("data", prefix="a/c/")
    assert [o.key for o in partial.objects] == ["a/c/d", "a/c/e"]
    assert (await store.list_objects("data", prefix="zzz")).objects == []
    first = await store.list_objects("data", max_keys=2)
    assert first.is_truncated and first.next_marker == "a/b"
    second = await store.list_objects("data", marker=first.next_marker or "", max_keys=10)
    assert [o.key for o in second.objects] == ["a/c/d", "a/c/e", "b", "deep/1/2/3/4/5/6/7/8/9/leaf"]
    grouped = await store.list_objects("data", delimiter="/", max_keys=2)
    rest = await store.list_objects("data", delimiter="/", marker=grouped.next_marker or "")
    assert grouped.common_prefixes + rest.common_prefixes == ["a/", "deep/"]


async def test_folder_markers(store: LocalStore) -> None:
    await put(store, "folder/", b"")
    listed = await store.list_objects("data", prefix="folder/")
    assert [o.key for o in listed.objects] == ["folder/"]
    await put(store, "folder/inside", b"1")
    await store.delete("data", "folder/")
    assert [o.key for o in (await store.list_objects("data")).objects] == ["folder/inside"]
    with pytest.raises(InvalidKey):
        await put(store, "notempty/", b"data")


async def test_a_key_cannot_be_both_object_and_folder(store: LocalStore) -> None:
    await put(store, "a", b"1")
    with pytest.raises(InvalidKey, match="object here"):
        await put(store, "a/b", b"2")
    await put(store, "x/y", b"1")
    with pytest.raises(InvalidKey, match="folder"):
        await put(store, "x", b"2")


async def test_delete_prunes_folders_and_buckets_must_be_empty(
    store: LocalStore, tmp_path: Path
) -> None:
    await put(store, "p/q/r", b"1")
    with pytest.raises(BucketNotEmpty):
        await store.delete_bucket("data")
    await store.delete("data", "p/q/r")
    assert not (tmp_path / "obs" / "data" / "p").exists()
    await store.delete_bucket("data")
    assert not await store.bucket_exists("data")


async def test_a_file_put_in_by_hand_is_an_object(store: LocalStore, tmp_path: Path) -> None:
    (tmp_path / "obs" / "data" / "manual.csv").write_bytes(b"1,2\n")
    info = await store.stat("data", "manual.csv")
    assert info.etag == hashlib.md5(b"1,2\n").hexdigest()


async def test_multipart(store: LocalStore) -> None:
    upload = await store.create_multipart("data", "big.bin", content_type="application/x-test")
    first = b"a" * MIN_PART_BYTES
    p1 = await store.upload_part("data", "big.bin", upload, 1, one_chunk(first))
    p2 = await store.upload_part("data", "big.bin", upload, 2, one_chunk(b"tail"))
    assert [p.number for p in await store.list_parts("data", "big.bin", upload)] == [1, 2]
    with pytest.raises(NoSuchKey):
        await store.stat("data", "big.bin")  # nothing visible before completion
    with pytest.raises(InvalidPart):
        await store.complete_multipart("data", "big.bin", upload, [(2, p2.etag), (1, p1.etag)])
    info = await store.complete_multipart("data", "big.bin", upload, [(1, p1.etag), (2, p2.etag)])
    assert info.etag == multipart_etag([p1.etag, p2.etag]) and info.etag.endswith("-2")
    assert info.size == MIN_PART_BYTES + 4
    assert (await store.stat("data", "big.bin")).content_type == "application/x-test"
    with pytest.raises(NoSuchUpload):
        await store.list_parts("data", "big.bin", upload)


async def test_small_parts_are_refused_and_abort_leaves_nothing(store: LocalStore) -> None:
    upload = await store.create_multipart("data", "k")
    p1 = await store.upload_part("data", "k", upload, 1, one_chunk(b"small"))
    p2 = await store.upload_part("data", "k", upload, 2, one_chunk(b"small"))
    with pytest.raises(InvalidPart, match="at least"):
        await store.complete_multipart("data", "k", upload, [(1, p1.etag), (2, p2.etag)])
    await store.abort_multipart("data", "k", upload)
    with pytest.raises(NoSuchKey):
        await store.stat("data", "k")
    assert (await store.list_objects("data")).objects == []


async def test_failed_write_leaves_no_object(store: LocalStore) -> None:
    async def broken() -> object:
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.write("data", "half", broken())  # type: ignore[arg-type]
    with pytest.raises(NoSuchKey):
        await store.stat("data", "half")
    assert (await store.list_objects("data")).objects == []


async def upload_parts(
    store: LocalStore, key: str, parts: dict[int, bytes], order: list[int], sized: bool = True
) -> tuple[str, list[tuple[int, str]]]:
    upload = await store.create_multipart("data", key)
    etags = {}
    for number in order:
        data = parts[number]
        part = await store.upload_part(
            "data", key, upload, number, one_chunk(data), length=len(data) if sized else None
        )
        etags[number] = part.etag
    return upload, sorted(etags.items())


@pytest.mark.parametrize(
    ("sizes", "order", "listed"),
    [
        ([MIN_PART_BYTES, MIN_PART_BYTES, 7], [1, 2, 3], [1, 2, 3]),  # in place, no copy
        ([MIN_PART_BYTES, MIN_PART_BYTES, 7], [3, 2, 1], [1, 2, 3]),  # last part first
        ([MIN_PART_BYTES + 1, MIN_PART_BYTES, 7], [2, 1, 3], [1, 2, 3]),  # uneven sizes
        ([MIN_PART_BYTES, MIN_PART_BYTES, 7], [1, 2, 3], [1, 3]),  # a part left out
    ],
)
async def test_multipart_layouts_assemble_the_same_bytes(
    store: LocalStore, sizes: list[int], order: list[int], listed: list[int]
) -> None:
    parts = {n: bytes([n]) * size for n, size in enumerate(sizes, start=1)}
    upload, etags = await upload_parts(store, "asm.bin", parts, order)
    chosen = [(n, e) for n, e in etags if n in listed]
    info = await store.complete_multipart("data", "asm.bin", upload, chosen)
    expected = b"".join(parts[n] for n in listed)
    assert info.size == len(expected)
    assert await read_all(store, "data", "asm.bin") == expected


async def test_a_part_shorter_than_declared_is_refused(store: LocalStore) -> None:
    upload = await store.create_multipart("data", "short.bin")
    with pytest.raises(InvalidPart, match="ended after"):
        await store.upload_part(
            "data", "short.bin", upload, 1, one_chunk(b"x" * 10), length=MIN_PART_BYTES
        )
    assert await store.list_parts("data", "short.bin", upload) == []


async def test_a_failed_part_rewrite_never_corrupts_the_upload(store: LocalStore) -> None:
    upload = await store.create_multipart("data", "mp")
    good = await store.upload_part(
        "data", "mp", upload, 1, one_chunk(b"a" * MIN_PART_BYTES), length=MIN_PART_BYTES
    )

    async def broken() -> AsyncIterator[bytes]:
        yield b"Z" * 1024
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.upload_part("data", "mp", upload, 1, broken(), length=MIN_PART_BYTES)
    # The earlier part is gone rather than silently half-overwritten.
    with pytest.raises(InvalidPart):
        await store.complete_multipart("data", "mp", upload, [(1, good.etag)])
    again = await store.upload_part(
        "data", "mp", upload, 1, one_chunk(b"b" * MIN_PART_BYTES), length=MIN_PART_BYTES
    )
    await store.complete_multipart("data", "mp", upload, [(1, again.etag)])
    assert await read_all(store, "data", "mp") == b"b" * MIN_PART_BYTES


async def test_keys_that_look_like_metadata_names_do_not_collide(store: LocalStore) -> None:
    for key in ["x", "x.meta/y", "x.m/y", "x.d", "q.meta/", "q", "a/.dir", "a/folder.marker"]:
        await put(store, key, b"" if key.endswith("/") else key.encode())
    listed = {o.key: o.size for o in (await store.list_objects("data")).objects}
    assert listed == {
        "a/.dir": 6,
        "a/folder.marker": 15,
        "q": 1,
        "q.meta/": 0,
        "x": 1,
        "x.d": 3,
        "x.m/y": 5,
        "x.meta/y": 8,
    }
    assert await read_all(store, "data", "x.meta/y") == b"x.meta/y"


async def test_files_named_in_another_encoding_are_skipped(
    store: LocalStore, tmp_path: Path
) -> None:
    await put(store, "fine.txt", b"1")
    folder = os.fsencode(tmp_path / "obs" / "data")
    os.mkdir(folder + b"/\xff-dir")
    with open(folder + b"/\xffname", "wb") as handle:  # noqa: ASYNC230
        handle.write(b"x")
    assert [o.key for o in (await store.list_objects("data")).objects] == ["fine.txt"]


async def test_a_key_that_climbs_out_is_never_written_outside(tmp_path: Path) -> None:
    # Some S3 stores accept keys like this; the local disk must not follow them.
    class Climbing(LocalStore):
        async def list_objects(self, bucket: str, **kwargs: Any) -> ListPage:
            return ListPage([ObjectInfo("data/../../escaped", 1, "", 0)], [], False, "")

    store = Climbing(tmp_path / "store")
    target = tmp_path / "target"
    with pytest.raises(StorageError, match="outside"):
        await download_dir(store, ObjectPath("b", "data/"), target)
    assert not (tmp_path / "escaped").exists()
