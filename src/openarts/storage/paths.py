"""Object paths: ``obs://bucket/key``, ``s3://bucket/key`` and the reference's ``/bucket/key``
name the same object. Keys that could escape their bucket are refused here, once."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
MAX_KEY_BYTES = 1024
# Names the local driver keeps for itself at the top of each bucket folder.
RESERVED_PREFIX = ".openarts-"


class InvalidPath(ValueError):
    """Not a valid bucket, key or object path; the message says what is wrong."""


def check_bucket(name: str) -> str:
    if not _BUCKET.fullmatch(name) or ".." in name or _IP_LIKE.fullmatch(name):
        raise InvalidPath(
            f"bucket name {name!r} must be 3-63 lower-case letters, digits, '.' or '-', "
            "start and end with a letter or digit, and not look like an IP address"
        )
    return name


def check_key(key: str) -> str:
    if not key:
        raise InvalidPath("the object key is empty")
    if "\x00" in key:
        raise InvalidPath("an object key cannot contain NUL")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidPath(f"an object key is at most {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise InvalidPath(f"object key {key!r} cannot start with '/'")
    if any(part in (".", "..") for part in key.split("/")):
        raise InvalidPath(f"object key {key!r} cannot contain '.' or '..' segments")
    if "//" in key:
        raise InvalidPath(f"object key {key!r} cannot contain empty segments ('//')")
    if key.startswith(RESERVED_PREFIX):
        raise InvalidPath(f"object keys starting with {RESERVED_PREFIX!r} are reserved")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: like a key, but it may be empty or end anywhere."""
    if "\x00" in prefix or prefix.startswith("/") or len(prefix.encode()) > MAX_KEY_BYTES:
        raise InvalidPath(f"prefix {prefix!r} is not valid")
    if any(part == ".." for part in prefix.split("/")):
        raise InvalidPath(f"prefix {prefix!r} cannot contain '..' segments")
    return prefix


@dataclass(frozen=True, slots=True)
class ObjectPath:
    bucket: str
    key: str  # "" names the bucket itself, or a prefix when it ends with "/"

    @classmethod
    def parse(cls, text: str) -> ObjectPath:
        for scheme in ("obs://", "s3://"):
            if text.startswith(scheme):
                rest = text[len(scheme) :]
                break
        else:
            if not text.startswith("/"):
                raise InvalidPath(
                    f"{text!r} is not an object path: use obs://bucket/key or /bucket/key"
                )
            rest = text[1:]
        bucket, _, key = rest.partition("/")
        check_bucket(bucket)
        if key:
            check_key(key)
        return cls(bucket, key)

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def child(self, name: str) -> ObjectPath:
        base = self.key if self.is_prefix else self.key + "/"
        return ObjectPath(self.bucket, check_key(base + name))

    def __str__(self) -> str:
        return f"obs://{self.bucket}/{self.key}"
