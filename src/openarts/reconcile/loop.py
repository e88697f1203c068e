"""The loop every reconciler runs: a pass when woken or when the interval passes, only
while this process leads, a failed pass logged and tried again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval_s)
