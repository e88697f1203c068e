"""The runner a Ray node starts a task with, sandboxed as the local backend does (no
cluster needed: the runner's class is plain Python, which Ray only hosts)."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import pytest

from openarts.backends.base import BackendError, TaskState
from openarts.backends.local.backend import read_log
from openarts.backends.ray.runner import TaskRunner
from openarts.backends.sandbox import SandboxConfig, machine_id
from tests.sandbox.test_sandboxed_backend import in_view, own_networks, pasta_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root")

WHO = "import os, socket; print(os.getuid(), socket.gethostname(), flush=True)"


def config(tmp_path: Path, machine: str) -> SandboxConfig:
    return SandboxConfig(
        tmp_path / "tasks" / ".sandbox", hidden=(tmp_path / "home",), machine=machine
    )


def test_a_runner_runs_its_task_in_the_sandbox_on_a_network_it_made_ahead(
    tmp_path: Path,
) -> None:
    before = set(own_networks())
    spare = TaskRunner(
        str(tmp_path / "tasks"), None, "127.0.0.1", "", config(tmp_path, machine_id())
    )
    ahead = made_ahead(spare)
    spec = in_view("on-node", tmp_path)
    assert spec.view is not None
    spec = dataclasses.replace(
        spec, command=(sys.executable, "-c", WHO), view=dataclasses.replace(spec.view, egress=True)
    )
    started = spare.run(spec)
    assert started["network"] in ahead  # the one it made ahead
    deadline = time.monotonic() + 30
    while spare.poll().state is TaskState.RUNNING:
        assert time.monotonic() < deadline, "the task never ended"
        time.sleep(0.05)
    said = read_log(Path(str(started["run_dir"])), 0, 4096).data.decode()
    assert said.split() == ["1000", "on-node"], said
    # None made after it (one task per runner); the server removes the task's.
    assert set(own_networks()) - before == ahead
    assert spare.local.sandbox is not None
    spare.local.sandbox.release_network(str(started["network"]))
    assert not ahead & set(own_networks())


def test_a_spare_ended_unused_removes_its_network(tmp_path: Path) -> None:
    before = set(own_networks())
    spare = TaskRunner(str(tmp_path / "tasks"), None, "127.0.0.1", "", config(tmp_path, ""))
    ahead = made_ahead(spare)
    assert ahead <= set(own_networks()) - before
    spare.close()
    assert not ahead & set(own_networks())
    deadline = time.monotonic() + 10
    while [name for name in ahead if pasta_of(name)]:
        assert time.monotonic() < deadline, "the spare's pasta is still running"
        time.sleep(0.05)


def made_ahead(runner: TaskRunner) -> set[str]:
    """The network ``runner`` made ahead for its task, once it is ready."""
    assert runner.local.sandbox is not None
    deadline = time.monotonic() + 30
    while not runner.local.sandbox.spare_networks:  # made in the background
        assert time.monotonic() < deadline, "the runner made no network ahead"
        time.sleep(0.05)
    return set(runner.local.sandbox.spare_networks)


def test_a_node_of_another_machine_refuses_sandboxed_work_saying_why(tmp_path: Path) -> None:
    runner = TaskRunner(
        str(tmp_path / "tasks"),
        in_view("elsewhere", tmp_path),
        "10.0.0.9",
        "",
        config(tmp_path, "another-boot-id"),
    )
    with pytest.raises(BackendError) as refused:
        runner.started()
    assert "on node 10.0.0.9" in str(refused.value)
    assert "the server's own machine" in str(refused.value)
    assert "OPENARTS_SANDBOX=off" in str(refused.value)
    assert runner.poll().state is TaskState.FAILED
