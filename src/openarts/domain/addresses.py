"""Where a task serves: "host:port", or a Unix socket ("unix:<path>") for a task in a
sandbox, whose network is its own. A socket's path is stored relative to a folder the
platform knows (a home's path may be long) and made absolute where it is dialled."""

from __future__ import annotations

from pathlib import Path

UNIX_ADDRESS = "unix:"


def socket_of(address: str) -> str | None:
    """The path of the Unix socket an address names; None for "host:port"."""
    return address[len(UNIX_ADDRESS) :] if address.startswith(UNIX_ADDRESS) else None


def authority_of(address: str) -> str:
    """What goes after "http://" in a URL to it ("localhost" over a socket)."""
    return "localhost" if socket_of(address) is not None else address


def resolved(address: str, folder: Path) -> str:
    """An address as the host dials it: a relative socket path joined to ``folder``."""
    socket = socket_of(address)
    if socket is None or socket.startswith("/"):
        return address
    return f"{UNIX_ADDRESS}{folder / socket}"
