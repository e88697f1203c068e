"""The loop every reconciler runs: a pass when woken or when the interval passes, only
while this process leads, a failed pass logged and tried again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from openarts.reconcile.leadership import Leadership


async def repeat(
    run_once: Callable[[], Awaitable[None]],
    wake: asyncio.Event,
    *,
    interval_s: float,
    leadership: Leadership | None,
    log: logging.Logger,
) -> None:
    """Run passes until cancelled."""
    while True:
        wake.clear()
        try:
            if leadership is None or await leadership.held():
                await run_once()
        except Exception:
            log.exception("a reconcile pass failed; trying again")
        # asyncio.timeout, not wait_for: on Python 3.11 a wait_for whose event is set as
        # the loop is cancelled returns instead of raising, and the loop would run on
        # after the server stopped it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval_s):
                await wake.wait()


class SlowSteps:
    """Slow steps of a reconciler (downloads, waiting for a server) run beside its passes,
    at most one per key at a time; each ends by waking the reconciler so the next pass
    sees what it did. A failed step is logged; the next pass tries again."""

    def __init__(self, wake: Callable[[], None], log: logging.Logger) -> None:
        self.wake = wake
        self.log = log
        self.busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        self.busy.add(key)

        async def run() -> None:
            try:
                await work
            except Exception:
                self.log.exception("a slow step of %s failed; trying again", key)
            finally:
                self.busy.discard(key)
                self.wake()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the steps in flight (for tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class SteppingReconciler:
    """A reconciler's loop: ``run_once`` when woken or when the interval passes (only
    while this process leads), with slow steps beside the passes; ``closed`` lets go of
    what the subclass holds when the loop ends."""

    def __init__(
        self, *, interval_s: float, leadership: Leadership | None, log: logging.Logger
    ) -> None:
        self.interval_s = interval_s
        # Shared with the workload reconciler: one server process drives everything;
        # None: alone (tests that step run_once).
        self.leadership = leadership
        self._log = log
        self._wake = asyncio.Event()
        self._steps = SlowSteps(self.wake, log)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> None:
        raise NotImplementedError

    async def run_forever(self) -> None:
        try:
            await repeat(
                self.run_once,
                self._wake,
                interval_s=self.interval_s,
                leadership=self.leadership,
                log=self._log,
            )
        finally:
            self._steps.cancel()
            await self.closed()

    async def closed(self) -> None:
        """Let go of what the loop held (timers, clients)."""

    async def drain(self) -> None:
        """Wait for the slow steps in flight (for tests)."""
        await self._steps.drain()
