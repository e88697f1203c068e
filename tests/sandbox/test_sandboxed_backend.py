"""The local backend with its sandbox: what a task's start hands on to whom, and what it
refuses; and output uploads that a task's symbolic links cannot turn on the server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from openarts.backends.base import BackendError, TaskHandle, TaskSpec, TaskState
from openarts.backends.local.backend import LocalBackend, read_log
from openarts.backends.sandbox import Sandbox
from openarts.domain.sandbox_view import MA_HOME, SANDBOX_UID_BASE, Mount, TaskView
from openarts.hostinfo import GpuInfo, HostInfo, detect_host
from openarts.storage.base import StorageError
from openarts.storage.local import LocalStore
from openarts.storage.paths import ObjectPath
from openarts.storage.transfer import upload_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root")

PRINT_GPUS = (
    "import os; print(os.environ['CUDA_VISIBLE_DEVICES'], os.environ['NVIDIA_VISIBLE_DEVICES'])"
)
PRINT = "import os; print(os.environ.get('TASK_SECRET'), os.environ.get('LD_PRELOAD'))"


def sandboxed(tmp_path: Path) -> LocalBackend:
    sandbox = Sandbox(tmp_path / "tasks" / ".sandbox", hidden=[tmp_path / "home"])
    sandbox.probe()
    return LocalBackend(tmp_path / "tasks", detect_host(), sandbox=sandbox)


def in_view(task_id: str, tmp_path: Path, **env: str) -> TaskSpec:
    home = tmp_path / "homes" / task_id
    home.mkdir(parents=True)
    view = TaskView(
        uid=SANDBOX_UID_BASE + 4242,
        hostname=task_id,
        mounts=(Mount(str(home), MA_HOME, writable=True),),
    )
    return TaskSpec(task_id, (sys.executable, "-c", PRINT), Path(MA_HOME), env=env, view=view)


async def ended(backend: LocalBackend, handle: TaskHandle) -> str:
    deadline = time.monotonic() + 30
    while (await backend.poll([handle]))[handle.task_id].state is TaskState.RUNNING:
        assert time.monotonic() < deadline, "the task never ended"
        await asyncio.sleep(0.05)
    return read_log(Path(handle.data["run_dir"]), 0, 4096).data.decode()


async def test_a_tasks_variables_reach_it_and_nothing_that_runs_as_root(tmp_path: Path) -> None:
    backend = sandboxed(tmp_path)
    spec = in_view("vars", tmp_path, TASK_SECRET="s3cr3t", LD_PRELOAD="/nowhere/evil.so")
    handle = await backend.start(spec)
    # The wrapper (root, or the server's user) carries the marker and a fixed PATH only.
    environ = Path(f"/proc/{handle.data['pid']}/environ")
    outer = (await asyncio.to_thread(environ.read_bytes)).split(b"\0")
    assert not any(v.startswith((b"TASK_SECRET=", b"LD_PRELOAD=")) for v in outer), outer
    said = await ended(backend, handle)
    assert "s3cr3t /nowhere/evil.so" in said, said


async def test_a_task_without_a_view_is_refused_while_the_sandbox_is_on(tmp_path: Path) -> None:
    backend = sandboxed(tmp_path)
    bare = TaskSpec("bare", (sys.executable, "-c", "pass"), tmp_path)
    with pytest.raises(BackendError, match="queued before the sandbox was turned on"):
        await backend.start(bare)
    plain = LocalBackend(tmp_path / "plain", detect_host())
    with pytest.raises(BackendError, match="the sandbox is off now"):
        await plain.start(in_view("viewed", tmp_path))


async def test_outputs_are_sent_without_following_a_tasks_links(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "obs")
    await store.create_bucket("out")
    secret = tmp_path / "secret.key"
    secret.write_text("the server's own")
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "model.txt").write_text("trained")
    (outputs / "leak").symlink_to(secret)
    (outputs / "sub" / "all").symlink_to(tmp_path, target_is_directory=True)
    summary = await upload_dir(store, outputs, ObjectPath("out", "run/"))
    assert summary.files == 1
    keys = [info.key for info in (await store.list_objects("out")).objects]
    assert keys == ["run/model.txt"]
    linked = tmp_path / "linked"
    linked.symlink_to(outputs, target_is_directory=True)
    with pytest.raises(StorageError, match="symbolic link"):
        await upload_dir(store, linked, ObjectPath("out", "again/"))


async def test_a_sandboxed_task_numbers_its_own_gpus_from_zero(tmp_path: Path) -> None:
    # Only its GPUs' device files are in its view, so CUDA numbers them from 0 there.
    host = HostInfo(2, 2**30, "x86_64", (GpuInfo(0, "T4", 16), GpuInfo(1, "T4", 16)))
    sandbox = Sandbox(tmp_path / "tasks" / ".sandbox", hidden=[tmp_path / "home"])
    sandbox.probe()
    backend = LocalBackend(tmp_path / "tasks", host, sandbox=sandbox)
    spec = in_view("gpu", tmp_path)
    spec = dataclasses.replace(spec, command=(sys.executable, "-c", PRINT_GPUS), gpu_ids=(1,))
    said = await ended(backend, await backend.start(spec))
    assert said.strip() == "0 0", said


REACH = """
import errno, socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), 2).close()
        print(port, "open", flush=True)
    except OSError as error:
        print(port, type(error).__name__, flush=True)
# Beyond the host (a documentation address: with no route, no packet leaves).
try:
    socket.create_connection(("203.0.113.1", 443), 2).close()
    print("outside open", flush=True)
except OSError as error:
    print("outside", errno.errorcode.get(error.errno, error), flush=True)
"""


async def test_a_task_that_reaches_out_reaches_only_the_forwarded_port_of_the_host(
    tmp_path: Path,
) -> None:
    # The object-storage endpoint's port is forwarded; the database's (any other) is not.
    endpoint, database = (
        socket.create_server(("127.0.0.1", 0)),
        socket.create_server(("127.0.0.1", 0)),
    )
    ports = [endpoint.getsockname()[1], database.getsockname()[1]]
    sandbox = Sandbox(
        tmp_path / "tasks" / ".sandbox", hidden=[tmp_path / "home"], forward_ports=ports[:1]
    )
    sandbox.probe()
    backend = LocalBackend(tmp_path / "tasks", detect_host(), sandbox=sandbox)
    networks: set[str] = set()
    try:
        handles = []
        for name in ("out-a", "out-b"):
            spec = in_view(name, tmp_path)
            assert spec.view is not None
            spec = dataclasses.replace(
                spec,
                command=(sys.executable, "-c", REACH, *map(str, ports)),
                view=dataclasses.replace(spec.view, egress=True),
            )
            handles.append(await backend.start(spec))
        networks = {handle.data["network"] for handle in handles}
        assert len(networks) == 2 and "" not in networks, networks  # one each
        for handle in handles:
            said = await ended(backend, handle)
            assert f"{ports[0]} open" in said and f"{ports[1]} ConnectionRefusedError" in said
            assert "outside ENETUNREACH" in said, said
        # Once its task has ended, a task's network is gone (the poll that saw it end).
        await backend.poll(handles)
        assert not networks & set(await asyncio.to_thread(own_networks))
    finally:
        endpoint.close()
        database.close()
        deadline = time.monotonic() + 30
        while not sandbox.spare_networks:  # made ahead for the next task
            assert time.monotonic() < deadline, "no spare network was made"
            await asyncio.sleep(0.05)
        spares = set(sandbox.spare_networks)
        await backend.close()
    # The spare is gone with the backend, and so are the networks' pastas.
    assert not spares & set(await asyncio.to_thread(own_networks))
    gone = networks | spares
    deadline = time.monotonic() + 10
    while left := [name for name in gone if pasta_of(name)]:
        assert time.monotonic() < deadline, f"the pastas of {left} are still running"
        await asyncio.sleep(0.05)


def pasta_of(network: str) -> bool:
    """Whether a pasta serving ``network`` is running."""
    wanted = f"/run/netns/openarts-{network}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if wanted in cmdline.read().split(b"\0"):
                    return True
        except OSError:
            continue
    return False


def own_networks() -> list[str]:
    """The networks this process's sandboxes made, still there."""
    prefix = f"openarts-e{os.getpid()}-"
    return [n.removeprefix("openarts-") for n in os.listdir("/run/netns") if n.startswith(prefix)]


async def test_a_task_sees_the_servers_pip_index_and_cannot_change_its_etc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server user's own pip configuration names the machine's package index.
    config = tmp_path / "config"
    (config / "pip").mkdir(parents=True)
    (config / "pip" / "pip.conf").write_text("[global]\nindex-url = http://index.example/simple\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    backend = sandboxed(tmp_path)
    spec = in_view("pip", tmp_path)  # its home bound at /home/ma-user
    script = (
        "import subprocess, sys\n"
        "said = subprocess.run([sys.executable, '-m', 'pip', 'config', 'list'],"
        " capture_output=True, text=True).stdout\n"
        "print('pip:', said.strip())\n"
        "import os\n"
        "for path, change in (('/etc/passwd', lambda p: os.chmod(p, 0o644)),"
        " ('/etc/x', lambda p: open(p, 'a').close())):\n"
        "    try:\n"
        "        change(path)\n"
        "        print(path, 'changed')\n"
        "    except OSError as error:\n"
        "        print(path, 'errno', error.errno)\n"
    )
    spec = dataclasses.replace(spec, command=(sys.executable, "-c", script))
    said = await ended(backend, await backend.start(spec))
    assert "global.index-url='http://index.example/simple'" in said, said
    # /etc is the task's to read only (EROFS), its copied files included.
    assert "/etc/passwd errno 30" in said and "/etc/x errno 30" in said, said
