"""The contract between the platform and what runs its tasks: local processes, or Ray.

Every runnable resource becomes one or more tasks. Backends are small, async and
idempotent: ``start`` returns at once with a handle; the handle is versioned JSON kept in
the database, so a restarted server can adopt what is still running.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from openarts.backends.images import NO_IMAGES, ImageConfig, ImagesReport
from openarts.domain.sandbox_view import OFF_REPORT, SandboxReport, TaskView
from openarts.hostinfo import free_port

if TYPE_CHECKING:
    from openarts.backends.sandbox import Sandbox

HANDLE_VERSION = 1


class BackendError(Exception):
    """A task could not be started or controlled; the message says why, for the user."""


class TaskState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"  # ended because it was asked to stop
    LOST = "lost"  # gone without a trace of how it ended

    @property
    def finished(self) -> bool:
        return self is not TaskState.RUNNING


@dataclass(frozen=True, slots=True)
class ResourceRequest:
    vcpus: float = 1.0
    memory_bytes: int = 0
    gpus: int = 0


@dataclass(frozen=True, slots=True)
class TaskSpec:
    task_id: str
    command: tuple[str, ...]  # argv; argv[0] is an absolute path
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    resources: ResourceRequest = field(default_factory=ResourceRequest)
    ports: tuple[int, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    rank: int | None = None  # position in a gang, when it is one
    # The node's GPU indices this task may use; the platform assigns them so two tasks
    # never share a device. Empty: the task sees no GPU at all.
    gpu_ids: tuple[int, ...] = ()
    # The backend node the scheduler placed it on (a pool's node is a slice of one);
    # "" when the backend has only one.
    node: str = ""
    # What the task sees when it runs in a sandbox (then ``command`` and ``workdir`` are
    # paths inside it); None: it runs as the server's own user, as it is.
    view: TaskView | None = None


@dataclass(frozen=True, slots=True)
class TaskHandle:
    """What a backend needs to find a task again, even from another server process."""

    backend: str
    task_id: str
    data: Mapping[str, Any]
    version: int = HANDLE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"data": dict(self.data)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TaskHandle:
        raw = json.loads(text)
        if raw.get("version") != HANDLE_VERSION:
            raise BackendError(f"task handle version {raw.get('version')} is not understood")
        return cls(raw["backend"], raw["task_id"], raw["data"], raw["version"])


@dataclass(frozen=True, slots=True)
class TaskObservation:
    state: TaskState
    exit_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LogChunk:
    data: bytes
    next_offset: int
    # The whole log's size when read (a running task's log keeps growing).
    full_size: int = 0


@dataclass(frozen=True, slots=True)
class ResourceSample:
    cpu_percent: float
    memory_bytes: int
    gpu_memory_bytes: int | None = None
    # How busy the task's GPUs are (their average); None without GPUs or a way to tell.
    gpu_percent: float | None = None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    vcpus: float
    memory_bytes: int
    gpus: int
    arch: str
    labels: Mapping[str, str] = field(default_factory=dict)
    gpu_ids: tuple[int, ...] = ()  # device indices on the node, len == gpus
    # A dedicated pool takes this node whole (Ray: a cluster node) instead of a slice
    # of it (local: this host, shared by the pools and the public pool).
    whole: bool = False


class ComputeBackend(ABC):
    name: str
    # What isolation its tasks get (the banner, the console and /health say it).
    sandbox_report: SandboxReport = OFF_REPORT
    # The sandbox on the server's machine (environment builds, the platform's work in a
    # task's folders); None: the sandbox is off.
    sandbox: Sandbox | None = None
    # Whether its tasks may run over container images (backends/images.py), and why not.
    images_report: ImagesReport = NO_IMAGES
    # Whether the tasks of a gang must each have a node of their own (Ray's STRICT_SPREAD);
    # the local backend runs a gang's "nodes" side by side on this host.
    spreads_gangs: bool = False
    # Whether its tasks share the CPUs by time rather than being given cores (the local
    # backend): its public pool may then promise vCPUs several times over.
    shares_cpus: bool = False

    def address_of(self, node: str) -> str:
        """The address other tasks and the platform reach a task on ``node`` at."""
        return "127.0.0.1"

    async def free_port(self, node: str) -> int:
        """A TCP port free on ``node``'s address, for a task to listen on."""
        return await asyncio.to_thread(free_port, self.address_of(node))

    async def connect(self) -> None:
        """Reach what the tasks run on (a cluster) before the first call; nothing to do
        for a backend that runs them here."""
        return None

    async def close(self) -> None:
        """Let go of what the backend holds (connections); tasks keep running."""
        return None

    @abstractmethod
    async def start(self, spec: TaskSpec) -> TaskHandle:
        """Start the task and return at once."""

    async def start_group(self, specs: list[TaskSpec]) -> list[TaskHandle]:
        """Start a gang: every task, or none (those started are stopped again)."""
        handles: list[TaskHandle] = []
        try:
            for spec in specs:
                handles.append(await self.start(spec))
        except BaseException:
            for handle in handles:
                await self.stop(handle, grace_s=0)
            raise
        return handles

    @abstractmethod
    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]: ...

    @abstractmethod
    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        """Stop the task and everything it started; stopping a finished task is a no-op."""

    async def recover(self, task_id: str) -> TaskHandle | None:
        """The handle of a task started but never recorded (the server stopped between
        starting it and committing its handle), found from what the start left behind;
        None when nothing of it started, or the backend cannot tell (then it is
        discarded)."""
        return None

    async def has_image(self, image: str, node: str) -> bool:
        """Whether ``node`` holds container image ``image`` already (no pull needed)."""
        return False

    async def ensure_image(self, image: str, node: str) -> bool:
        """Container image ``image`` on ``node``, pulled when it is not there; whether a
        pull was needed (BackendError with the registry's answer when it fails)."""
        raise BackendError(f"{self.images_report.summary}")

    async def image_config(self, image: str, node: str) -> ImageConfig:
        """How container image ``image`` (on ``node`` already) says it runs: its
        entrypoint, command, working folder and variables."""
        raise BackendError(f"{self.images_report.summary}")

    async def image_root(self, image: str, node: str) -> Path:
        """Where the server reads the root file system of ``image`` (on ``node``
        already): on the server's own host only."""
        raise BackendError(f"{self.images_report.summary}")

    async def discard(self, task_id: str, *, grace_s: float = 0.0) -> None:
        """End whatever may have been started for a task that has no handle (the server
        stopped between starting it and recording the handle). A no-op by default."""
        return None

    @abstractmethod
    async def read_logs(self, handle: TaskHandle, *, offset: int, limit: int) -> LogChunk: ...

    @abstractmethod
    async def sample(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]: ...

    @abstractmethod
    async def nodes(self) -> list[NodeInfo]: ...


async def read_tail(backend: ComputeBackend, handle: TaskHandle, limit: int) -> LogChunk:
    """The last ``limit`` bytes of a task's log (its size is learnt first)."""
    probe = await backend.read_logs(handle, offset=0, limit=0)
    start = max(0, probe.full_size - limit)
    return await backend.read_logs(handle, offset=start, limit=limit)


class TaskPreparer(Protocol):
    """Readies the tasks of one kind of workload before they start (data in place, say);
    may return changed specs. An error fails the workload with its message."""

    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]: ...


class PrepareError(Exception):
    """A preparer's failure the user should read (the input that is missing, say)."""
