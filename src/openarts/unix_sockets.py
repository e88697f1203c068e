"""Connecting to a Unix socket whose path is longer than the kernel takes (108 bytes,
easily passed under a deep home): through an open handle on its folder, whose
``/proc/self/fd/<n>/<name>`` path is short whatever the folder's."""

from __future__ import annotations

import os

# sun_path holds 108 bytes, the terminating NUL included.
MAX_PATH_BYTES = 107


class SocketPath:
    """A path to ``socket`` that connect() takes; ``close()`` lets go of the folder's
    handle (keep it open while connections are made)."""

    def __init__(self, socket: str) -> None:
        self._fd: int | None = None
        if len(os.fsencode(socket)) <= MAX_PATH_BYTES:
            self.path = socket
            return
        folder, name = os.path.split(socket)
        self._fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.path = f"/proc/self/fd/{self._fd}/{name}"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
