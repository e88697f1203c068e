"""Giving freed memory back to the system after large transfers.

glibc keeps the blocks a transfer freed in its per-thread arenas (its threshold for
mapping large blocks separately rises with use), so a server that moved a few hundred
megabytes stays that much larger for good. ``malloc_trim`` returns what is free; it is
asked for once a second after large bodies, on a thread. On a C library without
it (musl) there is nothing to call and memory is left as the library keeps it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time

LARGE_BODY = 8 * 1024 * 1024
_EVERY_S = 1.0


def _trimmer() -> ctypes._NamedFuncPointer | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _trimmer()
_trim_due = 0.0


def after_large_body(size: int | None) -> None:
    """Call when a body of ``size`` bytes has been moved: when it was large, a trim runs
    a second later (one for all the bodies of that second, so a burst pays once)."""
    global _trim_due
    if _TRIM is None or size is None or size < LARGE_BODY:
        return
    now = time.monotonic()
    if now < _trim_due:
        return
    _trim_due = now + _EVERY_S
    loop = asyncio.get_running_loop()
    loop.call_later(_EVERY_S, loop.run_in_executor, None, _TRIM, 0)
