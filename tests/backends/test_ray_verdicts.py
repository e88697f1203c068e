"""How the Ray backend judges a task whose runner cannot answer: from the task's folder
and the node table (no cluster needed: these are the server's own rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openarts.backends.base import TaskHandle, TaskState
from openarts.backends.local.backend import EXIT_FILE, STOP_FILE
from openarts.backends.ray import backend as ray_backend
from openarts.backends.ray.backend import RayBackend


def backend_with(tmp_path: Path, live: dict[str, str], dead: set[str]) -> RayBackend:
    backend = RayBackend(tmp_path / "tasks", "127.0.0.2:6379")
    backend._node_ids = dict(live)
    backend._dead = set(dead)
    return backend


def handle(tmp_path: Path, node: str = "10.0.0.3", node_id: str = "id-3") -> TaskHandle:
    run_dir = tmp_path / "tasks" / "w-0"
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {"actor": "w-0", "namespace": "ns", "node": node, "node_id": node_id}
    return TaskHandle("ray", "w-0", {**data, "run_dir": str(run_dir)})


def test_what_the_folder_recorded_wins(tmp_path: Path) -> None:
    backend = backend_with(tmp_path, {}, {"10.0.0.3"})
    task = handle(tmp_path)
    (Path(task.data["run_dir"]) / EXIT_FILE).write_text("3\n")
    seen = backend._without_runner(task, still_there=False)
    assert (seen.state, seen.exit_code) == (TaskState.FAILED, 3)
    (Path(task.data["run_dir"]) / STOP_FILE).touch()
    assert backend._without_runner(task, still_there=False).state is TaskState.STOPPED


def test_a_task_on_a_node_that_left_fails_naming_the_node(tmp_path: Path) -> None:
    backend = backend_with(tmp_path, {"10.0.0.4": "id-4"}, {"10.0.0.3"})
    seen = backend._without_runner(handle(tmp_path), still_there=True)
    assert seen.state is TaskState.FAILED
    assert seen.reason == "node 10.0.0.3 left the Ray cluster while the task ran on it"


def test_a_node_that_rejoined_at_the_address_is_another_node(tmp_path: Path) -> None:
    backend = backend_with(tmp_path, {"10.0.0.3": "id-new"}, set())
    seen = backend._without_runner(handle(tmp_path), still_there=True)
    assert seen.state is TaskState.FAILED
    assert "a new node has joined at its address" in (seen.reason or "")


def test_an_unreachable_runner_on_a_live_node_is_still_running(tmp_path: Path) -> None:
    backend = backend_with(tmp_path, {"10.0.0.3": "id-3"}, set())
    assert backend._without_runner(handle(tmp_path), still_there=True).state is TaskState.RUNNING


def test_a_runner_gone_on_a_live_node_is_lost_only_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_with(tmp_path, {"10.0.0.3": "id-3"}, set())
    task = handle(tmp_path)
    assert backend._without_runner(task, still_there=False).state is TaskState.RUNNING
    monkeypatch.setattr(ray_backend, "LOST_GRACE_S", 0.0)
    seen = backend._without_runner(task, still_there=False)
    assert seen.state is TaskState.LOST
    assert seen.reason == "its runner on node 10.0.0.3 ended without recording an exit status"


def test_spare_owners_are_judged_gone_only_on_this_host(tmp_path: Path) -> None:
    assert not ray_backend._owner_gone(ray_backend._owner())  # this very process
    assert not ray_backend._owner_gone("some-other-host 1 1")
    assert not ray_backend._owner_gone("garbage")
    host = ray_backend._owner().split()[0]
    assert ray_backend._owner_gone(f"{host} 999999999 1")  # no such process
