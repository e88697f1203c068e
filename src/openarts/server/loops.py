"""The platform's loops, registered in one list: started together, stopped together, and
woken by the hints that committed transactions carry (services/hints.py).

A loop is anything with ``run_forever()`` and ``wake()`` (the reconcilers). Besides the
loops, plain listeners may follow a hint (the gateway's routes forget themselves when a
service changes).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from openarts.services.hints import Hint

log = logging.getLogger("openarts")

# How long stopping waits for the loops to end.
SHUTDOWN_WAIT_S = 10.0


class Loop(Protocol):
    async def run_forever(self) -> None: ...

    def wake(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Registered:
    name: str
    loop: Loop


class Loops:
    def __init__(self) -> None:
        self._registered: list[_Registered] = []
        self._listeners: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._running: list[asyncio.Task[None]] = []

    def add(self, name: str, loop: Loop, *, woken_by: Iterable[Hint] = ()) -> None:
        self._registered.append(_Registered(name, loop))
        for hint in woken_by:
            self._listeners[hint].append(loop.wake)

    def listen(self, hint: Hint, listener: Callable[[], None]) -> None:
        self._listeners[hint].append(listener)

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._registered]

    def followers(self, hint: Hint) -> list[Callable[[], None]]:
        """Who is woken by ``hint``."""
        return list(self._listeners.get(hint, ()))

    def hint(self, hints: Iterable[str]) -> None:
        """Wake whatever follows these hints (each once, however many hints name it)."""
        called: set[Callable[[], None]] = set()
        for hint in hints:
            for listener in self._listeners.get(hint, ()):
                if listener not in called:
                    called.add(listener)
                    # A hint runs after a commit already made: one failing listener
                    # must neither fail the request nor keep the others from waking.
                    try:
                        listener()
                    except Exception:
                        log.exception("a listener of hint %s failed", hint)

    def start(self) -> None:
        self._running = [
            asyncio.create_task(entry.loop.run_forever(), name=entry.name)
            for entry in self._registered
        ]

    async def stop(self) -> None:
        """Cancel the loops and wait for them, a bounded time: a loop stuck in some await
        must not keep the server from stopping (it is named in the log)."""
        running, self._running = self._running, []
        if not running:
            return
        for task in running:
            task.cancel()
        _, stuck = await asyncio.wait(running, timeout=SHUTDOWN_WAIT_S)
        for task in stuck:
            log.error("%s did not stop within %.0f s; leaving it", task.get_name(), SHUTDOWN_WAIT_S)
            for frame in task.get_stack():
                log.error(
                    "  at %s:%d %s", frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
                )
