"""S3 listing semantics over a sorted list of keys: prefix, delimiter, marker, max-keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Grouped:
    keys: list[str]
    prefixes: list[str]
    is_truncated: bool
    next_marker: str | None


def group_listing(
    sorted_keys: list[str], *, prefix: str, delimiter: str, marker: str, max_keys: int
) -> Grouped:
    keys: list[str] = []
    prefixes: list[str] = []
    last: str | None = None
    count = 0
    for key in sorted_keys:
        if not key.startswith(prefix):
            continue
        entry, is_prefix = key, False
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                entry, is_prefix = key[: cut + len(delimiter)], True
        if is_prefix:
            # A group already returned (or the one the marker sits in) is not repeated.
            if entry == last or entry <= marker or marker.startswith(entry):
                continue
        elif key <= marker:
            continue
        if count == max_keys:
            return Grouped(keys, prefixes, True, last)
        (prefixes if is_prefix else keys).append(entry)
        last = entry
        count += 1
    return Grouped(keys, prefixes, False, None)
