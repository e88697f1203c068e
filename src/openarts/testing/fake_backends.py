"""Backends that misbehave on purpose, to drive reconcilers through their edges.

- ``FakeBackend``: tasks are records, not processes; tests finish them by hand.
- ``SlowBackend``: every call takes ``delay_s`` first (a slow cluster).
- ``NeverStartingBackend``: start never returns (until cancelled), like a cluster that
  accepts a request and never answers; callers must bound it with a timeout.
- ``FailingBackend``: start raises BackendError with a reason, like a bad image.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from openarts.backends.base import (
    BackendError,
    ComputeBackend,
    LogChunk,
    NodeInfo,
    ResourceSample,
    TaskHandle,
    TaskObservation,
    TaskSpec,
    TaskState,
)


@dataclass
class FakeTask:
    spec: TaskSpec
    observation: TaskObservation = field(default_factory=lambda: TaskObservation(TaskState.RUNNING))
    logs: bytearray = field(default_factory=bytearray)
    stop_calls: int = 0


class FakeBackend(ComputeBackend):
    name = "fake"

    def __init__(self, nodes: list[NodeInfo] | None = None) -> None:
        self.tasks: dict[str, FakeTask] = {}
        self.started: list[str] = []
        self._nodes = nodes or [NodeInfo("fake-node", 8.0, 32 << 30, 0, "x86")]

    async def start(self, spec: TaskSpec) -> TaskHandle:
        self.tasks[spec.task_id] = FakeTask(spec)
        self.started.append(spec.task_id)
        return TaskHandle(self.name, spec.task_id, {"fake": True})

    def finish(self, task_id: str, exit_code: int = 0) -> None:
        state = TaskState.SUCCEEDED if exit_code == 0 else TaskState.FAILED
        reason = None if exit_code == 0 else f"exit code {exit_code}"
        self.tasks[task_id].observation = TaskObservation(state, exit_code, reason)

    def lose(self, task_id: str) -> None:
        self.tasks[task_id].observation = TaskObservation(TaskState.LOST, None, "lost")

    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]:
        result = {}
        for handle in handles:
            task = self.tasks.get(handle.task_id)
            result[handle.task_id] = (
                task.observation if task else TaskObservation(TaskState.LOST, None, "unknown")
            )
        return result

    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        task = self.tasks.get(handle.task_id)
        if task is None:
            return
        task.stop_calls += 1
        if not task.observation.state.finished:
            task.observation = TaskObservation(TaskState.STOPPED, None, "stopped")

    async def read_logs(self, handle: TaskHandle, *, offset: int, limit: int) -> LogChunk:
        logs = self.tasks[handle.task_id].logs
        data = bytes(logs[offset : offset + limit])
        return LogChunk(data, offset + len(data), len(logs))

    async def sample(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        return {
            h.task_id: ResourceSample(0.0, 0)
            for h in handles
            if h.task_id in self.tasks and not self.tasks[h.task_id].observation.state.finished
        }

    async def nodes(self) -> list[NodeInfo]:
        return list(self._nodes)


class SlowBackend(FakeBackend):
    name = "slow"

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    async def start(self, spec: TaskSpec) -> TaskHandle:
        await asyncio.sleep(self.delay_s)
        return await super().start(spec)

    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]:
        await asyncio.sleep(self.delay_s)
        return await super().poll(handles)

    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        await asyncio.sleep(self.delay_s)
        await super().stop(handle, grace_s=grace_s)


class NeverStartingBackend(FakeBackend):
    name = "never"

    async def start(self, spec: TaskSpec) -> TaskHandle:
        self.started.append(spec.task_id)
        await asyncio.Event().wait()  # nothing ever sets it
        raise AssertionError("unreachable")


class FailingBackend(FakeBackend):
    name = "failing"

    def __init__(self, reason: str = "image could not be pulled") -> None:
        super().__init__()
        self.reason = reason

    async def start(self, spec: TaskSpec) -> TaskHandle:
        raise BackendError(self.reason)
