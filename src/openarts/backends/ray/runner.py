"""What runs on a Ray node for one task: a detached actor that starts the task's process.

The actor does on its node what the local backend does on this host (the same wrapper,
cgroups, GPU variables and exit-status file), so a task behaves the same on either
backend. It keeps the task's process until the platform has seen it end or asks it to
stop; the status file in the task's folder outlives it, so a restarted server can still
tell how the task ended once the actor is gone.

This module is imported on every node (the actor's class and the port probe are found
there by name), so it imports Ray lazily and nothing of the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from openarts.backends.base import (
    BackendError,
    ResourceSample,
    TaskObservation,
    TaskSpec,
    TaskState,
)
from openarts.backends.local.backend import LocalBackend
from openarts.backends.sandbox import Sandbox, SandboxConfig, SandboxUnavailable, machine_id
from openarts.hostinfo import detect_host

SHARED_HOME_HINT = (
    "the Ray backend needs the platform's home on a file system every node mounts at the "
    "same path, with OpenArts installed in the nodes' Python"
)
OTHER_MACHINE = (
    "sandboxed tasks run only on Ray nodes of the server's own machine for now (a task's "
    "network reaches the object-storage endpoint on that machine's loopback, a gang's "
    "tasks meet in one network namespace there, and notebooks and replicas answer on "
    "sockets in the home only that machine can connect to); run the other machines' work "
    "with OPENARTS_SANDBOX=off on a cluster whose users trust each other"
)


# Kills the task's process group unless the runner said "done" before its end of the
# pipe closed: a runner that dies with its node's raylet (Ray ends its direct children then,
# not the task's session) takes the task with it instead of leaving it running unseen.
# It forks once more so that it is not the runner's child.
GUARD = (
    "import os, signal, sys\n"
    "if os.fork():\n"
    "    os._exit(0)\n"
    "if sys.stdin.read() != 'done':\n"
    "    try:\n"
    "        os.killpg(int(sys.argv[1]), signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
)


class RunnerTaken(BackendError):
    """A spare runner asked to run a task already runs one (another server took it)."""


class TaskRunner:
    """One task's process on this node (a Ray actor; its methods may run side by side, so
    a poll is answered while a stop waits out its grace period)."""

    def __init__(
        self,
        root: str,
        spec: TaskSpec | None,
        node: str,
        owner: str = "",
        sandbox: SandboxConfig | None = None,
    ) -> None:
        self.root = root
        self.node = node
        # The server process that made this runner as a spare ("host pid start-ticks").
        self.owner = owner
        self.error: str | None = None
        # Why this node cannot run the server's sandboxed tasks (said at the start).
        self.unsandboxed: str | None = None
        self.lifeline: int | None = None
        self.task_id = ""
        self.claim = threading.Lock()
        self.local = LocalBackend(Path(root), detect_host(), sandbox=self._sandbox(sandbox))
        if spec is not None:
            self._start(spec)

    def _sandbox(self, config: SandboxConfig | None) -> Sandbox | None:
        """The server's sandbox, made on this node (checked once, when the runner is made,
        a spare ahead of its task), with the network its task will take made ahead."""
        if config is None:
            return None
        if config.machine and config.machine != machine_id():
            self.unsandboxed = OTHER_MACHINE
            return None
        try:
            # One task per runner: one network made ahead, none after.
            sandbox = Sandbox.open(dataclasses.replace(config, spare_networks=1))
        except SandboxUnavailable as error:
            self.unsandboxed = f"the sandbox cannot be made on this node: {error}"
            return None
        sandbox.make_spares()
        return sandbox

    def _start(self, spec: TaskSpec) -> None:
        self.task_id = spec.task_id
        if self.unsandboxed is not None:
            self.error = f"on node {self.node}: {self.unsandboxed}"
            return
        if self.local.sandbox is not None:
            self.local.sandbox.no_more_spares()  # one task per runner
        try:
            self.handle = self.local._start_sync(spec)
            self.lifeline = _guard(int(self.handle.data["pid"]))
        except BackendError as error:
            self.error = f"on node {self.node}: {error}"
            if "does not exist" in str(error):
                self.error += f" ({SHARED_HOME_HINT})"
        except OSError as error:
            self.error = f"on node {self.node}: the task could not be started: {error}"
        finally:
            if self.local.sandbox is not None:
                self.local.sandbox.close()  # the spare network not taken, if any

    def run(self, spec: TaskSpec) -> dict[str, object]:
        """Start a task in this runner, made ahead without one (a spare); its handle data."""
        with self.claim:
            if self.task_id:
                raise RunnerTaken(f"runner on node {self.node} already runs task {self.task_id}")
            self._start(spec)
        return self.started()

    def spare(self) -> tuple[str, str, str] | None:
        """(node, root, owner) while this runner is a spare with no task yet; else None."""
        return None if self.task_id else (self.node, self.root, self.owner)

    def close(self) -> None:
        """Before this spare is ended unused: remove the network it made ahead."""
        if self.local.sandbox is not None:
            self.local.sandbox.close()

    def port(self, address: str) -> int:
        return port_on(address)

    def current_task(self) -> str:
        return self.task_id

    def started(self) -> dict[str, object]:
        """The local handle's data, or the reason the task could not start."""
        if self.error is not None:
            raise BackendError(self.error)
        return dict(self.handle.data)

    def poll(self) -> TaskObservation:
        if self.error is not None:
            return TaskObservation(TaskState.FAILED, None, self.error)
        observed = self.local._poll_one(self.handle)
        if observed.state.finished:
            self._stand_down()
        return observed

    def sample(self) -> ResourceSample | None:
        if self.error is not None:
            return None
        return self.local._sample_sync([self.handle]).get(self.handle.task_id)

    def stop(self, grace_s: float) -> None:
        if self.error is None:
            asyncio.run(self.local.stop(self.handle, grace_s=grace_s))
            self._stand_down()

    def _stand_down(self) -> None:
        """The task has ended: its guard must not kill a group whose id may be reused.
        (Its network is removed by the server, which may have ended this runner first.)"""
        if self.lifeline is not None:
            with contextlib.suppress(OSError):
                os.write(self.lifeline, b"done")
                os.close(self.lifeline)
            self.lifeline = None


def _guard(group: int) -> int:
    """Start the task's guard; the end of its lifeline the runner keeps."""
    read_end, write_end = os.pipe()
    try:
        intermediate = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", GUARD, str(group)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        intermediate.wait()  # it forks the guard and leaves at once
    finally:
        os.close(read_end)
    os.set_inheritable(write_end, False)
    return write_end


def port_on(address: str) -> int:
    """A port free on ``address``, which is this node's (run there as a Ray task)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def port_here(address: str) -> int | None:
    """A port free on ``address`` when that address is this machine's; None when not."""
    try:
        return port_on(address)
    except OSError as error:
        if error.errno == errno.EADDRNOTAVAIL:
            return None
        raise
