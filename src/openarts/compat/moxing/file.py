"""``mox.file``: files and folders over ``obs://`` (or ``s3://``) paths and local paths
alike. A folder in the store is a key prefix (and, once made, an empty object named
``prefix/``)."""

from __future__ import annotations

import builtins
import fnmatch
import glob as _glob
import io
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import IO, Any

from ._store import Store, StoreError

__all__ = [
    "File",
    "StoreError",
    "append",
    "copy",
    "copy_parallel",
    "exists",
    "get_size",
    "glob",
    "is_directory",
    "list_directory",
    "make_dirs",
    "mk_dir",
    "read",
    "remove",
    "rename",
    "set_auth",
    "shift",
    "stat",
    "write",
]

_SCHEMES = ("obs://", "s3://")
_store: Store | None = None


def _client() -> Store:
    global _store
    if _store is None:
        _store = Store()
    return _store


def set_auth(
    ak: str | None = None,
    sk: str | None = None,
    server: str | None = None,
    region: str | None = None,
    **_: object,
) -> None:
    """Use these keys (and endpoint) instead of the task's own."""
    if ak:
        os.environ["AWS_ACCESS_KEY_ID"] = ak
    if sk:
        os.environ["AWS_SECRET_ACCESS_KEY"] = sk
    if server:
        os.environ["AWS_ENDPOINT_URL"] = server if "://" in server else f"https://{server}"
    if region:
        os.environ["AWS_DEFAULT_REGION"] = region
    global _store
    _store = None


def _remote(url: str) -> tuple[str, str] | None:
    """(bucket, key) of an obs:// path, None for a local one."""
    text = os.fspath(url)
    for scheme in _SCHEMES:
        if text.startswith(scheme):
            bucket, _, key = text[len(scheme) :].partition("/")
            if not bucket:
                raise ValueError(f"{url}: no bucket in the path")
            return bucket, key
    return None


def _folder(key: str) -> str:
    return key if not key or key.endswith("/") else key + "/"


def _join(url: str, name: str) -> str:
    return url.rstrip("/") + "/" + name if name else url


# -- asking ------------------------------------------------------------------------------------
def exists(url: str) -> bool:
    where = _remote(url)
    if where is None:
        return os.path.exists(url)
    bucket, key = where
    if key and not key.endswith("/") and _client().head(bucket, key) is not None:
        return True
    return is_directory(url)


def is_directory(url: str) -> bool:
    where = _remote(url)
    if where is None:
        return os.path.isdir(url)
    bucket, key = where
    listing = _client().list(bucket, _folder(key), "/")
    return bool(listing.keys or listing.prefixes) or not key


def list_directory(url: str, recursive: bool = False) -> list[str]:
    """The names in a folder (with ``recursive``, the paths of every file beneath it),
    relative to it."""
    where = _remote(url)
    if where is None:
        if not os.path.isdir(url):
            raise NotADirectoryError(f"{url} is not a folder")
        if not recursive:
            return sorted(os.listdir(url))
        found = []
        for parent, _, names in os.walk(url):
            found += [os.path.relpath(os.path.join(parent, n), url) for n in names]
        return sorted(found)
    bucket, key = where
    prefix = _folder(key)
    listing = _client().list(bucket, prefix, "" if recursive else "/")
    names = [k[len(prefix) :] for k, _, _ in listing.keys if k != prefix]
    names = [n for n in names if n and not n.endswith("/")] if recursive else names
    names += [p[len(prefix) :].rstrip("/") for p in listing.prefixes]
    if not names and not recursive and key and not is_directory(url):
        raise NotADirectoryError(f"{url} is not a folder")
    return sorted(set(n.rstrip("/") for n in names if n))


def glob(pattern: str) -> list[str]:
    where = _remote(pattern)
    if where is None:
        return sorted(_glob.glob(pattern))
    bucket, key = where
    scheme = pattern[: pattern.index("://") + 3]
    static = key
    for mark in "*?[":
        static = static.split(mark)[0]
    listing = _client().list(bucket, static)
    urls = {f"{scheme}{bucket}/{k.rstrip('/')}" for k, _, _ in listing.keys}
    # Folders match too (their prefixes, at every level).
    for k, _, _ in listing.keys:
        parts = k.rstrip("/").split("/")
        urls.update(f"{scheme}{bucket}/{'/'.join(parts[:i])}" for i in range(1, len(parts)))
    return sorted(u for u in urls if fnmatch.fnmatchcase(u, pattern.rstrip("/")))


@dataclass(frozen=True)
class StatResult:
    length: int
    is_dir: bool
    mtime_nsec: int

    @property
    def size(self) -> int:
        return self.length


def stat(url: str) -> StatResult:
    where = _remote(url)
    if where is None:
        found = os.stat(url)
        return StatResult(found.st_size, os.path.isdir(url), found.st_mtime_ns)
    bucket, key = where
    head = _client().head(bucket, key) if key and not key.endswith("/") else None
    if head is not None:
        size, modified = head
        when = int(parsedate_to_datetime(modified).timestamp() * 1e9) if modified else 0
        return StatResult(size, False, when)
    if is_directory(url):
        return StatResult(0, True, 0)
    raise FileNotFoundError(f"{url}: no such object or folder")


def get_size(url: str, recursive: bool = False) -> int:
    where = _remote(url)
    if where is None:
        if recursive and os.path.isdir(url):
            return sum(
                os.path.getsize(os.path.join(parent, name))
                for parent, _, names in os.walk(url)
                for name in names
            )
        return os.path.getsize(url)
    bucket, key = where
    if recursive:
        return sum(size for _, size, _ in _client().list(bucket, _folder(key)).keys)
    return stat(url).length


# -- reading and writing -------------------------------------------------------------------
def read(url: str, binary: bool = False) -> Any:
    where = _remote(url)
    if where is None:
        with builtins.open(url, "rb" if binary else "r") as handle:
            return handle.read()
    data = _client().get(*where)
    return data if binary else data.decode("utf-8")


def write(url: str, content: str | bytes, binary: bool = False) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    where = _remote(url)
    if where is None:
        parent = os.path.dirname(url)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with builtins.open(url, "wb") as handle:
            handle.write(data)
        return
    _client().put(*where, data)


def append(url: str, content: str | bytes, binary: bool = False) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    before = read(url, binary=True) if exists(url) else b""
    write(url, before + data, binary=True)


class File(io.IOBase):
    """A file of the store (or a local one) opened like ``open``: read whole when opened
    for reading, written whole when closed after writing."""

    def __init__(self, url: str, mode: str = "r", encoding: str = "utf-8") -> None:
        super().__init__()
        self.url, self.mode = url, mode
        self._binary = "b" in mode
        self._writing = any(m in mode for m in "wax+")
        data = b""
        if "r" in mode or ("a" in mode and exists(url)):
            data = read(url, binary=True)
        self._buffer = io.BytesIO(data)
        if "a" in mode:
            self._buffer.seek(0, io.SEEK_END)
        self._handle: IO[Any] = (
            self._buffer if self._binary else io.TextIOWrapper(self._buffer, encoding=encoding)
        )

    def read(self, size: int = -1) -> Any:
        return self._handle.read(size)

    def readline(self, size: int = -1) -> Any:  # type: ignore[override]
        return self._handle.readline(size)

    def readlines(self, hint: int = -1) -> list[Any]:
        return self._handle.readlines(hint)

    def __iter__(self) -> Any:
        return iter(self._handle)

    def write(self, data: Any) -> int:
        return self._handle.write(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def readable(self) -> bool:
        return "r" in self.mode or "+" in self.mode

    def writable(self) -> bool:
        return self._writing

    def close(self) -> None:
        if self.closed:
            return
        if self._writing:
            self._handle.flush()
            write(self.url, self._buffer.getvalue(), binary=True)
        super().close()


# -- changing --------------------------------------------------------------------------------
def make_dirs(url: str) -> None:
    where = _remote(url)
    if where is None:
        os.makedirs(url, exist_ok=True)
        return
    bucket, key = where
    if key:
        _client().put(bucket, _folder(key), b"")


mk_dir = make_dirs


def remove(url: str, recursive: bool = False) -> None:
    where = _remote(url)
    if where is None:
        if os.path.isdir(url) and not os.path.islink(url):
            if not recursive:
                raise IsADirectoryError(f"{url} is a folder: remove(..., recursive=True)")
            shutil.rmtree(url)
        else:
            os.remove(url)
        return
    bucket, key = where
    store = _client()
    if recursive:
        for found, _, _ in store.list(bucket, _folder(key)).keys:
            store.delete(bucket, found)
        if key and not key.endswith("/") and store.head(bucket, key) is not None:
            store.delete(bucket, key)
        return
    if store.head(bucket, key) is None:
        if is_directory(url):
            raise IsADirectoryError(f"{url} is a folder: remove(..., recursive=True)")
        raise FileNotFoundError(f"{url}: no such object")
    store.delete(bucket, key)


def copy(src_url: str, dst_url: str, client_id: object = None, **_: object) -> None:
    """One file, from and to either kind of path."""
    source, target = _remote(src_url), _remote(dst_url)
    if source is not None and target is not None:
        _client().copy(*source, *target)
        return
    if source is None and os.path.isdir(src_url):
        raise IsADirectoryError(f"{src_url} is a folder: use copy_parallel")
    write(dst_url, read(src_url, binary=True), binary=True)


def copy_parallel(
    src_url: str,
    dst_url: str,
    file_list: Iterable[str] | None = None,
    threads: int = 16,
    is_processing: bool = True,
    use_queue: bool = True,
    **_: object,
) -> None:
    """A whole folder (or ``file_list``, paths relative to it), file by file, at once."""
    names = list(file_list) if file_list is not None else list_directory(src_url, recursive=True)
    if _remote(dst_url) is None:
        os.makedirs(dst_url, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, min(threads, 32))) as pool:
        done = [pool.submit(copy, _join(src_url, name), _join(dst_url, name)) for name in names]
        for future in done:
            future.result()


def rename(src_url: str, dst_url: str) -> None:
    if _remote(src_url) is None and _remote(dst_url) is None:
        os.rename(src_url, dst_url)
        return
    if is_directory(src_url) and not (_remote(src_url) and _is_object(src_url)):
        copy_parallel(src_url, dst_url)
        remove(src_url, recursive=True)
        return
    copy(src_url, dst_url)
    remove(src_url)


def _is_object(url: str) -> bool:
    where = _remote(url)
    return where is not None and bool(where[1]) and _client().head(*where) is not None


# -- shift('os', 'mox'): the standard functions take obs:// paths too --------------------------
_ORIGINALS: dict[tuple[Any, str], Callable[..., Any]] = {}


def _both(module: Any, name: str, remote: Callable[..., Any]) -> None:
    local = getattr(module, name)
    _ORIGINALS[(module, name)] = local

    def either(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and _remote(path) is not None:
            return remote(path, *args, **kwargs)
        return local(path, *args, **kwargs)

    either.__name__ = getattr(local, "__name__", name)
    either.__doc__ = getattr(local, "__doc__", None)
    setattr(module, name, either)


def _open(url: str, mode: str = "r", *_: Any, encoding: str | None = None, **__: Any) -> File:
    return File(url, mode, encoding or "utf-8")


def _copy_to(src: str, dst: Any, *_: Any, **__: Any) -> Any:
    copy(src, os.fspath(dst))
    return dst


def shift(frm: str, to: str) -> None:
    """``shift('os', 'mox')``: ``open``, ``os`` and ``shutil``'s file functions accept
    ``obs://`` paths too, as they do with Huawei's moxing; ``shift('mox', 'os')`` undoes it."""
    if (frm, to) == ("mox", "os"):
        for (module, name), original in _ORIGINALS.items():
            setattr(module, name, original)
        _ORIGINALS.clear()
        return
    if (frm, to) != ("os", "mox"):
        raise ValueError("shift takes ('os', 'mox') or ('mox', 'os')")
    if _ORIGINALS:
        return  # already shifted
    _both(builtins, "open", _open)
    _both(os.path, "exists", exists)
    _both(os.path, "isdir", is_directory)
    _both(os.path, "isfile", lambda p: exists(p) and not is_directory(p))
    _both(os.path, "getsize", get_size)
    _both(os, "listdir", list_directory)
    _both(os, "makedirs", lambda p, *a, **k: make_dirs(p))
    _both(os, "mkdir", lambda p, *a, **k: make_dirs(p))
    _both(os, "remove", remove)
    _both(os, "unlink", remove)
    _both(os, "rename", rename)
    _both(shutil, "rmtree", lambda p, *a, **k: remove(p, recursive=True))
    _both(shutil, "copyfile", _copy_to)
    _both(shutil, "copy", _copy_to)
    _both(shutil, "copytree", lambda s, d, *a, **k: copy_parallel(s, os.fspath(d)))
