"""The local backend: each task is a process on this machine, in a session of its own.

A task runs under a two-line ``/bin/sh`` wrapper that records the command's exit status in
the task's folder, so the status survives the server: a restarted server reads it instead
of losing it. The handle keeps the wrapper's pid and start time, so a pid the kernel has
given to some other process is never taken for the task. Stopping sends SIGTERM to the
whole process group, waits the grace period, then SIGKILLs whatever of the session is
left, grandchildren included.

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
# $0 is the exit-status file; "$@" the task's command. The trap keeps the wrapper alive
# through SIGTERM (the command gets it too, as a member of the group) to write the status.
WRAPPER = 'trap : TERM INT HUP; "$@"; code=$?; echo "$code" > "$0"; exit "$code"'


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
        self._processes: dict[int, psutil.Process] = {}
        self._watched: set[int] = set()

    # -- start -----------------------------------------------------------------------------
    async def start(self, spec: TaskSpec) -> TaskHandle:
        handle = await asyncio.to_thread(self._start_sync, spec)
        self._watch(int(handle.data["pid"]))
        return handle

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
        log_path = run_dir / LOG_FILE
        with log_path.open("ab") as log:
            child = subprocess.Popen(
                ["/bin/sh", "-c", WRAPPER, str(run_dir / EXIT_FILE), *spec.command],
                cwd=spec.workdir,
                env=dict(spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._children[spec.task_id] = child
        try:
            created = psutil.Process(child.pid).create_time()
        except psutil.NoSuchProcess:
            created = time.time()  # already gone; the exit file tells how it ended
        return TaskHandle(
            NAME,
            spec.task_id,
            {"pid": child.pid, "create_time": created, "run_dir": str(run_dir)},
        )

    # -- observe -----------------------------------------------------------------------------
    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]:
        observed = await asyncio.to_thread(lambda: {h.task_id: self._poll_one(h) for h in handles})
        for handle in handles:
            if observed[handle.task_id].state is TaskState.RUNNING:
                self._watch(int(handle.data["pid"]))  # adopted after a restart, say
        return observed

    def _poll_one(self, handle: TaskHandle) -> TaskObservation:
        if self._leader_alive(handle):
            return TaskObservation(TaskState.RUNNING)
        self._children.pop(handle.task_id, None)
        self._kill_leftovers(handle)
        run_dir = Path(handle.data["run_dir"])
        stopped = (run_dir / STOP_FILE).exists()
        code = _read_exit_code(run_dir / EXIT_FILE)
        if code is None:
            if stopped:
                return TaskObservation(TaskState.STOPPED, None, "stopped")
            return TaskObservation(
                TaskState.LOST, None, "the task's processes ended without recording an exit status"
            )
        if stopped:
            return TaskObservation(TaskState.STOPPED, code, "stopped")
        if code == 0:
            return TaskObservation(TaskState.SUCCEEDED, 0)
        return TaskObservation(TaskState.FAILED, code, _describe_exit(code))

    def _leader_alive(self, handle: TaskHandle) -> bool:
        child = self._children.get(handle.task_id)
        if child is not None:
            return child.poll() is None  # also reaps it, so no zombie lingers
        process = self._process(handle)
        if process is None:
            return False
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def _process(self, handle: TaskHandle) -> psutil.Process | None:
        """The task's wrapper process, if it still exists (and is not a reused pid)."""
        pid = int(handle.data["pid"])
        process = self._processes.get(pid)
        try:
            if process is None:
                process = psutil.Process(pid)
            if abs(process.create_time() - float(handle.data["create_time"])) > 0.05:
                return None
        except psutil.NoSuchProcess:
            self._processes.pop(pid, None)
            return None
        self._processes[pid] = process
        return process

    def _session(self, handle: TaskHandle) -> list[psutil.Process]:
        """Every process still in the task's session (its own, whatever it started)."""
        sid = int(handle.data["pid"])
        born = float(handle.data["create_time"])
        members = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == sid and process.create_time() >= born - 0.05:
                    members.append(process)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return members

    def _kill_leftovers(self, handle: TaskHandle) -> None:
        for process in self._session(handle):
            try:
                process.kill()
            except psutil.Error:
                continue

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
            leader = self._process(handle)
            if leader is None:
                continue
            cpu = 0.0
            memory = 0
            try:
                tree = [leader, *leader.children(recursive=True)]
            except psutil.Error:
                continue
            for process in tree:
                cached = self._processes.setdefault(process.pid, process)
                try:
                    # Reusing the Process object makes cpu_percent a delta since last time.
                    cpu += cached.cpu_percent(None)
                    memory += cached.memory_info().rss
                except psutil.Error:
                    continue
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

    # -- stop -------------------------------------------------------------------------------
    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        run_dir = Path(handle.data["run_dir"])
        await asyncio.to_thread((run_dir / STOP_FILE).touch)
        members = await asyncio.to_thread(self._session, handle)
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
            _signal_all, await asyncio.to_thread(self._session, handle), signal.SIGKILL
        )
        child = self._children.get(handle.task_id)
        if child is not None:
            await asyncio.to_thread(child.wait)


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
            return f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    if code == 127:
        return "exit code 127: a command was not found"
    return f"exit code {code}"
