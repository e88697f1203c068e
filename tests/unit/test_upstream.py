"""The gateway's upstream client against small loopback servers: answers with a length
or chunked, connections kept and reused, and failures that say whether the request may
have reached the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from openarts.gateway.upstream import UpstreamError, UpstreamPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


async def body_of(pool: UpstreamPool, address: str, body: bytes = b"") -> tuple[int, bytes]:
    answer, connection = await pool.request(address, "POST", "/x?y=1", [], body)
    chunks = [chunk async for chunk in answer.body()]
    pool.release(connection)
    return answer.status, b"".join(chunks)


async def test_answers_with_a_length_reuse_the_connection() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head, body = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            assert head.startswith(b"POST /x?y=1 HTTP/1.1\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()

    async for address in serve(handler):
        pool = UpstreamPool()
        for n in range(3):
            assert await body_of(pool, address, b"call %d" % n) == (200, b"call %d" % n)
        assert connections == 1
        pool.close()


async def test_an_answer_to_head_has_no_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n")
        await writer.drain()
        await reader.read()

    async for address in serve(handler):
        pool = UpstreamPool()
        answer, connection = await pool.request(address, "HEAD", "/health", [], b"")
        assert answer.status == 200 and [chunk async for chunk in answer.body()] == []
        pool.release(connection)
        assert connection.closed
        pool.close()


async def test_a_chunked_answer_arrives_whole_and_a_closing_one_is_not_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    async for address in serve(handler):
        pool = UpstreamPool()
        assert await body_of(pool, address) == (201, b"hello world")
        assert await body_of(pool, address) == (201, b"hello world")
        assert connections == 2
        pool.close()


async def test_a_connection_closed_while_idle_leaves_the_pool() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # The server hangs up later, while the client keeps the connection idle.
        await asyncio.sleep(0.05)
        writer.close()

    async for address in serve(handler):
        pool = UpstreamPool()
        answer, connection = await pool.request(address, "GET", "/", [], b"")
        assert [chunk async for chunk in answer.body()] == [b"ok"]
        pool.release(connection)
        assert pool.idle_count(address) == 1
        deadline = asyncio.get_running_loop().time() + 5
        while pool.idle_count(address):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert await body_of(pool, address) == (200, b"ok")
        pool.close()


async def test_failures_say_whether_the_request_was_sent() -> None:
    pool = UpstreamPool()
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(UpstreamError) as refused:
        await pool.request(f"127.0.0.1:{port}", "GET", "/", [], b"")
    assert refused.value.sent is False

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async for address in serve(hang_up):
        with pytest.raises(UpstreamError) as lost:
            await pool.request(address, "POST", "/", [], b"{}")
        assert lost.value.sent is True

    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        writer.close()

    async for address in serve(cut_short):
        answer, _ = await pool.request(address, "GET", "/", [], b"")
        with pytest.raises(UpstreamError):
            async for _chunk in answer.body():
                pass
    pool.close()
