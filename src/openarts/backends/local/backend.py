"""The local backend: each task is a process on this machine, in a session of its own.

A task runs under a two-line ``/bin/sh`` wrapper that records the command's exit status in
the task's folder, so the status survives the server: a restarted server reads it instead
of losing it. Every process of a task carries ``OPENARTS_TASK_ID`` in its environment;
stopping and cleaning up act only on processes that carry the task's marker, so a pid the
kernel has since given to someone else is never touched. The handle keeps the wrapper's
pid and its start time in clock ticks since boot (not wall-clock time, which can be
stepped), so a reused pid is never taken for the task either. Stopping sends SIGTERM to
the task's processes, waits the grace period, then SIGKILLs whatever is left,
grandchildren included.

Limits are accounted, not enforced: cgroup limits are a later step.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

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
from openarts.hostinfo import HostInfo

NAME = "local"
LOG_FILE = "output.log"
EXIT_FILE = "exit_code"
STOP_FILE = "stop_requested"
TASK_MARKER = "OPENARTS_TASK_ID"
# $0 is the exit-status file; "$@" the task's command. The trap keeps the wrapper alive
# through SIGTERM (the command gets it too) so that it can write the status.
WRAPPER = 'trap : TERM INT HUP; "$@"; code=$?; echo "$code" > "$0"; exit "$code"'


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[19])


class LocalBackend(ComputeBackend):
    name = NAME

    def __init__(
        self, root: Path, host: HostInfo, on_exit: Callable[[], None] | None = None
    ) -> None:
        self.root = root
        self.host = host
        # Called (on the event loop) when a task's process ends, so the reconciler
        # notices at once instead of at its next interval.
        self.on_exit = on_exit
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        # Per running task, the psutil objects of its processes: reusing them makes
        # cpu_percent a delta since the last sample. Dropped when the task ends.
        self._sampled: dict[str, dict[int, psutil.Process]] = {}
        self._watched: set[int] = set()

    # -- start -------------------------------------------------------------------------
    async def start(self, spec: TaskSpec) -> TaskHandle:
        handle = await asyncio.to_thread(self._start_sync, spec)
        self._watch(int(handle.data["pid"]))
        return handle

    def _start_sync(self, spec: TaskSpec) -> TaskHandle:
        program = spec.command[0] if spec.command else ""
        if not os.path.isabs(program):
            raise BackendError(f"the command must start with an absolute path, not {program!r}")
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise BackendError(f"command {program} does not exist or is not executable")
        if not spec.workdir.is_dir():
            raise BackendError(f"working directory {spec.workdir} does not exist")
        run_dir = self.root / spec.task_id
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in (EXIT_FILE, STOP_FILE):
            (run_dir / stale).unlink(missing_ok=True)
        with (run_dir / LOG_FILE).open("ab") as log:
            child = subprocess.Popen(
                ["/bin/sh", "-c", WRAPPER, str(run_dir / EXIT_FILE), *spec.command],
                cwd=spec.workdir,
                env={**spec.env, TASK_MARKER: spec.task_id},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._children[spec.task_id] = child
        return TaskHandle(
            NAME,
            spec.task_id,
            {"pid": child.pid, "start_ticks": start_ticks(child.pid), "run_dir": str(run_dir)},
        )

    def _watch(self, pid: int) -> None:
        """Call on_exit when the process ends (a pidfd becomes readable then)."""
        if self.on_exit is None or pid in self._watched:
            return
        try:
            fd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            return  # gone already, or no pidfd here: the interval poll will see it
        loop = asyncio.get_running_loop()
        self._watched.add(pid)

        def exited() -> None:
            loop.remove_reader(fd)
            os.close(fd)
            self._watched.discard(pid)
            if self.on_exit is not None:
                self.on_exit()

        loop.add_reader(fd, exited)

    # -- observe -----------------------------------------------------------------------
    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]:
        observed = await asyncio.to_thread(lambda: {h.task_id: self._poll_one(h) for h in handles})
        for handle in handles:
            if observed[handle.task_id].state is TaskState.RUNNING:
                self._watch(int(handle.data["pid"]))  # adopted after a restart, say
        return observed

    def _poll_one(self, handle: TaskHandle) -> TaskObservation:
        if self._leader_alive(handle):
            return TaskObservation(TaskState.RUNNING)
        self._forget(handle.task_id)
        _signal_all(self._marked(handle.task_id), signal.SIGKILL)  # leftovers, if any
        run_dir = Path(handle.data["run_dir"])
        stopped = (run_dir / STOP_FILE).exists()
        code = _read_exit_code(run_dir / EXIT_FILE)
        if stopped:
            return TaskObservation(TaskState.STOPPED, code, "stopped")
        if code is None:
            return TaskObservation(
                TaskState.LOST, None, "the task's processes ended without recording an exit status"
            )
        if code == 0:
            return TaskObservation(TaskState.SUCCEEDED, 0)
        return TaskObservation(TaskState.FAILED, code, _describe_exit(code))

    def _leader_alive(self, handle: TaskHandle) -> bool:
        child = self._children.get(handle.task_id)
        if child is not None:
            return child.poll() is None  # also reaps it, so no zombie lingers
        pid = int(handle.data["pid"])
        if start_ticks(pid) != handle.data.get("start_ticks"):
            return False  # gone, or the pid now belongs to another process
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def _forget(self, task_id: str) -> None:
        self._children.pop(task_id, None)
        self._sampled.pop(task_id, None)

    @staticmethod
    def _marked(task_id: str) -> list[psutil.Process]:
        """Every live process that carries this task's marker."""
        wanted = f"{TASK_MARKER}={task_id}".encode()
        found = []
        for process in psutil.process_iter():
            try:
                with open(f"/proc/{process.pid}/environ", "rb") as environ:
                    if wanted in environ.read().split(b"\0"):
                        found.append(process)
            except OSError:
                continue
        return found

    async def read_logs(self, handle: TaskHandle, *, offset: int, limit: int) -> LogChunk:
        path = Path(handle.data["run_dir"]) / LOG_FILE

        def read() -> LogChunk:
            try:
                with path.open("rb") as log:
                    log.seek(offset)
                    data = log.read(limit)
            except FileNotFoundError:
                return LogChunk(b"", offset)
            return LogChunk(data, offset + len(data))

        return await asyncio.to_thread(read)

    async def sample(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        return await asyncio.to_thread(self._sample_sync, handles)

    def _sample_sync(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        samples = {}
        for handle in handles:
            if not self._leader_alive(handle):
                continue
            known = self._sampled.setdefault(handle.task_id, {})
            try:
                leader = known.get(int(handle.data["pid"])) or psutil.Process(
                    int(handle.data["pid"])
                )
                tree = [leader, *leader.children(recursive=True)]
            except psutil.Error:
                continue
            current: dict[int, psutil.Process] = {}
            cpu, memory = 0.0, 0
            for process in tree:
                cached = known.get(process.pid, process)
                try:
                    cpu += cached.cpu_percent(None)
                    memory += cached.memory_info().rss
                except psutil.Error:
                    continue
                current[process.pid] = cached
            self._sampled[handle.task_id] = current  # processes that ended drop out
            samples[handle.task_id] = ResourceSample(cpu, memory)
        return samples

    async def nodes(self) -> list[NodeInfo]:
        return [
            NodeInfo(
                name=os.uname().nodename,
                vcpus=float(self.host.cpus),
                memory_bytes=self.host.memory_bytes,
                gpus=len(self.host.gpus),
                arch=self.host.arch,
            )
        ]

    # -- stop --------------------------------------------------------------------------
    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        await asyncio.to_thread(_mark_stopped, Path(handle.data["run_dir"]))
        await self.discard(handle.task_id, grace_s=grace_s)
        child = self._children.get(handle.task_id)
        if child is not None:
            await asyncio.to_thread(child.wait)

    async def discard(self, task_id: str, *, grace_s: float = 0.0) -> None:
        """End every process of the task, with or without a handle for it."""
        members = await asyncio.to_thread(self._marked, task_id)
        if not members:
            return
        await asyncio.to_thread(_signal_all, members, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            members = await asyncio.to_thread(_alive, members)
            if not members:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(
            _signal_all, await asyncio.to_thread(self._marked, task_id), signal.SIGKILL
        )


def _mark_stopped(run_dir: Path) -> None:
    if run_dir.is_dir():
        (run_dir / STOP_FILE).touch()


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        try:
            process.send_signal(signum)
        except psutil.Error:
            continue


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            continue
    return alive


def _read_exit_code(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _describe_exit(code: int) -> str:
    if code > 128:
        try:
            return f"exit code {code} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    if code == 127:
        return "exit code 127: a command was not found"
    return f"exit code {code}"
