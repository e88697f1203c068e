"""The server's HTTP protocol: uvicorn's httptools protocol with zero-copy file bodies,
ASGI's ``http.response.zerocopy`` extension, which uvicorn does not offer (and uvloop's
transports have no ``loop.sendfile``).

A response that announced its ``Content-Length`` may hand over an open file, an offset
and a count, and the kernel copies those bytes from the page cache to the socket
(``os.sendfile``) without their passing through Python: object downloads cost the server
almost no CPU, which on a small machine is CPU the client gets back. The socket is used
through a duplicate of its descriptor, so a connection closed by the loop meanwhile can
never make the copy write into a reused descriptor number; each ``sendfile`` call runs on
a thread (a cold file may be read from disk), and waiting for room in the socket is done
on the loop, so a slow client holds no thread.

(Sending a small answer's head and body in one ``writev`` was tried too: one system call
and one wake-up of the client fewer, but no change the inference benchmark could see, so
it was left out.)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from openarts.obs_endpoint.file_body import ZEROCOPY, send_by_blocks

Send = Callable[[Any], Awaitable[None]]


class HttpProtocol(HttpToolsProtocol):
    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.scope.setdefault("extensions", {})[ZEROCOPY] = {}
        original = cycle.send

        async def send(message: Any) -> None:
            if message.get("type") == ZEROCOPY:
                await _send_file(cycle, original, message)
            else:
                await original(message)

        cycle.send = send  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


async def _send_file(cycle: RequestResponseCycle, send: Send, message: dict[str, Any]) -> None:
    handle: BinaryIO = message["file"]
    offset = int(message.get("offset", 0))
    count = int(message["count"])
    more_body = bool(message.get("more_body", False))
    transport = cycle.transport
    direct = (
        cycle.response_started
        and not cycle.response_complete
        and not cycle.chunked_encoding
        and cycle.scope["method"] != "HEAD"
        and count <= cycle.expected_content_length
        # The status line and headers must be on the wire first: bytes still queued in
        # the transport would come after the file's.
        and transport.get_write_buffer_size() == 0
        and not cycle.disconnected
    )
    if not direct:
        await send_by_blocks(send, handle, offset, count, more_body=more_body)
        return
    sent = await _sendfile(transport, handle.fileno(), offset, count)
    if sent < count:
        # The client went away, or the file ended early (it was truncated in place): the
        # answer cannot be completed, so the connection ends here.
        cycle.disconnected = True
        transport.close()
        return
    cycle.expected_content_length -= count
    # An empty body message completes the response through uvicorn's own path.
    await send({"type": "http.response.body", "body": b"", "more_body": more_body})


async def _sendfile(transport: asyncio.Transport, file_fd: int, offset: int, count: int) -> int:
    loop = asyncio.get_running_loop()
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    fd = os.dup(sock.fileno())
    sent = 0
    try:
        while sent < count:
            try:
                done = await asyncio.to_thread(
                    os.sendfile, fd, file_fd, offset + sent, count - sent
                )
            except BlockingIOError:
                if not await _writable(loop, fd):
                    break
                continue
            except OSError:  # the peer closed or reset the connection
                break
            if done == 0:
                break
            sent += done
    finally:
        os.close(fd)
    return sent


async def _writable(loop: asyncio.AbstractEventLoop, fd: int, timeout_s: float = 60.0) -> bool:
    """Wait on the loop until the socket takes more; False when nothing moves for a minute
    (a client that stopped reading)."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout_s)
    except TimeoutError:
        return False
    finally:
        loop.remove_writer(fd)
    return True
