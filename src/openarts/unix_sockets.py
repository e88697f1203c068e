"""Connecting to a Unix socket whose path is longer than the kernel takes (108 bytes,
easily passed under a deep home): through an open handle on its folder, whose
``/proc/self/fd/<n>/<name>`` path is short whatever the folder's."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

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


def pin_socket(source: Path, pin: Path, owner: int | None) -> bool:
    """Pin the socket a task made at ``source`` (in a folder the task can write) as
    ``pin`` (in one it cannot): a hard link to the socket itself, never followed through
    a symbolic link the task put there, so the platform always dials the task's own
    server and nothing the task could point it at (another task's socket, a host
    daemon's). ``owner``: the uid the socket must belong to (None: any). False when
    there is no such socket (yet)."""
    with contextlib.suppress(FileNotFoundError):
        pin.unlink()
    try:
        # link() takes the name as it is: a symbolic link is linked, not its target.
        os.link(source, pin, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    info = pin.lstat()
    if not stat.S_ISSOCK(info.st_mode) or (owner is not None and info.st_uid != owner):
        pin.unlink()
        return False
    return True
