"""GPUs in the local backend: CUDA_VISIBLE_DEVICES per task, the node's GPU ids, GPU memory
per task, and finding GPUs with NVML, nvidia-smi or /proc. No GPU is needed: the host and
the driver's answers are faked."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openarts import hostinfo
from openarts.backends.base import BackendError, TaskHandle, TaskSpec, TaskState
from openarts.backends.local import gpus
from openarts.backends.local.backend import LocalBackend
from openarts.backends.local.cgroups import Cgroups
from openarts.hostinfo import (
    MIB,
    GpuInfo,
    HostInfo,
    gpu_minors,
    nvidia_gpus,
    nvml,
    nvml_gpus,
    parse_smi_gpus,
    proc_gpus,
)
from tests.backends.test_local import spec, wait_finished

PYTHON = sys.executable
TWO_GPUS = HostInfo(
    cpus=2,
    memory_bytes=8 << 30,
    arch="x86",
    gpus=(GpuInfo(0, "fake", 1000), GpuInfo(1, "fake", 1000)),
)
NO_GPU = HostInfo(cpus=2, memory_bytes=8 << 30, arch="x86")
PRINT_ENV = (
    "import json, os; print(json.dumps({k: os.environ.get(k) for k in"
    " ('CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER')}))"
)


def make_backend(root: Path, host: HostInfo) -> LocalBackend:
    # GPU handling does not depend on cgroups; leaving them out keeps these tests the same
    # on every machine.
    return LocalBackend(root, host, cgroups=Cgroups.disabled("not under test"))


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    return make_backend(tmp_path / "tasks", TWO_GPUS)


def with_gpus(base: TaskSpec, gpu_ids: tuple[int, ...]) -> TaskSpec:
    return TaskSpec(base.task_id, base.command, base.workdir, base.env, gpu_ids=gpu_ids)


async def env_seen(backend: LocalBackend, handle: TaskHandle) -> dict[str, str | None]:
    observed = await wait_finished(backend, handle)
    assert observed.state is TaskState.SUCCEEDED, observed
    logs = await backend.read_logs(handle, offset=0, limit=1 << 16)
    seen: dict[str, str | None] = json.loads(logs.data.decode().strip().splitlines()[-1])
    return seen


async def test_a_task_sees_exactly_its_gpus(backend: LocalBackend, tmp_path: Path) -> None:
    one = await backend.start(with_gpus(spec("one", tmp_path, PYTHON, "-c", PRINT_ENV), (1,)))
    both = await backend.start(with_gpus(spec("both", tmp_path, PYTHON, "-c", PRINT_ENV), (0, 1)))
    assert await env_seen(backend, one) == {
        "CUDA_VISIBLE_DEVICES": "1",
        "NVIDIA_VISIBLE_DEVICES": "1",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    }
    seen = await env_seen(backend, both)
    assert (seen["CUDA_VISIBLE_DEVICES"], seen["NVIDIA_VISIBLE_DEVICES"]) == ("0,1", "0,1")


async def test_a_task_without_gpus_sees_none(backend: LocalBackend, tmp_path: Path) -> None:
    # What the caller's environment says is overridden: the assignment is the platform's.
    base = spec("none", tmp_path, PYTHON, "-c", PRINT_ENV, CUDA_VISIBLE_DEVICES="0,1")
    seen = await env_seen(backend, await backend.start(base))
    assert seen["CUDA_VISIBLE_DEVICES"] == ""
    assert seen["NVIDIA_VISIBLE_DEVICES"] == "none"


async def test_gpus_the_node_lacks_are_refused(backend: LocalBackend, tmp_path: Path) -> None:
    base = spec("bad", tmp_path, PYTHON, "-c", "pass")
    with pytest.raises(BackendError, match=r"GPU 2 is not on this node \(its GPUs: 0, 1\)"):
        await backend.start(with_gpus(base, (0, 2)))
    with pytest.raises(BackendError, match="assigned twice"):
        await backend.start(with_gpus(base, (1, 1)))
    bare = make_backend(tmp_path / "bare", NO_GPU)
    with pytest.raises(BackendError, match=r"GPU 0 is not on this node \(its GPUs: none\)"):
        await bare.start(with_gpus(base, (0,)))
    assert not (tmp_path / "tasks" / "bad").exists()  # refused before anything was made


async def test_nodes_list_their_gpu_ids(backend: LocalBackend, tmp_path: Path) -> None:
    [node] = await backend.nodes()
    assert (node.gpus, node.gpu_ids) == (2, (0, 1))
    [bare] = await make_backend(tmp_path / "bare", NO_GPU).nodes()
    assert (bare.gpus, bare.gpu_ids) == (0, ())


async def wait_for_child(backend: LocalBackend, handle: TaskHandle) -> int:
    """The pid the task printed: a process below the wrapper."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = (await backend.read_logs(handle, offset=0, limit=100)).data.strip()
        if text:
            return int(text)
        await asyncio.sleep(0.02)
    raise AssertionError("the task did not print its pid")


async def test_gpu_memory_is_summed_over_the_task_tree(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "import os,time; print(os.getpid(), flush=True); time.sleep(300)"
    first = await backend.start(spec("first", tmp_path, PYTHON, "-c", script))
    second = await backend.start(spec("second", tmp_path, PYTHON, "-c", script))
    try:
        first_pid = await wait_for_child(backend, first)
        second_pid = await wait_for_child(backend, second)
        queries = 0

        def usage() -> dict[int, int]:
            nonlocal queries
            queries += 1
            # The wrapper uses none; a stranger's process is not counted for anyone.
            return {first_pid: 300 * MIB, second_pid: 5 * MIB, 999_999_999: 7 * MIB}

        monkeypatch.setattr(gpus, "process_gpu_memory", usage)
        samples = await backend.sample([first, second])
        assert samples["first"].gpu_memory_bytes == 300 * MIB
        assert samples["second"].gpu_memory_bytes == 5 * MIB
        assert queries == 1  # one query for all the tasks
    finally:
        for handle in (first, second):
            await backend.stop(handle, grace_s=0)


async def test_gpu_memory_is_unknown_where_it_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def unavailable() -> None:
        nonlocal calls
        calls += 1
        return None

    monkeypatch.setattr(gpus, "process_gpu_memory", unavailable)
    script = "import time; time.sleep(300)"
    for host in (NO_GPU, TWO_GPUS):
        backend = make_backend(tmp_path / host.arch / str(len(host.gpus)), host)
        handle = await backend.start(spec(f"g{len(host.gpus)}", tmp_path, PYTHON, "-c", script))
        try:
            sample = (await backend.sample([handle]))[handle.task_id]
            assert sample.gpu_memory_bytes is None and sample.memory_bytes > 0
        finally:
            await backend.stop(handle, grace_s=0)
    assert calls == 1  # the host without GPUs is not asked at all


# -- reading what the driver says -------------------------------------------------------


class FakeNvml:
    """What the NVML bindings answer, for two GPUs."""

    def __init__(self) -> None:
        self.processes: dict[int, list[Any]] = {
            0: [types.SimpleNamespace(pid=10, usedGpuMemory=100 * MIB)],
            1: [
                types.SimpleNamespace(pid=10, usedGpuMemory=50 * MIB),
                types.SimpleNamespace(pid=11, usedGpuMemory=None),
            ],
        }

    def nvmlInit(self) -> None:
        return None

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, device: int) -> str | bytes:
        return b"NVIDIA H100" if device == 0 else "NVIDIA A100"

    def nvmlDeviceGetMemoryInfo(self, device: int) -> Any:
        return types.SimpleNamespace(total=81559 * MIB)

    def nvmlDeviceGetComputeRunningProcesses(self, device: int) -> list[Any]:
        return self.processes[device]

    def nvmlDeviceGetUtilizationRates(self, device: int) -> Any:
        return types.SimpleNamespace(gpu=[37, 90][device], memory=5)


@pytest.fixture
def fresh_nvml() -> Iterator[None]:
    nvml.cache_clear()
    yield
    nvml.cache_clear()


def test_gpus_and_their_processes_by_nvml() -> None:
    fake = FakeNvml()
    assert nvml_gpus(fake) == (
        GpuInfo(0, "NVIDIA H100", 81559),
        GpuInfo(1, "NVIDIA A100", 81559),
    )
    assert gpus.nvml_process_memory(fake) == {10: 150 * MIB, 11: 0}


def test_nvml_is_optional(fresh_nvml: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as if not installed
    assert nvml() is None
    nvml.cache_clear()

    class NoDriver(FakeNvml):
        def nvmlInit(self) -> None:
            raise RuntimeError("NVML Shared Library Not Found")

    monkeypatch.setitem(sys.modules, "pynvml", NoDriver())
    assert nvml() is None
    nvml.cache_clear()
    working = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", working)
    assert nvml() is working
    monkeypatch.setattr(gpus, "nvml", lambda: working)
    assert gpus.process_gpu_memory() == {10: 150 * MIB, 11: 0}


def test_nvidia_smi_output_is_parsed() -> None:
    assert parse_smi_gpus("0, NVIDIA H100 80GB HBM3, 81559\n1, Tesla T4, [N/A]\n") == (
        GpuInfo(0, "NVIDIA H100 80GB HBM3", 81559),
        GpuInfo(1, "Tesla T4", 0),
    )
    out = "4242, 512\n4242, 256\n77, [N/A]\nNo running processes found\n"
    assert gpus.parse_smi_process_memory(out) == {4242: 768 * MIB, 77: 0}
    assert gpus.parse_smi_process_memory("") == {}


def test_detection_falls_back_to_smi_then_proc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hostinfo, "nvml", lambda: None)
    monkeypatch.setattr(shutil, "which", lambda name: "/fake/nvidia-smi")
    monkeypatch.setattr(hostinfo, "smi_gpus", lambda smi: (GpuInfo(0, "from smi", 1),))
    assert nvidia_gpus() == (GpuInfo(0, "from smi", 1),)

    monkeypatch.setattr(shutil, "which", lambda name: None)
    for bus, model in (("0000:41:00.0", "NVIDIA L4"), ("0000:01:00.0", "Tesla T4")):
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(f"Model: \t {model}\nIRQ: 1\n")
    monkeypatch.setattr(hostinfo, "PROC_GPUS", tmp_path)
    # Sorted by PCI bus id, the order NVML and nvidia-smi number devices in.
    assert nvidia_gpus() == (GpuInfo(0, "Tesla T4", 0), GpuInfo(1, "NVIDIA L4", 0))
    assert proc_gpus(tmp_path / "missing") == ()


def test_utilisation_per_device_by_nvml_and_by_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    assert gpus.nvml_utilization(fake) == {0: 37.0, 1: 90.0}
    monkeypatch.setattr(gpus, "nvml", lambda: fake)
    assert gpus.device_utilization() == {0: 37.0, 1: 90.0}
    assert gpus.parse_smi_utilization("0, 12\n1, [N/A]\n2, 100\n") == {0: 12.0, 2: 100.0}


async def test_a_tasks_gpu_utilisation_is_that_of_its_own_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpus, "process_gpu_memory", lambda: {})
    monkeypatch.setattr(gpus, "device_utilization", lambda: {0: 20.0, 1: 60.0})
    backend = make_backend(tmp_path / "util", TWO_GPUS)
    script = "import time; time.sleep(300)"
    both = await backend.start(
        dataclasses.replace(spec("both", tmp_path, PYTHON, "-c", script), gpu_ids=(0, 1))
    )
    none = await backend.start(spec("none", tmp_path, PYTHON, "-c", script))
    try:
        samples = await backend.sample([both, none])
        assert samples["both"].gpu_percent == 40.0
        assert samples["none"].gpu_percent is None
    finally:
        for handle in (both, none):
            await backend.stop(handle, grace_s=0)


def test_device_files_are_found_by_their_minor_numbers(tmp_path: Path) -> None:
    # Index by PCI order; the device file by the driver's minor number, which may differ.
    for bus, minor in (("0000:41:00.0", 0), ("0000:01:00.0", 3)):
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(f"Model: T4\nDevice Minor: \t {minor}\n")
    assert gpu_minors(tmp_path) == {0: 3, 1: 0}
    assert gpu_minors(tmp_path / "missing") == {}
