"""The gateway's hop to a replica: a small HTTP/1.1 client over pooled keep-alive
connections.

Measured on the gateway's hot path, a general client (aiohttp) spent more CPU per call
than the model it relayed to; this one does only what the hop needs: one write per
request (head and body together), the answer parsed by httptools (the C parser uvicorn
uses), its body handed on chunk by chunk with back-pressure, the connection kept for the
next call when the answer allows. It knows whether a failed call can have reached the
server, so the gateway retries only what cannot have run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import httptools

from openarts.domain.addresses import authority_of, socket_of
from openarts.unix_sockets import SocketPath

# Chunks waiting for a slow caller before the replica's socket stops being read.
_HIGH_WATER = 16
_LOW_WATER = 4


class UpstreamError(Exception):
    """The call failed; ``sent`` says whether the request may have reached the server."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Answer:
    """An answer's status and headers, and its body as it arrives."""

    def __init__(self, connection: _Connection, status: int, headers: list[tuple[bytes, bytes]]):
        self.status = status
        self.headers = headers
        self._connection = connection

    async def body(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = await connection.chunks.get()
            if connection.chunks.qsize() < _LOW_WATER and connection.paused:
                connection.paused = False
                connection.transport_resume()
            if chunk is None:
                return
            if isinstance(chunk, UpstreamError):
                raise chunk
            yield chunk


class _Connection(asyncio.Protocol):
    def __init__(self, pool: UpstreamPool, address: str) -> None:
        self.pool = pool
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.paused = False
        self.head: asyncio.Future[Answer] | None = None
        self.chunks: asyncio.Queue[bytes | UpstreamError | None] = asyncio.Queue()
        self._headers: list[tuple[bytes, bytes]] = []
        self.reusable = False

    # -- the transport ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without deriving from it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(UpstreamError(f"the replica's answer is not HTTP: {error}", sent=True))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        self._fail(UpstreamError("the replica closed the connection", sent=True))

    def transport_resume(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- httptools' callbacks ---------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.head is not None and not self.head.done():
            answer = Answer(self, self.parser.get_status_code(), self._headers)
            self.head.set_result(answer)

    def on_body(self, body: bytes) -> None:
        self.chunks.put_nowait(bytes(body))
        if self.chunks.qsize() > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        self.chunks.put_nowait(None)

    # -- one exchange ------------------------------------------------------------------------
    def start(self, request: bytes) -> asyncio.Future[Answer]:
        self.head = asyncio.get_running_loop().create_future()
        self.chunks = asyncio.Queue()
        self._headers = []
        self.reusable = False
        self.parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(request)
        return self.head

    def _fail(self, error: UpstreamError) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        else:
            self.chunks.put_nowait(error)


class UpstreamPool:
    def __init__(self) -> None:
        self._idle: dict[str, list[_Connection]] = {}
        self._socket_paths: dict[str, SocketPath] = {}

    async def request(
        self,
        address: str,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[Answer, _Connection]:
        """Send the request; the answer's head (its body follows through ``Answer.body``).
        Hand the connection back with ``release`` once the body is read."""
        connection = await self._acquire(address)
        head = f"{method} {target} HTTP/1.1\r\nHost: {authority_of(address)}\r\n"
        lines = [head.encode("latin-1")]
        lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        lines.append(body)
        try:
            answer = await connection.start(b"".join(lines))
        except BaseException:
            connection.close()
            raise
        if method == "HEAD":
            # An answer to HEAD has no body whatever its length says; the parser cannot
            # be told, so this connection ends with it.
            connection.chunks.put_nowait(None)
            connection.reusable = False
        return answer, connection

    def release(self, connection: _Connection) -> None:
        if connection.closed or not connection.reusable:
            connection.close()
            return
        self._idle.setdefault(connection.address, []).append(connection)

    def idle_count(self, address: str) -> int:
        return len(self._idle.get(address, ()))

    def forget(self, connection: _Connection) -> None:
        """A connection that closed while idle leaves the pool (a replica gone for good
        leaves nothing behind)."""
        idle = self._idle.get(connection.address)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle[connection.address]

    async def _acquire(self, address: str) -> _Connection:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        socket = socket_of(address)
        try:
            if socket is not None:
                # A sandboxed replica's socket; its folder's handle is kept while the
                # pool may connect to it again (a long path is reached through it).
                path = self._socket_paths.get(socket)
                if path is None:
                    path = self._socket_paths[socket] = SocketPath(socket)
                _, protocol = await loop.create_unix_connection(
                    lambda: _Connection(self, address), path.path
                )
            else:
                host, _, port = address.rpartition(":")
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self, address), host, int(port)
                )
        except OSError as error:
            stale = self._socket_paths.pop(socket, None) if socket is not None else None
            if stale is not None:
                stale.close()
            raise UpstreamError(f"no connection to {address}: {error}", sent=False) from None
        return protocol

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                with contextlib.suppress(Exception):
                    connection.close()
        self._idle.clear()
        for path in self._socket_paths.values():
            path.close()
        self._socket_paths.clear()
