"""Memory and CPU limits for local tasks with cgroups, and the fallback where the cgroup
file system is not writable. Tests that need a writable one skip, saying why, elsewhere."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from openarts.backends.base import (
    ResourceRequest,
    TaskHandle,
    TaskSpec,
    TaskState,
)
from openarts.backends.local import cgroups
from openarts.backends.local.backend import LocalBackend
from openarts.backends.local.cgroups import (
    LEAF_NAME,
    Cgroups,
    Hierarchy,
    cgroup_mounts,
    group_name,
    limit_writes,
    locate,
    own_cgroups,
)
from openarts.hostinfo import MIB, HostInfo
from openarts.settings import Settings
from tests.backends.test_local import spec, wait_finished

PYTHON = sys.executable
HOST = HostInfo(cpus=2, memory_bytes=8 << 30, arch="x86")
# Touches every page, so the memory is really used and not only reserved.
HOG = "b = bytearray(512 << 20); b[::4096] = b'x' * len(b[::4096]); print('survived')"
SLEEP_PRINTING_PID = "import os, time; print(os.getpid(), flush=True); time.sleep(300)"


def limited(base: TaskSpec, *, vcpus: float = 1.0, memory_bytes: int = 0) -> TaskSpec:
    return TaskSpec(
        base.task_id,
        base.command,
        base.workdir,
        base.env,
        resources=ResourceRequest(vcpus=vcpus, memory_bytes=memory_bytes),
    )


async def printed_pid(backend: LocalBackend, handle: TaskHandle) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = (await backend.read_logs(handle, offset=0, limit=100)).data.strip()
        if text:
            return int(text.splitlines()[0])
        await asyncio.sleep(0.02)
    raise AssertionError("the task did not print its pid")


# -- the layout, from what the kernel says ----------------------------------------------


def fake_proc(tmp_path: Path, cgroup: str, mountinfo: str) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mountinfo)
    return proc


V1_CGROUP = "5:memory:/machine/server\n2:cpu,cpuacct:/\n1:name=systemd:/x\n0::/\n"
V1_MOUNTS = """\
31 23 0:28 / {root} rw - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /machine {root}/memory rw - cgroup cgroup rw,memory
41 31 0:38 / {root}/unified rw - cgroup2 cgroup2 rw
"""


def test_the_v1_layout_is_read_from_proc(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, V1_CGROUP, V1_MOUNTS.format(root="/sys/fs/cgroup"))
    assert own_cgroups(proc) == {
        "memory": "/machine/server",
        "cpu": "/",
        "cpuacct": "/",
        "name=systemd": "/x",
        "": "/",
    }
    mounts = {m.point.name: m for m in cgroup_mounts(proc)}
    assert "cpu" in mounts["cpu,cpuacct"].options and mounts["unified"].fstype == "cgroup2"
    # A mount of a subtree (a container's view): paths are found relative to its root.
    memory = mounts["memory"]
    assert locate(memory, "/machine/server") == Path("/sys/fs/cgroup/memory/server")
    assert locate(memory, "/machine") == Path("/sys/fs/cgroup/memory")
    assert locate(memory, "/elsewhere") is None


def test_limits_become_the_right_writes() -> None:
    request = ResourceRequest(vcpus=1.5, memory_bytes=64 * MIB)
    assert limit_writes(2, "unified", request) == [
        ("memory.max", str(64 * MIB)),
        ("cpu.max", "150000 100000"),
    ]
    assert limit_writes(1, "memory", request) == [("memory.limit_in_bytes", str(64 * MIB))]
    assert limit_writes(1, "cpu", request) == [
        ("cpu.cfs_period_us", "100000"),
        ("cpu.cfs_quota_us", "150000"),
    ]
    unlimited = ResourceRequest(vcpus=0, memory_bytes=0)
    assert limit_writes(2, "unified", unlimited) == [
        ("memory.max", "max"),
        ("cpu.max", "max 100000"),
    ]
    assert limit_writes(1, "cpu", ResourceRequest(vcpus=0.001))[1] == ("cpu.cfs_quota_us", "1000")


def test_group_names_stay_inside_their_parent() -> None:
    assert group_name("job-1.0_a") == "task-job-1.0_a"
    assert group_name("../../etc") == "task-.._.._etc"
    assert "/" not in group_name("a/b")


def test_a_file_system_that_is_not_cgroupfs_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "cpu,cpuacct").mkdir(parents=True)
    (root / "memory").mkdir()
    proc = fake_proc(tmp_path, V1_CGROUP, V1_MOUNTS.format(root=root).replace("/machine ", "/ "))
    # Directories can be made here, but no control file appears in them.
    found = Cgroups.detect(fs_root=root, proc_self=proc, name="openarts-test")
    assert not found.enforced
    assert "not writable" in found.reason
    assert list((root / "memory" / "machine" / "server").rglob("probe-*")) == []

    nothing = fake_proc(tmp_path / "empty", "0::/\n", "")
    assert not Cgroups.detect(fs_root=tmp_path, proc_self=nothing).enforced
    assert "no memory hierarchy" in Cgroups.detect(fs_root=tmp_path, proc_self=nothing).reason


def test_the_v2_parent_is_inside_the_servers_group(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "server").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "server" / "cgroup.subtree_control").write_text("")
    proc = fake_proc(tmp_path, "0::/server\n", f"30 1 0:26 / {root} rw - cgroup2 cgroup2 rw\n")
    found = Cgroups.detect(fs_root=root, proc_self=proc, name="openarts-test")
    assert found.version == 2
    assert found.hierarchies == (Hierarchy("unified", root / "server" / "openarts-test"),)
    # Not a cgroup file system: the new group gets no control files, so no limits.
    assert not found.enforced and "not writable" in found.reason
    # A delegated group can be named instead; it is used as it is, never removed.
    (root / "delegated").mkdir()
    named = Cgroups.detect(fs_root=root, proc_self=proc, parent="/delegated")
    assert named.hierarchies == (Hierarchy("unified", root / "delegated", removable=False),)
    assert (root / "delegated").is_dir()


# The control files each v2 controller gives a group.
V2_FILES = {"memory": ("memory.max", "memory.events"), "cpu": ("cpu.max", "cpu.stat")}


class FakeCgroup2:
    """Plays the kernel's part for a cgroup v2 tree in a folder: a new group gets the
    control files of the controllers its parent hands down, a pid written to cgroup.procs
    moves there, and, outside the root, a group cannot both hold processes and hand
    controllers down to its children (EBUSY)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "cgroup.procs").write_text("")
        (root / "cgroup.controllers").write_text("cpu memory pids\n")
        (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
        self.proc = fake_proc(
            root.parent, "0::/\n", f"30 1 0:26 / {root} rw - cgroup2 cgroup2 rw\n"
        )
        monkeypatch.setattr(cgroups, "_mkdir", self.mkdir)
        monkeypatch.setattr(cgroups, "_rmdir", self.rmdir)
        monkeypatch.setattr(cgroups, "_write", self.write)
        monkeypatch.setattr(cgroups, "_rooms", {})  # what earlier tests did is not ours

    def group(self, path: str, *pids: int, controllers: str = "cpu memory pids") -> Path:
        group = self.root
        for part in path.strip("/").split("/"):
            group = group / part
            if not group.exists():
                self.mkdir(group)
                (group / "cgroup.controllers").write_text(controllers)
        for pid in pids:
            self.write(group / "cgroup.procs", str(pid))
        return group

    def server_in(self, path: str) -> None:
        """Where /proc/self/cgroup says the server is."""
        (self.proc / "cgroup").write_text(f"0::{path}\n")

    @staticmethod
    def procs(group: Path) -> list[int]:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]

    @staticmethod
    def subtree(group: Path) -> set[str]:
        return set((group / "cgroup.subtree_control").read_text().split())

    def mkdir(self, path: Path) -> None:
        path.mkdir()
        handed_down = self.subtree(path.parent)
        (path / "cgroup.procs").write_text("")
        (path / "cgroup.subtree_control").write_text("")
        (path / "cgroup.controllers").write_text(" ".join(sorted(handed_down)))
        for controller in handed_down:
            for file in V2_FILES.get(controller, ()):
                (path / file).write_text("")

    def rmdir(self, path: Path) -> None:
        if self.procs(path):
            raise OSError(errno.EBUSY, "Device or resource busy", str(path))
        if any(child.is_dir() for child in path.iterdir()):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", str(path))
        for file in path.iterdir():
            file.unlink()
        path.rmdir()

    def write(self, path: Path, value: str) -> None:
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        group = path.parent
        inner = group != self.root
        if path.name == "cgroup.procs":
            if inner and self.subtree(group) & set(V2_FILES):
                raise OSError(errno.EBUSY, "Device or resource busy", str(path))
            for procs in self.root.rglob("cgroup.procs"):
                left = [pid for pid in self.procs(procs.parent) if pid != int(value)]
                procs.write_text("".join(f"{pid}\n" for pid in left))
            path.write_text(path.read_text() + f"{int(value)}\n")
        elif path.name == "cgroup.subtree_control":
            enabled = self.subtree(group)
            for token in value.split():
                controller = token[1:]
                if token.startswith("-"):
                    enabled.discard(controller)
                    continue
                if controller not in (group / "cgroup.controllers").read_text().split():
                    raise OSError(errno.ENOENT, "No such file or directory", str(path))
                if inner and self.procs(group):
                    raise OSError(errno.EBUSY, "Device or resource busy", str(path))
                enabled.add(controller)
                for child in (c for c in group.iterdir() if c.is_dir()):
                    for file in V2_FILES.get(controller, ()):
                        (child / file).touch()
            path.write_text(" ".join(sorted(enabled)))
        else:
            path.write_text(value)


def test_the_server_moves_into_a_leaf_where_its_group_holds_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kernel = FakeCgroup2(tmp_path / "cgroup", monkeypatch)
    kernel.group("/process_api", controllers="cpu memory pids")
    kernel.write(kernel.root / "process_api" / "cgroup.subtree_control", "+memory +cpu")
    own = kernel.group("/process_api/abc", os.getpid())
    kernel.server_in("/process_api/abc")
    with caplog.at_level(logging.INFO, logger=cgroups.__name__):
        found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-test")
    assert found.enforced, found.reason
    assert found.hierarchies == (Hierarchy("unified", own / "openarts-test"),)
    leaf = own / LEAF_NAME
    assert kernel.procs(leaf) == [os.getpid()] and kernel.procs(own) == []
    assert {"memory", "cpu"} <= kernel.subtree(own)
    assert "moved the server's process" in caplog.text and str(leaf) in caplog.text
    # The probe's groups are gone again; the leaf is the only child.
    assert [child.name for child in own.iterdir() if child.is_dir()] == [LEAF_NAME]

    # Tasks' groups are the leaf's siblings' children, with their limits.
    groups = found.create("t1", ResourceRequest(vcpus=0.5, memory_bytes=64 * MIB))
    assert groups == [own / "openarts-test" / "task-t1"]
    assert (groups[0] / "memory.max").read_text() == str(64 * MIB)
    assert (groups[0] / "cpu.max").read_text() == "50000 100000"
    assert found.remove(groups)
    assert not (own / "openarts-test").exists()

    # Once per process: detected again from inside the leaf, nothing moves again.
    kernel.server_in(f"/process_api/abc/{LEAF_NAME}")
    again = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-other")
    assert again.enforced, again.reason
    assert again.hierarchies == (Hierarchy("unified", own / "openarts-other"),)
    assert not (leaf / LEAF_NAME).exists() and kernel.procs(leaf) == [os.getpid()]


def test_other_processes_in_the_group_are_never_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = FakeCgroup2(tmp_path / "cgroup", monkeypatch)
    own = kernel.group("/process_api/abc", 4242, os.getpid())
    kernel.server_in("/process_api/abc")
    found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-test")
    assert not found.enforced
    assert "other processes than the server" in found.reason and "4242" in found.reason
    assert "OPENARTS_CGROUP_PARENT" in found.reason
    # Nothing was touched or left behind.
    assert sorted(kernel.procs(own)) == sorted([4242, os.getpid()])
    assert kernel.subtree(own) == set()
    assert [child for child in own.iterdir() if child.is_dir()] == []
    # Once per process: asked again, the same answer, without trying again.
    monkeypatch.setattr(cgroups, "_move_into_leaf", None)
    again = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-test")
    assert (again.enforced, again.reason) == (False, found.reason)


def test_a_process_that_joins_during_the_move_undoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = FakeCgroup2(tmp_path / "cgroup", monkeypatch)
    own = kernel.group("/process_api/abc", os.getpid())
    kernel.server_in("/process_api/abc")
    write = kernel.write

    def forking_write(path: Path, value: str) -> None:
        write(path, value)
        if path == own / LEAF_NAME / "cgroup.procs":
            (own / "cgroup.procs").write_text("777\n")  # a process started meanwhile

    monkeypatch.setattr(cgroups, "_write", forking_write)
    found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-test")
    assert not found.enforced and "777" in found.reason
    assert sorted(kernel.procs(own)) == sorted([777, os.getpid()])
    assert not (own / LEAF_NAME).exists() and kernel.subtree(own) == set()


def test_a_move_that_cannot_be_finished_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = FakeCgroup2(tmp_path / "cgroup", monkeypatch)
    # The cpu controller is not handed down to the server's group: memory gets enabled,
    # cpu cannot be, and all of it is taken back.
    own = kernel.group("/process_api/abc", os.getpid(), controllers="memory pids")
    kernel.server_in("/process_api/abc")
    found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, name="openarts-test")
    assert not found.enforced and "could not move the server" in found.reason
    assert kernel.procs(own) == [os.getpid()]
    assert not (own / LEAF_NAME).exists() and kernel.subtree(own) == set()


def test_an_explicit_parent_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = FakeCgroup2(tmp_path / "cgroup", monkeypatch)
    own = kernel.group("/process_api/abc", os.getpid())
    delegated = kernel.group("/delegated")
    kernel.server_in("/process_api/abc")
    # As its directory under the mount or as a cgroup path: the same group.
    for parent in (delegated, "/delegated"):
        found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, parent=parent)
        assert found.enforced, found.reason
        assert found.hierarchies == (Hierarchy("unified", delegated, removable=False),)
    groups = found.create("t1", ResourceRequest(vcpus=1, memory_bytes=64 * MIB))
    assert groups == [delegated / "task-t1"]
    assert found.remove(groups) and delegated.is_dir()  # not the platform's to remove
    # The server was left where it was.
    assert kernel.procs(own) == [os.getpid()] and not (own / LEAF_NAME).exists()

    # One that holds processes cannot hand controllers down; it is not emptied for us.
    busy = kernel.group("/busy", 4242)
    found = Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, parent="/busy")
    assert not found.enforced and "OPENARTS_CGROUP_PARENT" in found.reason
    assert kernel.procs(busy) == [4242] and [c for c in busy.iterdir() if c.is_dir()] == []
    assert not Cgroups.detect(fs_root=kernel.root, proc_self=kernel.proc, parent="x").enforced


def test_a_v1_parent_may_be_named_by_its_directory(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    proc = fake_proc(tmp_path, V1_CGROUP, V1_MOUNTS.format(root=root))
    found = Cgroups.detect(fs_root=root, proc_self=proc, parent=root / "memory" / "delegated")
    # The memory hierarchy's mount shows only /machine.
    assert found.hierarchies == (
        Hierarchy("memory", root / "memory" / "delegated", removable=False),
        Hierarchy("cpu", root / "cpu,cpuacct" / "machine" / "delegated", removable=False),
    )


def test_the_cgroup_parent_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENARTS_CGROUP_PARENT", raising=False)
    assert Settings().cgroup_parent is None
    monkeypatch.setenv("OPENARTS_CGROUP_PARENT", "/sys/fs/cgroup/openarts")
    assert Settings().cgroup_parent == Path("/sys/fs/cgroup/openarts")


async def test_where_limits_cannot_be_enforced_tasks_still_run(tmp_path: Path) -> None:
    backend = LocalBackend(
        tmp_path / "tasks",
        HOST,
        cgroups=Cgroups.detect(fs_root=tmp_path / "none", proc_self=fake_proc(tmp_path, "", "")),
    )
    assert backend.limits_enforced is False
    assert "no memory hierarchy" in backend.limits_reason
    # Asks for 64 MiB, uses more: only accounted, so it runs to the end.
    handle = await backend.start(
        limited(spec("free", tmp_path, PYTHON, "-c", HOG), memory_bytes=64 * MIB, vcpus=0.5)
    )
    assert handle.data["cgroups"] == []
    observed = await wait_finished(backend, handle, timeout_s=60)
    assert (observed.state, observed.exit_code) == (TaskState.SUCCEEDED, 0)
    assert b"survived" in (await backend.read_logs(handle, offset=0, limit=1000)).data


class Unjoinable(Cgroups):
    """Hands out a group the wrapper cannot enter."""

    def __init__(self, where: Path) -> None:
        super().__init__(1, (), enforced=True, reason="test")
        self.where = where

    def create(self, task_id: str, resources: ResourceRequest) -> list[Path]:
        return [self.where / "missing-group"]


async def test_a_task_that_cannot_enter_its_group_does_not_run(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "tasks", HOST, cgroups=Unjoinable(tmp_path))
    marker = tmp_path / "ran"
    handle = await backend.start(
        spec("unjoined", tmp_path, PYTHON, "-c", f"open({str(marker)!r}, 'w')")
    )
    observed = await wait_finished(backend, handle)
    assert observed.state is TaskState.FAILED
    assert observed.reason is not None and "cgroup" in observed.reason
    assert not marker.exists()  # running it without its limits would break the promise


# -- with a writable cgroup file system -------------------------------------------------


@pytest.fixture
def enforcing(tmp_path: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend(tmp_path / "tasks", HOST)
    if not backend.limits_enforced:
        pytest.skip(f"the cgroup file system is not writable here: {backend.limits_reason}")
    yield backend
    parents = [h.parent for h in backend.cgroups.hierarchies]
    leftovers = [group for parent in parents if parent.is_dir() for group in parent.iterdir()]
    assert [g for g in leftovers if g.is_dir()] == [], "a task's cgroup was left behind"


async def test_a_task_over_its_memory_limit_is_killed(
    enforcing: LocalBackend, tmp_path: Path
) -> None:
    handle = await enforcing.start(
        limited(spec("hog", tmp_path, PYTHON, "-c", HOG), memory_bytes=64 * MIB)
    )
    observed = await wait_finished(enforcing, handle, timeout_s=60)
    assert observed.state is TaskState.FAILED, observed
    assert observed.reason is not None and "memory" in observed.reason
    assert "64 MiB" in observed.reason
    assert b"survived" not in (await enforcing.read_logs(handle, offset=0, limit=1000)).data
    groups = [Path(group) for group in handle.data["cgroups"]]
    assert groups and not any(group.exists() for group in groups)
    # The verdict outlives the groups: polling again says the same.
    assert (await enforcing.poll([handle]))["hog"] == observed


async def test_limits_apply_to_the_whole_task(enforcing: LocalBackend, tmp_path: Path) -> None:
    script = (
        "import subprocess, sys, time;"
        f"child = subprocess.Popen([sys.executable, '-c', {SLEEP_PRINTING_PID!r}]);"
        "time.sleep(300)"
    )
    handle = await enforcing.start(
        limited(spec("tree", tmp_path, PYTHON, "-c", script), vcpus=0.5, memory_bytes=256 * MIB)
    )
    groups = [Path(group) for group in handle.data["cgroups"]]
    assert groups and all(group.name == "task-tree" for group in groups)
    grandchild = await printed_pid(enforcing, handle)
    limits = {}
    for group in groups:
        for file in ("memory.max", "memory.limit_in_bytes", "cpu.max", "cpu.cfs_quota_us"):
            if (group / file).exists():
                limits[file] = (group / file).read_text().split()[0]
    assert limits.get("memory.max", limits.get("memory.limit_in_bytes")) == str(256 * MIB)
    assert limits.get("cpu.max", limits.get("cpu.cfs_quota_us")) == "50000"
    for group in groups:
        assert grandchild in Cgroups.pids([group])
    await enforcing.stop(handle, grace_s=1)
    assert (await wait_finished(enforcing, handle)).state is TaskState.STOPPED
    assert not psutil.pid_exists(grandchild) or (
        psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    )
    assert not any(group.exists() for group in groups)


async def test_a_process_that_drops_its_environment_is_still_stopped(
    enforcing: LocalBackend, tmp_path: Path
) -> None:
    # Without OPENARTS_TASK_ID only its cgroup still ties the process to the task.
    script = (
        "import subprocess, sys, time;"
        f"subprocess.Popen(['/usr/bin/env', '-i', sys.executable, '-c', {SLEEP_PRINTING_PID!r}]);"
        "time.sleep(300)"
    )
    handle = await enforcing.start(spec("escapee", tmp_path, PYTHON, "-c", script))
    escapee = await printed_pid(enforcing, handle)
    await enforcing.stop(handle, grace_s=1)
    assert (await wait_finished(enforcing, handle)).state is TaskState.STOPPED
    deadline = time.monotonic() + 5
    while psutil.pid_exists(escapee) and time.monotonic() < deadline:
        try:
            if psutil.Process(escapee).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        await asyncio.sleep(0.02)
    assert not psutil.pid_exists(escapee) or (
        psutil.Process(escapee).status() == psutil.STATUS_ZOMBIE
    )


async def test_a_cpu_limit_throttles(enforcing: LocalBackend, tmp_path: Path) -> None:
    handle = await enforcing.start(
        limited(spec("busy", tmp_path, PYTHON, "-c", "while True: pass"), vcpus=0.1)
    )
    [cpu_group] = [Path(g) for g in handle.data["cgroups"] if (Path(g) / "cpu.stat").exists()] or [
        Path(g) for g in handle.data["cgroups"]
    ]
    throttled = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and throttled == 0:
        for line in (cpu_group / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "nr_throttled":
                throttled = int(value)
        await asyncio.sleep(0.05)
    await enforcing.stop(handle, grace_s=0)
    await wait_finished(enforcing, handle)
    assert throttled > 0
