"""Answers whose body is a slice of an open file: sent by the kernel where the server
offers ASGI's ``http.response.zerocopy`` (openarts.server.zerocopy), else read in blocks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from starlette.responses import Response
from starlette.types import Receive, Scope
from starlette.types import Send as AsgiSend

ZEROCOPY = "http.response.zerocopy"
BLOCK = 1024 * 1024

Send = Callable[[Any], Awaitable[None]]


class FileSliceResponse(Response):
    """``count`` bytes of ``handle`` from ``offset``; the handle is closed when sent."""

    def __init__(
        self,
        handle: BinaryIO,
        offset: int,
        count: int,
        *,
        status_code: int,
        headers: dict[str, str],
    ) -> None:
        super().__init__(status_code=status_code, headers=headers)
        self.handle, self.offset, self.count = handle, offset, count

    async def __call__(self, scope: Scope, receive: Receive, send: AsgiSend) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if self.count and ZEROCOPY in scope.get("extensions", {}):
                await send(
                    {
                        "type": ZEROCOPY,
                        "file": self.handle,
                        "offset": self.offset,
                        "count": self.count,
                    }
                )
            else:
                await send_by_blocks(send, self.handle, self.offset, self.count, more_body=False)
        finally:
            self.handle.close()


async def send_by_blocks(
    send: Send, handle: BinaryIO, offset: int, count: int, *, more_body: bool
) -> None:
    """The slice as ordinary body messages, a block at a time, read off the event loop."""
    left = count
    while left > 0:
        block = await asyncio.to_thread(os.pread, handle.fileno(), min(BLOCK, left), offset)
        if not block:
            break  # the file ended early: the server sees the body short and says so
        offset += len(block)
        left -= len(block)
        await send({"type": "http.response.body", "body": block, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": more_body})
