"""The local backend: each task is a process on this machine, in a session of its own.

A task runs under a short ``/bin/sh`` wrapper that records the command's exit status in
the task's folder, so the status survives the server: a restarted server reads it instead
of losing it. Every process of a task carries ``OPENARTS_TASK_ID`` (this backend's
scope and the task's ID) in its environment;
stopping and cleaning up act only on processes that carry the task's marker or are in the
task's cgroups, so a pid the kernel has since given to someone else is never touched. The
handle keeps the wrapper's pid and its start time in clock ticks since boot (not
wall-clock time, which can be stepped), so a reused pid is never taken for the task
either. Stopping sends SIGTERM to the task's processes, waits the grace period, then
SIGKILLs whatever is left, grandchildren included.

Memory and CPU limits are enforced with cgroups (v1 or v2, see ``cgroups.py``) where the
cgroup file system is writable, which is found out once, when the backend is made; the
wrapper enters the task's groups before it runs the command, so all the task's processes
are in them, and a task the kernel's OOM killer ended says it ran out of memory. Where
the file system is not writable, limits are only accounted (``limits_enforced`` and
``limits_reason`` say which it is). The groups are removed when the task has ended.

GPUs are handed out with ``CUDA_VISIBLE_DEVICES`` (device order fixed to the PCI bus
order, the one NVML and nvidia-smi number devices in); a task given no GPU sees none.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
from openarts.backends.images import ImageConfig, ImageError, ImagesReport, ImageStore
from openarts.backends.local import gpus
from openarts.backends.local.cgroups import PARENT_NAME, Cgroups
from openarts.backends.sandbox import (
    Sandbox,
    SandboxCommand,
    SandboxUnavailable,
    env_arguments,
)
from openarts.hostinfo import MIB, HostInfo

_T = TypeVar("_T")

log = logging.getLogger(__name__)

NAME = "local"
LOG_FILE = "output.log"
EXIT_FILE = "exit_code"
STOP_FILE = "stop_requested"
OOM_FILE = "oom_killed"  # the OOM verdict, kept once the task's groups are removed
NO_CGROUP_FILE = "cgroup_failed"
# The handle, written as soon as the task's process exists: a server that dies before
# committing it finds it here on its next start and adopts the task (see recover()).
HANDLE_FILE = "handle.json"
# How long stopping keeps killing what a task's processes may still be forking.
KILL_WAIT_S = 5.0
# How long a stopped task's network waits for the last of its processes to be gone.
STOPPED_WAIT_S = 1.0
# Up to this many tasks are started or polled right on the event loop (see start()).
INLINE_BATCH = 4
TASK_MARKER = "OPENARTS_TASK_ID"
# The only variables of the root-side steps of a sandboxed task's start.
ROOT_SIDE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# $0 is the task's folder; then the cgroup.procs files to enter, up to "--"; then the
# task's command. The trap keeps the wrapper alive through SIGTERM (the command gets it
# too) so that it can write the status. The wrapper enters the groups itself, before the
# command runs, so that everything the command starts is in them.
WRAPPER = (
    "trap : TERM INT HUP; "
    'while [ "$1" != -- ]; do '
    f'echo $$ > "$1" || {{ : > "$0/{NO_CGROUP_FILE}"; echo 125 > "$0/{EXIT_FILE}"; exit 125; }}; '
    "shift; done; shift; "
    f'"$@"; code=$?; echo "$code" > "$0/{EXIT_FILE}"; exit "$code"'
)
# Said once per process and verdict, not once per backend made.
_announced: set[tuple[bool, int]] = set()


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
    shares_cpus = True

    def __init__(
        self,
        root: Path,
        host: HostInfo,
        on_exit: Callable[[], None] | None = None,
        *,
        cgroups: Cgroups | None = None,
        cgroup_parent: str | os.PathLike[str] | None = None,
        sandbox: Sandbox | None = None,
        images: ImageStore | None = None,
    ) -> None:
        self.root = root
        # The node's container images (Podman); None: tasks of images are refused.
        self.images = images
        if images is not None:
            self.images_report = images.probe()
            if not self.images_report.enabled:
                self.images = None
            elif sandbox is None:
                self.images = None
                self.images_report = ImagesReport(
                    False, "images run in the sandbox, which is off (OPENARTS_SANDBOX=off)"
                )
        self.host = host
        # ``cgroup_parent``: a delegated group to make the tasks' groups in (see cgroups.py).
        self.cgroups = (
            cgroups
            if cgroups is not None
            else Cgroups.detect(parent=cgroup_parent, name=_cgroup_name(root))
        )
        self.limits_enforced = self.cgroups.enforced
        self.limits_reason = self.cgroups.reason
        if (self.limits_enforced, self.cgroups.version) not in _announced:
            _announced.add((self.limits_enforced, self.cgroups.version))
            if self.limits_enforced:
                log.info("task memory and CPU limits are enforced: %s", self.limits_reason)
            else:
                log.info("task memory and CPU limits are only accounted: %s", self.limits_reason)
        # Called (on the event loop) when a task's process ends, so the reconciler
        # notices at once instead of at its next interval.
        self.on_exit = on_exit
        self._scope = _cgroup_name(root)
        # Runs the tasks that come with a view; None: the sandbox is off.
        self.sandbox = sandbox
        if sandbox is not None:
            self.sandbox_report = sandbox.report
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        # Per running task, the psutil objects of its processes: reusing them makes
        # cpu_percent a delta since the last sample. Dropped when the task ends.
        self._sampled: dict[str, dict[int, psutil.Process]] = {}
        self._watched: set[int] = set()

    async def close(self) -> None:
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.close)  # its spare networks

    # -- start -------------------------------------------------------------------------
    async def start(self, spec: TaskSpec) -> TaskHandle:
        # On the loop, as asyncio starts its own subprocesses: a start is a few small
        # file writes and a vfork, well under a millisecond of work, while a hop to a
        # worker thread costs several when the CPUs are busy (measured by
        # benchmarks/scheduler.py). Large gangs go to a thread (start_group).
        # A sandboxed start also hands folders over and may make a gang's network: on a
        # worker thread, never holding the loop.
        if spec.view is not None:
            handle = await asyncio.to_thread(self._start_sync, spec)
        else:
            handle = self._start_sync(spec)
        self._watch(int(handle.data["pid"]))
        return handle

    async def start_group(self, specs: list[TaskSpec]) -> list[TaskHandle]:
        if len(specs) <= INLINE_BATCH and all(spec.view is None for spec in specs):
            return await super().start_group(specs)

        handles: list[TaskHandle] = []

        def start_all() -> None:
            for spec in specs:
                handles.append(self._start_sync(spec))

        try:
            await asyncio.to_thread(start_all)
        except BaseException:
            # All or nothing, as the base class does it.
            for handle in handles:
                await self.stop(handle, grace_s=0)
            raise
        for handle in handles:
            self._watch(int(handle.data["pid"]))
        return handles

    def _start_sync(self, spec: TaskSpec) -> TaskHandle:
        program = spec.command[0] if spec.command else ""
        image = spec.view.image if spec.view is not None else ""
        root, image_env = self._image(image) if image else (None, {})
        if root is not None and program and not os.path.isabs(program):
            # An image's command may name its program as the image's PATH finds it
            # (CMD ["python3", "app.py"]), as a container runtime would.
            program = _on_path(root, {**image_env, **spec.env}.get("PATH", ""), program)
            spec = dataclasses.replace(spec, command=(program, *spec.command[1:]))
        if not os.path.isabs(program):
            raise BackendError(f"the command must start with an absolute path, not {program!r}")
        # A sandboxed task's interpreter is seen where it is on the host (an image's, in
        # the image).
        seen = Path(f"{root}{program}") if root is not None else Path(program)
        if not (seen.is_file() and os.access(seen, os.X_OK)):
            where = f" in image {image}" if image else ""
            raise BackendError(f"command {program} does not exist or is not executable{where}")
        if spec.view is None and not spec.workdir.is_dir():
            raise BackendError(f"working directory {spec.workdir} does not exist")
        gpu_env = self._gpu_env(spec.gpu_ids)
        run_dir = self.root / spec.task_id
        run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # An image's own variables first (its PATH among them): the task's win.
        env = {**image_env, **spec.env, **gpu_env, TASK_MARKER: self._marker(spec.task_id)}
        env_fd = None
        if spec.view is not None:
            # Only its own GPUs' device files are in its view: CUDA and NVML number
            # those from 0 there, in the same (PCI) order.
            inside = ",".join(str(n) for n in range(len(spec.gpu_ids)))
            env["CUDA_VISIBLE_DEVICES"] = inside
            env["NVIDIA_VISIBLE_DEVICES"] = inside or "none"
            # The task's variables go to the sandbox through a file only the last bwrap
            # reads; the root-side processes before it get a fixed, harmless set.
            env_fd = _env_file(run_dir, env_arguments(env))
            env = {"PATH": ROOT_SIDE_PATH, TASK_MARKER: self._marker(spec.task_id)}
        try:
            command, cwd, network = self._sandboxed(spec, run_dir, env_fd, root)
        except BaseException:
            if env_fd is not None:
                os.close(env_fd)
            raise
        if env_fd is not None:
            command = dataclasses.replace(command, fds=(env_fd, *command.fds))
        try:
            return self._launch(spec, run_dir, command, cwd, env, network)
        except BaseException:
            if network and self.sandbox is not None:
                self.sandbox.release_network(network)  # unless a process is in it
            raise

    def _launch(
        self,
        spec: TaskSpec,
        run_dir: Path,
        command: SandboxCommand,
        cwd: Path,
        env: dict[str, str],
        network: str,
    ) -> TaskHandle:
        """Start ``command``, handing it its descriptors, which are closed here."""
        for stale in (EXIT_FILE, STOP_FILE, OOM_FILE, NO_CGROUP_FILE, HANDLE_FILE):
            (run_dir / stale).unlink(missing_ok=True)
        try:
            groups = self.cgroups.create(spec.task_id, spec.resources)
        except OSError as error:
            command.close()
            raise BackendError(
                f"the task's resource limits could not be applied: {error}"
            ) from error
        try:
            with (run_dir / LOG_FILE).open("ab") as output:
                child = subprocess.Popen(
                    [
                        "/bin/sh",
                        "-c",
                        WRAPPER,
                        str(run_dir),
                        *Cgroups.join_files(groups),
                        "--",
                        *command.argv,
                    ],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=command.fds,
                )
        except BaseException:
            self.cgroups.remove(groups)
            raise
        finally:
            command.close()
        self._children[spec.task_id] = child
        handle = TaskHandle(
            NAME,
            spec.task_id,
            {
                "pid": child.pid,
                "start_ticks": start_ticks(child.pid),
                "run_dir": str(run_dir),
                "cgroups": [str(group) for group in groups],
                "gpu_ids": list(spec.gpu_ids),
                "network": network,
            },
        )
        _write_handle(run_dir, handle)
        return handle

    async def recover(self, task_id: str) -> TaskHandle | None:
        path = self.root / task_id / HANDLE_FILE
        try:
            text = await asyncio.to_thread(path.read_text, "utf-8")
            return TaskHandle.from_json(text)
        except (OSError, ValueError, KeyError, BackendError):
            return None

    async def has_image(self, image: str, node: str) -> bool:
        images = self.images
        if images is None:
            return False
        try:
            return await asyncio.to_thread(images.exists, image)
        except ImageError:
            return False

    async def ensure_image(self, image: str, node: str) -> bool:
        images = self.images
        if images is None:
            raise BackendError(self.images_report.summary)

        def ensure() -> bool:
            missing = not images.exists(image)
            # Pulls what is missing, and refreshes an image of the platform's registry
            # (a tag pushed again), before its rules are checked.
            images.ensure(image)
            images.check_rules(image)
            return missing

        try:
            return await asyncio.to_thread(ensure)
        except ImageError as error:
            raise BackendError(str(error)) from error

    async def image_config(self, image: str, node: str) -> ImageConfig:
        return await self._ask_images(image, lambda images: images.config(image))

    async def image_root(self, image: str, node: str) -> Path:
        return await self._ask_images(image, lambda images: images.root(image))

    async def _ask_images(self, image: str, ask: Callable[[ImageStore], _T]) -> _T:
        """``ask`` of the node's image store, on a thread (Podman is slow to answer)."""
        images = self.images
        if images is None:
            raise BackendError(self.images_report.summary)
        try:
            return await asyncio.to_thread(ask, images)
        except ImageError as error:
            raise BackendError(f"image {image}: {error}") from error

    def _image(self, image: str) -> tuple[Path, dict[str, str]]:
        """An image's root file system and variables (its preparer pulled it; one that
        is gone since is pulled again here, on this worker thread)."""
        if self.images is None:
            raise BackendError(
                f"image {image}: this node runs no container images (podman is missing or "
                "does not work; see the server's banner)"
            )
        try:
            if not self.images.exists(image):
                self.images.ensure(image)
            return self.images.root(image), self.images.config(image).env
        except ImageError as error:
            raise BackendError(f"image {image}: {error}") from error

    def _sandboxed(
        self, spec: TaskSpec, run_dir: Path, env_fd: int | None, root: Path | None = None
    ) -> tuple[SandboxCommand, Path, str]:
        """The command to run and the folder to run it from: in the task's sandbox when
        it has a view."""
        if spec.view is None:
            if self.sandbox is not None:
                # Every kind of work says what its tasks see; one without a view was
                # queued before the sandbox was on, and never runs unsandboxed.
                raise BackendError(
                    "this task was queued before the sandbox was turned on, so it says "
                    "nothing of what it may see; submit it again"
                )
            return SandboxCommand(list(spec.command)), spec.workdir, ""
        if self.sandbox is None:
            raise BackendError(
                "this task was queued to run in a sandbox, and the sandbox is off now "
                "(OPENARTS_SANDBOX=off); submit it again"
            )
        private = run_dir / "sandbox"
        view = spec.view
        try:
            if view.egress and not view.network and self.sandbox.privileged:
                # A network of its own that reaches out (made ahead: a spare).
                view = dataclasses.replace(view, network=self.sandbox.take_network())
            self.sandbox.prepare(view, private)
            command = self.sandbox.command(
                view, list(spec.command), str(spec.workdir), spec.gpu_ids, private, env_fd, root
            )
        except (SandboxUnavailable, OSError) as error:
            if view.network != spec.view.network:
                self.sandbox.release_network(view.network)
            raise BackendError(f"the task's sandbox could not be made: {error}") from error
        return command, run_dir, view.network

    def _gpu_env(self, gpu_ids: tuple[int, ...]) -> dict[str, str]:
        """The variables that hand the task its GPUs, and only those."""
        known = sorted(gpu.index for gpu in self.host.gpus)
        unknown = [index for index in gpu_ids if index not in known]
        if unknown:
            have = ", ".join(map(str, known)) if known else "none"
            raise BackendError(
                f"GPU {', '.join(map(str, unknown))} is not on this node (its GPUs: {have})"
            )
        if len(set(gpu_ids)) != len(gpu_ids):
            raise BackendError(f"a GPU is assigned twice in {list(gpu_ids)}")
        visible = ",".join(map(str, gpu_ids))
        return {
            # Empty means no device at all to CUDA, which is what a task without GPUs gets.
            "CUDA_VISIBLE_DEVICES": visible,
            # To the NVIDIA container runtime an empty value means "not set", which lets
            # an image's own default (often "all") through; "none" means no device.
            "NVIDIA_VISIBLE_DEVICES": visible or "none",
            # CUDA numbers devices fastest first by default; the indices handed out are
            # NVML's, which follow the PCI bus.
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        }

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
        def poll_all() -> dict[str, TaskObservation]:
            observed = {handle.task_id: self._poll_one(handle) for handle in handles}
            self.cgroups.tidy()
            return observed

        # Like start: a few tasks on the loop, many on a thread.
        observed = poll_all() if len(handles) <= INLINE_BATCH else await asyncio.to_thread(poll_all)
        networks = set()
        for handle in handles:
            if observed[handle.task_id].state is TaskState.RUNNING:
                self._watch(int(handle.data["pid"]))  # adopted after a restart, say
            elif handle.data.get("network"):
                networks.add(str(handle.data["network"]))
        if self.sandbox is not None:
            for network in networks:
                await asyncio.to_thread(self.sandbox.release_network, network)
        return observed

    def _poll_one(self, handle: TaskHandle) -> TaskObservation:
        if self._leader_alive(handle):
            return TaskObservation(TaskState.RUNNING)
        self._forget(handle.task_id)
        groups = _groups_of(handle)
        # Leftovers: the task's groups hold every descendant, so reading them is enough
        # here (a scan of all processes costs a millisecond a task; stop still does it).
        leftovers = (
            _processes(Cgroups.pids(groups)) if groups else self._members(handle.task_id, groups)
        )
        _signal_all(leftovers, signal.SIGKILL)
        run_dir = Path(handle.data["run_dir"])
        self._settle_groups(run_dir, groups)
        stopped = (run_dir / STOP_FILE).exists()
        code = _read_exit_code(run_dir / EXIT_FILE)
        if stopped:
            return TaskObservation(TaskState.STOPPED, code, "stopped")
        if (run_dir / NO_CGROUP_FILE).exists():
            return TaskObservation(
                TaskState.FAILED,
                code,
                "the task could not be put in its cgroup, so its limits could not be applied",
            )
        oom = _out_of_memory(run_dir, code)
        if code is None:
            if oom is not None:
                return TaskObservation(TaskState.FAILED, None, oom)
            return TaskObservation(
                TaskState.LOST, None, "the task's processes ended without recording an exit status"
            )
        if code == 0:
            return TaskObservation(TaskState.SUCCEEDED, 0)
        return TaskObservation(TaskState.FAILED, code, oom or _describe_exit(code))

    def _settle_groups(self, run_dir: Path, groups: list[Path]) -> None:
        """Keep whether the OOM killer struck, then remove the task's groups: the verdict
        outlives them, so polling again says the same."""
        if not groups:
            return
        if not (run_dir / OOM_FILE).exists() and self.cgroups.oom_killed(groups):
            limit = Cgroups.memory_limit(groups)
            try:
                (run_dir / OOM_FILE).write_text("" if limit is None else str(limit))
            except OSError as error:
                log.warning("could not record that task %s ran out of memory: %s", run_dir, error)
        self.cgroups.remove(groups, wait_s=0.0)  # never hold up a poll

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

    def _marker(self, task_id: str) -> str:
        """The task's marker, this backend's own: two platforms on one host (two test
        runs, or tests naming their tasks alike) never end each other's processes."""
        return f"{self._scope}/{task_id}"

    def _members(self, task_id: str, groups: list[Path]) -> list[psutil.Process]:
        """Every live process that carries this task's marker or is in its cgroups (where
        also one that emptied its environment is found)."""
        wanted = f"{TASK_MARKER}={self._marker(task_id)}".encode()
        found: dict[int, psutil.Process] = {}
        for process in psutil.process_iter():
            try:
                with open(f"/proc/{process.pid}/environ", "rb") as environ:
                    if wanted in environ.read().split(b"\0"):
                        found[process.pid] = process
            except OSError:
                continue
        for process in _processes(Cgroups.pids(groups)):
            found.setdefault(process.pid, process)
        return list(found.values())

    async def read_logs(self, handle: TaskHandle, *, offset: int, limit: int) -> LogChunk:
        return await asyncio.to_thread(read_log, Path(handle.data["run_dir"]), offset, limit)

    async def sample(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        return await asyncio.to_thread(self._sample_sync, handles)

    def _sample_sync(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        samples = {}
        gpu_usage: dict[int, int] | None = None
        gpu_busy: dict[int, float] | None = None
        gpu_queried = False
        for handle in handles:
            if not self._leader_alive(handle):
                continue
            if self.host.gpus and not gpu_queried:
                # One query for every process on every GPU, shared by all the tasks.
                gpu_usage, gpu_queried = gpus.process_gpu_memory(), True
                gpu_busy = gpus.device_utilization()
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
            gpu_memory = (
                None if gpu_usage is None else sum(gpu_usage.get(pid, 0) for pid in current)
            )
            samples[handle.task_id] = ResourceSample(
                cpu, memory, gpu_memory, _average_busy(gpu_busy, handle.data.get("gpu_ids"))
            )
        return samples

    async def nodes(self) -> list[NodeInfo]:
        return [
            NodeInfo(
                name=os.uname().nodename,
                vcpus=float(self.host.cpus),
                memory_bytes=self.host.memory_bytes,
                gpus=len(self.host.gpus),
                arch=self.host.arch,
                gpu_ids=tuple(gpu.index for gpu in self.host.gpus),
            )
        ]

    # -- stop --------------------------------------------------------------------------
    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        await asyncio.to_thread(mark_stopped, Path(handle.data["run_dir"]))
        groups = _groups_of(handle)
        await self._end(handle.task_id, groups, grace_s)
        child = self._children.get(handle.task_id)
        if child is not None:
            try:
                await asyncio.to_thread(child.wait, KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                # Its processes were not all found (seen once in a busy test run, a
                # wrapper left waiting on its command): its session goes whole.
                log.warning("task %s outlived its stop; killing its session", handle.task_id)
                with contextlib.suppress(OSError):
                    os.killpg(child.pid, signal.SIGKILL)
                await asyncio.to_thread(child.wait)
        if groups:
            await asyncio.to_thread(self.cgroups.remove, groups)
        # A stopped task is not polled again: its network goes now, unless another
        # member of its gang is still in it (that one's end removes it).
        network = str(handle.data.get("network", ""))
        if network and self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.release_network, network, STOPPED_WAIT_S)

    async def discard(self, task_id: str, *, grace_s: float = 0.0) -> None:
        """End every process of the task, with or without a handle for it."""
        groups = self.cgroups.groups(task_id) if self.cgroups.enforced else []
        await self._end(task_id, groups, grace_s)
        if groups:
            await asyncio.to_thread(self.cgroups.remove, groups)

    async def _end(self, task_id: str, groups: list[Path], grace_s: float) -> None:
        """SIGTERM every process of the task, then SIGKILL what is left after grace_s."""
        members = await asyncio.to_thread(self._members, task_id, groups)
        if not members:
            return
        await asyncio.to_thread(_signal_all, members, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            members = await asyncio.to_thread(_alive, members)
            if not members:
                break
            await asyncio.sleep(0.05)
        # Until none is left: a process forked while the last scan ran (the wrapper
        # starting the command, say) is found by the next one, never left running.
        deadline = time.monotonic() + KILL_WAIT_S
        while True:
            left = await asyncio.to_thread(self._members, task_id, groups)
            left = await asyncio.to_thread(_alive, left)
            if not left or time.monotonic() > deadline:
                return
            await asyncio.to_thread(_signal_all, left, signal.SIGKILL)
            await asyncio.sleep(0.02)


def _env_file(run_dir: Path, content: bytes) -> int:
    """A read handle on ``content``, in a file that is gone from the folder before the
    task starts (it holds the task's variables, secrets among them)."""
    path = run_dir / ".env-arguments"
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(content)
    try:
        return os.open(path, os.O_RDONLY)
    finally:
        path.unlink()


def _write_handle(run_dir: Path, handle: TaskHandle) -> None:
    """Written beside and renamed into place: a half-written handle is never read."""
    temporary = run_dir / f".{HANDLE_FILE}.tmp"
    temporary.write_text(handle.to_json(), "utf-8")
    os.replace(temporary, run_dir / HANDLE_FILE)


def read_log(run_dir: Path, offset: int, limit: int) -> LogChunk:
    """Part of a task's log, from its folder."""
    try:
        with (run_dir / LOG_FILE).open("rb") as output:
            size = os.fstat(output.fileno()).st_size
            output.seek(offset)
            data = output.read(limit)
    except FileNotFoundError:
        return LogChunk(b"", offset, 0)
    return LogChunk(data, offset + len(data), size)


def recorded_ending(run_dir: Path) -> TaskObservation | None:
    """How the task ended, from what its folder records; None when it records nothing."""
    code = _read_exit_code(run_dir / EXIT_FILE)
    if (run_dir / STOP_FILE).exists():
        return TaskObservation(TaskState.STOPPED, code, "stopped")
    oom = _out_of_memory(run_dir, code)
    if code is None:
        return None if oom is None else TaskObservation(TaskState.FAILED, None, oom)
    if code == 0:
        return TaskObservation(TaskState.SUCCEEDED, 0)
    return TaskObservation(TaskState.FAILED, code, oom or _describe_exit(code))


def _cgroup_name(root: Path) -> str:
    # Two platforms on one host (or two test runs) may use the same task ids; their
    # groups must not meet, or stopping a task of one would end a task of the other.
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return f"{PARENT_NAME}-{digest}"


def _groups_of(handle: TaskHandle) -> list[Path]:
    # Handles written before cgroups were used have none.
    return [Path(group) for group in handle.data.get("cgroups", ())]


def _out_of_memory(run_dir: Path, code: int | None) -> str | None:
    """Why the task failed, where the kernel's OOM killer ended one of its processes."""
    try:
        recorded = (run_dir / OOM_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    at = f" at its memory limit of {int(recorded) / MIB:.0f} MiB" if recorded.isdigit() else ""
    reason = f"out of memory: the kernel's OOM killer ended a process of the task{at}"
    return reason if code is None else f"{reason} ({_describe_exit(code)})"


def _average_busy(busy: dict[int, float] | None, gpu_ids: object) -> float | None:
    """The task's GPUs' average utilisation (handles from before it was kept: None)."""
    if busy is None or not isinstance(gpu_ids, list) or not gpu_ids:
        return None
    known = [busy[index] for index in gpu_ids if index in busy]
    return sum(known) / len(known) if known else None


def _processes(pids: list[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return found


def mark_stopped(run_dir: Path) -> None:
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


def _on_path(root: Path, path: str, program: str) -> str:
    """Where in an image (mounted at ``root``) the folders of ``path`` find ``program``;
    ``program`` as it was when none does (the start then says it does not exist)."""
    if "/" in program:
        return program
    for folder in (path or "/usr/local/bin:/usr/bin:/bin").split(":"):
        if folder.startswith("/"):
            found = Path(f"{root}{folder}") / program
            # A link is the image's to resolve (its targets are in the image, not here).
            if found.is_symlink() or (found.is_file() and os.access(found, os.X_OK)):
                return f"{folder.rstrip('/')}/{program}"
    return program
