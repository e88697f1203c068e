"""The local backend: processes, logs, exit codes, stopping, adoption after a crash."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from openarts.backends.base import (
    BackendError,
    TaskHandle,
    TaskObservation,
    TaskSpec,
    TaskState,
)
from openarts.backends.local.backend import INLINE_BATCH, LocalBackend
from openarts.hostinfo import detect_host

PYTHON = sys.executable


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "tasks", detect_host())


def spec(task_id: str, tmp_path: Path, *argv: str, **env: str) -> TaskSpec:
    return TaskSpec(
        task_id=task_id,
        command=tuple(argv),
        workdir=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )


async def wait_finished(
    backend: LocalBackend, handle: TaskHandle, timeout_s: float = 20.0
) -> TaskObservation:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        observed = (await backend.poll([handle]))[handle.task_id]
        if observed.state.finished:
            return observed
        await asyncio.sleep(0.02)
    raise AssertionError(f"{handle.task_id} did not finish in {timeout_s}s")


async def test_a_task_runs_logs_and_succeeds(backend: LocalBackend, tmp_path: Path) -> None:
    handle = await backend.start(
        spec(
            "ok",
            tmp_path,
            PYTHON,
            "-c",
            "import os,sys; print('hello', os.environ['GREETING']);print('oops', file=sys.stderr)",
            GREETING="world",
        )
    )
    observed = await wait_finished(backend, handle)
    assert (observed.state, observed.exit_code) == (TaskState.SUCCEEDED, 0)
    logs = await backend.read_logs(handle, offset=0, limit=1 << 20)
    assert b"hello world" in logs.data and b"oops" in logs.data
    tail = await backend.read_logs(handle, offset=logs.next_offset, limit=100)
    assert tail.data == b""


async def test_exit_codes_and_signals(backend: LocalBackend, tmp_path: Path) -> None:
    failing = await backend.start(spec("fail", tmp_path, PYTHON, "-c", "raise SystemExit(3)"))
    observed = await wait_finished(backend, failing)
    assert (observed.state, observed.exit_code, observed.reason) == (
        TaskState.FAILED,
        3,
        "exit code 3",
    )
    killed = await backend.start(
        spec(
            "kill", tmp_path, PYTHON, "-c", "import os,signal; os.kill(os.getpid(), signal.SIGKILL)"
        )
    )
    observed = await wait_finished(backend, killed)
    assert observed.state is TaskState.FAILED
    assert observed.reason == "exit code 137 (killed by SIGKILL)"


async def test_bad_commands_fail_at_start(backend: LocalBackend, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not exist"):
        await backend.start(spec("x", tmp_path, "/no/such/python", "-c", "pass"))
    with pytest.raises(BackendError, match="absolute path"):
        await backend.start(spec("y", tmp_path, "python3", "-c", "pass"))
    with pytest.raises(BackendError, match="working directory"):
        await backend.start(TaskSpec("z", (PYTHON, "-c", "pass"), tmp_path / "missing"))


async def test_stop_kills_the_whole_tree(backend: LocalBackend, tmp_path: Path) -> None:
    script = (
        "import subprocess,sys,time;"
        "child=subprocess.Popen([sys.executable,'-c','import time; time.sleep(300)']);"
        "print(child.pid, flush=True); time.sleep(300)"
    )
    handle = await backend.start(spec("tree", tmp_path, PYTHON, "-c", script))
    deadline = time.monotonic() + 10
    grandchild = b""
    while not grandchild.strip() and time.monotonic() < deadline:
        grandchild = (await backend.read_logs(handle, offset=0, limit=100)).data
        await asyncio.sleep(0.02)
    pid = int(grandchild.strip())
    assert psutil.pid_exists(pid)
    await backend.stop(handle, grace_s=2)
    observed = await wait_finished(backend, handle)
    assert observed.state is TaskState.STOPPED
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        await asyncio.sleep(0.02)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    await backend.stop(handle, grace_s=0)  # idempotent


async def test_a_task_that_ignores_sigterm_is_killed(backend: LocalBackend, tmp_path: Path) -> None:
    handle = await backend.start(
        spec(
            "stubborn",
            tmp_path,
            PYTHON,
            "-c",
            "import signal,time; signal.signal(signal.SIGTERM,"
            " signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(300)",
        )
    )
    deadline = time.monotonic() + 10
    while b"ready" not in (await backend.read_logs(handle, offset=0, limit=100)).data:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    started = time.monotonic()
    await backend.stop(handle, grace_s=0.5)
    observed = await wait_finished(backend, handle)
    assert observed.state is TaskState.STOPPED
    assert time.monotonic() - started < 10


ORPHAN_MAKER = """
import asyncio, sys
from pathlib import Path
from openarts.backends.base import TaskSpec
from openarts.backends.local.backend import INLINE_BATCH, LocalBackend
from openarts.hostinfo import detect_host

async def main():
    backend = LocalBackend(Path(sys.argv[1]), detect_host())
    handle = await backend.start(TaskSpec("survivor", (sys.executable, "-c",
        "import time; time.sleep(float(open('duration').read()))"), Path(sys.argv[2])))
    print(handle.to_json(), flush=True)

asyncio.run(main())
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
"""


def start_then_die(tmp_path: Path) -> TaskHandle:
    """Start a task from a 'server' process that is then SIGKILLed; return its handle."""
    done = subprocess.run(
        [PYTHON, "-c", ORPHAN_MAKER, str(tmp_path / "tasks"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    return TaskHandle.from_json(done.stdout.strip().splitlines()[-1])


async def test_a_restarted_server_adopts_running_tasks(tmp_path: Path) -> None:
    (tmp_path / "duration").write_text("300")
    handle = await asyncio.to_thread(start_then_die, tmp_path)
    adopter = LocalBackend(tmp_path / "tasks", detect_host())
    assert (await adopter.poll([handle]))["survivor"].state is TaskState.RUNNING
    sample = (await adopter.sample([handle]))["survivor"]
    assert sample.memory_bytes > 0
    await adopter.stop(handle, grace_s=1)
    assert (await wait_finished(adopter, handle)).state is TaskState.STOPPED


async def test_exit_status_survives_the_server(tmp_path: Path) -> None:
    (tmp_path / "duration").write_text("0")
    handle = await asyncio.to_thread(start_then_die, tmp_path)
    adopter = LocalBackend(tmp_path / "tasks", detect_host())
    observed = await wait_finished(adopter, handle)
    assert (observed.state, observed.exit_code) == (TaskState.SUCCEEDED, 0)


async def test_a_reused_pid_is_not_taken_for_the_task(
    backend: LocalBackend, tmp_path: Path
) -> None:
    handle = await backend.start(spec("short", tmp_path, PYTHON, "-c", "pass"))
    await wait_finished(backend, handle)
    # Pretend the kernel gave the pid to a live, unrelated process (this test's own).
    impostor = TaskHandle("local", "short", {**handle.data, "pid": os.getpid()})
    fresh = LocalBackend(tmp_path / "tasks", detect_host())
    observed = (await fresh.poll([impostor]))["short"]
    assert observed.state is TaskState.SUCCEEDED
    await fresh.stop(impostor, grace_s=0)
    assert psutil.pid_exists(os.getpid())  # the impostor was left alone


@pytest.mark.parametrize("members", [2, INLINE_BATCH + 2])
async def test_group_start_is_all_or_nothing(
    backend: LocalBackend, tmp_path: Path, members: int
) -> None:
    # Small gangs start on the event loop, large ones on a worker thread: both roll back.
    specs = [
        # The folder in the command tells this test's process from any other run's.
        spec(f"g{i}", tmp_path, PYTHON, "-c", f"import time; time.sleep(301.5)  # {tmp_path}")
        for i in range(members - 1)
    ]
    specs.append(spec("last", tmp_path, "/no/such/binary"))
    with pytest.raises(BackendError):
        await backend.start_group(specs)
    # The members that had started were stopped again, and nothing of them runs on.
    for i in range(members - 1):
        assert (tmp_path / "tasks" / f"g{i}" / "stop_requested").exists()
    survivors = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        mine = "sleep(301.5)" in cmdline and str(tmp_path) in cmdline
        if mine and process.info["status"] != psutil.STATUS_ZOMBIE:
            survivors.append(process.pid)
    assert survivors == []


async def test_a_large_gang_starts_whole(backend: LocalBackend, tmp_path: Path) -> None:
    specs = [spec(f"w{i}", tmp_path, PYTHON, "-c", "pass") for i in range(INLINE_BATCH + 2)]
    handles = await backend.start_group(specs)
    assert [h.task_id for h in handles] == [s.task_id for s in specs]
    deadline = time.monotonic() + 30
    while True:
        observed = await backend.poll(handles)
        if all(o.state is TaskState.SUCCEEDED for o in observed.values()):
            break
        assert time.monotonic() < deadline, observed
        await asyncio.sleep(0.05)


async def test_nodes_report_this_host(backend: LocalBackend) -> None:
    [node] = await backend.nodes()
    assert node.vcpus >= 1 and node.memory_bytes > 0


async def test_the_end_of_a_task_is_announced(tmp_path: Path) -> None:
    ended = asyncio.Event()
    backend = LocalBackend(tmp_path / "tasks", detect_host(), on_exit=ended.set)
    handle = await backend.start(spec("quick", tmp_path, PYTHON, "-c", "pass"))
    await asyncio.wait_for(ended.wait(), timeout=10)
    await wait_finished(backend, handle)  # which also cleans up after it
