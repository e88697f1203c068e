"""A custom model server in a sandbox: its command runs as a child and must serve HTTP on
``$PORT`` (8080, as ModelArts requires of custom images) on the sandbox's own loopback;
this relays the platform's connections from a Unix socket to it, and ends as the child
does, with its exit status.

    python -m openarts.inference.socket_relay --socket PATH --port 8080 [--tls] [-- CMD...]

(Without CMD the server is another task of the replica, in the same network namespace: a
container image's own; the relay then runs until it is stopped.)

(``--tls``: the server speaks HTTPS, as a model whose config.json says so does.)

It stands alone (the standard library only): it runs in the model's environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
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


def _client_tls() -> ssl.SSLContext:
    """TLS to a server that speaks HTTPS (ModelArts' custom images may) with a
    certificate of its own making: it is on the sandbox's own loopback, which nothing
    else reaches, so there is nothing to verify it against, and no one to verify it from."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _relay(
    port: int,
    tls: ssl.SSLContext | None,
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
) -> None:
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
    except (OSError, ssl.SSLError):
        client_w.close()  # not listening (yet): the platform's probe tries again
    except asyncio.CancelledError:
        # The server has exited and the relay is ending: quietly, so the end of the
        # replica's log (its failure's reason) stays the server's own words.
        client_w.close()


async def serve(socket_path: str, port: int, command: Sequence[str], tls: bool = False) -> int:
    """Relay until the server's command ends (its exit status); with no command (the
    server is another task of the replica, in the same network) until stopped (0)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[int] = loop.create_future()
    if command:
        child = await asyncio.create_subprocess_exec(*command)
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Stopping the replica stops its server; the relay ends when the server has.
            loop.add_signal_handler(signum, child.send_signal, signum)
        waiting = asyncio.ensure_future(child.wait())
        waiting.add_done_callback(lambda done: ended.set_result(done.result()))
    else:

        def stop() -> None:
            if not ended.done():
                ended.set_result(0)

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    context = _client_tls() if tls else None
    server = await asyncio.start_unix_server(
        lambda r, w: _relay(port, context, r, w), path=socket_path
    )
    os.chmod(socket_path, 0o600)
    async with server:
        code = await ended
    return code if code >= 0 else 128 - code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openarts.inference.socket_relay")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--tls", action="store_true", help="the server speaks HTTPS")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return asyncio.run(serve(args.socket, args.port, command, tls=args.tls))


if __name__ == "__main__":
    sys.exit(main())
