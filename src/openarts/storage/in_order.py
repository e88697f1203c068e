"""Blocking steps over a stream of blocks (hashing, writing), run on a thread one block
behind the stream: block N is hashed and written while block N+1 is still arriving, in
order, with at most one step in flight per stream."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable
from typing import Any

# Storage's own threads: a burst of transfers waits here, not in the default executor
# that the rest of the server uses for its blocking calls.
_THREADS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="storage")


class InOrderSteps:
    def __init__(self) -> None:
        self._running: concurrent.futures.Future[None] | None = None

    async def add(self, step: Callable[..., None], *args: Any) -> None:
        """Wait for the step before (raising its error), then start this one."""
        await self.finish()
        self._running = _THREADS.submit(step, *args)

    async def finish(self) -> None:
        """Wait for the step in flight, if any; its error is raised here."""
        running, self._running = self._running, None
        if running is None:
            return
        try:
            await asyncio.shield(asyncio.wrap_future(running))
        except asyncio.CancelledError:
            # The thread goes on regardless: wait for it (one block's step), so nothing
            # it uses (a file descriptor) is closed under it.
            concurrent.futures.wait([running])
            raise

    async def settle(self) -> None:
        """On a failure path: wait for the step in flight and drop its error."""
        # The failure being handled is the one that matters.
        with contextlib.suppress(Exception):
            await self.finish()
