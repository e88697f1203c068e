"""The misbehaving backends keep the contract they are used to test against."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openarts.backends.base import BackendError, TaskSpec, TaskState
from openarts.testing.fake_backends import (
    FailingBackend,
    FakeBackend,
    NeverStartingBackend,
    SlowBackend,
)


def spec(task_id: str) -> TaskSpec:
    return TaskSpec(task_id, ("/bin/true",), Path("/"))


async def test_fake_tasks_finish_when_told() -> None:
    backend = FakeBackend()
    handle = await backend.start(spec("a"))
    assert (await backend.poll([handle]))["a"].state is TaskState.RUNNING
    backend.finish("a", exit_code=2)
    observed = (await backend.poll([handle]))["a"]
    assert (observed.state, observed.exit_code) == (TaskState.FAILED, 2)


async def test_group_start_on_a_failing_backend_starts_nothing() -> None:
    backend = FailingBackend("no such image")
    with pytest.raises(BackendError, match="no such image"):
        await backend.start_group([spec("a"), spec("b")])
    assert backend.started == []


async def test_slow_backend_still_stops_idempotently() -> None:
    backend = SlowBackend(0.01)
    handle = await backend.start(spec("s"))
    await backend.stop(handle, grace_s=0)
    await backend.stop(handle, grace_s=0)
    assert (await backend.poll([handle]))["s"].state is TaskState.STOPPED
    assert backend.tasks["s"].stop_calls == 2


async def test_never_starting_backend_has_to_be_timed_out() -> None:
    backend = NeverStartingBackend()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(backend.start(spec("n")), timeout=0.05)
    assert backend.started == ["n"] and "n" not in backend.tasks
