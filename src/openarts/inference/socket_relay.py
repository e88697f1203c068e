"""A custom model server in a sandbox: its command runs as a child and must serve HTTP on
``$PORT`` (8080, as ModelArts requires of custom images) on the sandbox's own loopback;
this relays the platform's connections from a Unix socket to it, and ends as the child
does, with its exit status.

    python -m openarts.inference.socket_relay --socket PATH --port 8080 -- CMD...

It stands alone (the standard library only): it runs in the model's environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

CHUNK = 1 << 16


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(port: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
    except OSError:
        client_w.close()  # not listening (yet): the platform's probe tries again
    except asyncio.CancelledError:
        # The server has exited and the relay is ending: quietly, so the end of the
        # replica's log (its failure's reason) stays the server's own words.
        client_w.close()


async def serve(socket_path: str, port: int, command: Sequence[str]) -> int:
    child = await asyncio.create_subprocess_exec(*command)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Stopping the replica stops its server; the relay ends when the server has.
        loop.add_signal_handler(signum, child.send_signal, signum)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    server = await asyncio.start_unix_server(lambda r, w: _relay(port, r, w), path=socket_path)
    os.chmod(socket_path, 0o600)
    async with server:
        code = await child.wait()
    return code if code >= 0 else 128 - code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openarts.inference.socket_relay")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server's command after --")
    return asyncio.run(serve(args.socket, args.port, command))


if __name__ == "__main__":
    sys.exit(main())
