"""The composition root: every loop in the one list, every hint followed by the loop that
acts on it, and the loops started and stopped together."""

from __future__ import annotations

import asyncio
from pathlib import Path

from openarts.server.loops import Loops
from openarts.server.platform import build_platform
from openarts.services.hints import Hint
from openarts.testing.fake_backends import FakeBackend
from tests.conftest import make_settings


def test_each_hint_wakes_the_loop_that_acts_on_it(tmp_path: Path) -> None:
    platform = build_platform(
        make_settings(tmp_path / "home", f"sqlite+aiosqlite:///{tmp_path / 'db'}"),
        backend=FakeBackend(),
    )
    loops = platform.loops
    assert loops.names == [
        "reconciler",
        "training-reconciler",
        "notebook-reconciler",
        "model-reconciler",
        "service-reconciler",
        "upload-expiry",
    ]
    assert loops.followers(Hint.WORKLOADS) == [platform.workloads.wake]
    assert loops.followers(Hint.TRAINING) == [platform.training_loop.wake]
    assert loops.followers(Hint.WORKLOAD_MOVED) == [platform.training_loop.wake]
    # The loops that also read what workload passes leave behind follow every pass.
    assert platform.workloads.listeners[:2] == [
        platform.notebook_loop.wake,
        platform.service_loop.wake,
    ]
    assert loops.followers(Hint.NOTEBOOKS) == [platform.notebook_loop.wake]
    assert loops.followers(Hint.IMAGES) == [platform.notebook_loop.images_gone]
    assert loops.followers(Hint.MODELS) == [platform.model_loop.wake]
    assert loops.followers(Hint.SERVICES) == [platform.service_loop.wake]
    assert loops.followers(Hint.ROUTES) == [platform.gateway.routes.invalidate]
    # Whatever a committed transaction hints reaches them.
    assert platform.db.on_commit == loops.hint


class Recorder:
    def __init__(self) -> None:
        self.woken = 0
        self.ran = asyncio.Event()
        self.cancelled = False

    def wake(self) -> None:
        self.woken += 1

    async def run_forever(self) -> None:
        self.ran.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_a_hint_wakes_each_follower_once_and_the_loops_stop_together() -> None:
    first, second = Recorder(), Recorder()
    loops = Loops()
    loops.add("first", first, woken_by=[Hint.WORKLOADS, Hint.TRAINING])
    loops.add("second", second, woken_by=[Hint.SERVICES])
    loops.hint(frozenset({Hint.WORKLOADS, Hint.TRAINING}))
    assert (first.woken, second.woken) == (1, 0)
    loops.hint(frozenset({Hint.MODELS}))
    assert (first.woken, second.woken) == (1, 0)
    loops.start()
    await asyncio.wait_for(asyncio.gather(first.ran.wait(), second.ran.wait()), 5)
    await loops.stop()
    assert first.cancelled and second.cancelled
