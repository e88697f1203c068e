"""Check, on a machine with an NVIDIA GPU, what the local backend does with GPUs and limits.

Run from the repository root, in the project's virtual environment::

    python tools/gpu_check.py [--require-limits] [--hold-mib 256] [--cgroup-parent PATH]

It detects the host's GPUs, starts a task given the first GPU and one given none, and
checks what each sees: ``CUDA_VISIBLE_DEVICES``, the device count from the CUDA driver
(through ctypes, so torch is not needed) and, where torch is importable, from torch. The
task with a GPU allocates memory on it and the check waits until ``sample()`` reports it.
Last it says whether cgroup limits are enforced here and, where they are, runs a task
that asks for 64 MiB and uses 512 MiB, which must be killed for running out of memory.
Unenforced limits are reported, and fail the run only with ``--require-limits``.
``--cgroup-parent`` names a delegated cgroup to make the tasks' groups in (as
``OPENARTS_CGROUP_PARENT`` does for the server).

It prints one line per check and a summary, and exits non-zero when any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from openarts.backends.base import (
    BackendError,
    ResourceRequest,
    TaskHandle,
    TaskObservation,
    TaskSpec,
    TaskState,
)
from openarts.backends.local.backend import LocalBackend
from openarts.hostinfo import MIB, HostInfo, detect_host, nvml

WAIT_S = 180.0  # CUDA start-up and importing torch can take a while on a cold machine
# What a task reports about the GPUs it sees, one "key=value" a line; with a size in MiB
# as its argument it then holds that much GPU memory until it is stopped.
PROBE = r"""
import ctypes, os, sys, time
print("CUDA_VISIBLE_DEVICES=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")), flush=True)
count, cuda = -1, None
try:
    cuda = ctypes.CDLL("libcuda.so.1")
    rc = cuda.cuInit(0)
    if rc == 100:  # CUDA_ERROR_NO_DEVICE
        count = 0
    elif rc == 0:
        n = ctypes.c_int()
        cuda.cuDeviceGetCount(ctypes.byref(n))
        count = n.value
    else:
        print(f"cuInit failed with {rc}", flush=True)
except OSError as error:
    print(f"no CUDA driver library: {error}", flush=True)
print(f"driver_device_count={count}", flush=True)
try:
    import torch
    print(f"torch_device_count={torch.cuda.device_count()}", flush=True)
except ImportError:
    print("torch_device_count=unavailable", flush=True)
hold = int(sys.argv[1]) if len(sys.argv) > 1 else 0
if hold and count > 0 and cuda is not None:
    device, context, pointer = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_uint64()
    cuda.cuDeviceGet(ctypes.byref(device), 0)
    cuda.cuCtxCreate_v2(ctypes.byref(context), 0, device)
    rc = cuda.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(hold << 20))
    print(f"allocated={rc == 0}", flush=True)
    time.sleep(600)
print("done=True", flush=True)
"""
# Keeps the GPU busy for a while (torch where importable; otherwise the check is skipped).
BUSY = r"""
try:
    import torch
except ImportError:
    print("torch=unavailable", flush=True)
    raise SystemExit(0)
import time
a = torch.randn(4096, 4096, device="cuda")
print("busy=True", flush=True)
end = time.time() + 45
while time.time() < end:
    a = (a @ a).clamp_(-1, 1)
torch.cuda.synchronize()
"""
HOG = "b = bytearray(512 << 20); b[::4096] = b'x' * len(b[::4096]); print('survived')"


@dataclass
class Check:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        status = "SKIP" if ok is None else "PASS" if ok else "FAIL"
        self.checks.append(Check(name, status, detail))
        print(f"[{status}] {name}: {detail}", flush=True)

    @property
    def failed(self) -> bool:
        return any(check.status == "FAIL" for check in self.checks)

    def summary(self) -> str:
        counts = {s: sum(c.status == s for c in self.checks) for s in ("PASS", "FAIL", "SKIP")}
        lines = ["", "Summary:"]
        lines += [f"  {c.status}  {c.name}" for c in self.checks]
        verdict = "FAILED" if self.failed else "OK"
        lines.append(
            f"{verdict}: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
        )
        return "\n".join(lines)


def task(
    task_id: str,
    workdir: Path,
    *argv: str,
    gpu_ids: tuple[int, ...] = (),
    memory_bytes: int = 0,
) -> TaskSpec:
    return TaskSpec(
        task_id=task_id,
        command=(sys.executable, *argv),
        workdir=workdir,
        env=dict(os.environ),  # the driver's library path, say
        resources=ResourceRequest(vcpus=1, memory_bytes=memory_bytes),
        gpu_ids=gpu_ids,
    )


async def output(backend: LocalBackend, handle: TaskHandle) -> str:
    return (await backend.read_logs(handle, offset=0, limit=1 << 20)).data.decode(errors="replace")


def values(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            found[key] = value
    return found


async def finished(backend: LocalBackend, handle: TaskHandle) -> TaskObservation | None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        observed = (await backend.poll([handle]))[handle.task_id]
        if observed.state.finished:
            return observed
        await asyncio.sleep(0.1)
    await backend.stop(handle, grace_s=1)
    return None


async def wait_for_key(backend: LocalBackend, handle: TaskHandle, key: str) -> dict[str, str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        seen = values(await output(backend, handle))
        if key in seen or "done" in seen:
            return seen
        if (await backend.poll([handle]))[handle.task_id].state.finished:
            return values(await output(backend, handle))
        await asyncio.sleep(0.1)
    return values(await output(backend, handle))


def how_detected() -> str:
    if nvml() is not None:
        return "NVML"
    if shutil.which("nvidia-smi"):
        return "nvidia-smi"
    return "/proc/driver/nvidia/gpus"


async def check_gpus(
    backend: LocalBackend, host: HostInfo, workdir: Path, hold_mib: int, report: Report
) -> None:
    if not host.gpus:
        report.add("GPUs detected", False, "no NVIDIA GPU found (NVML, nvidia-smi, /proc)")
        return
    listed = ", ".join(f"{g.index}: {g.name} ({g.memory_mib} MiB)" for g in host.gpus)
    report.add("GPUs detected", True, f"by {how_detected()}: {listed}")

    [node] = await backend.nodes()
    indices = tuple(gpu.index for gpu in host.gpus)
    report.add("nodes() lists the GPU ids", node.gpu_ids == indices, f"gpu_ids={node.gpu_ids}")

    first = host.gpus[0].index
    with_gpu = await backend.start(
        task("with-gpu", workdir, "-c", PROBE, str(hold_mib), gpu_ids=(first,))
    )
    try:
        seen = await wait_for_key(backend, with_gpu, "allocated")
        log = await output(backend, with_gpu)
        report.add(
            "a task given one GPU is told so",
            seen.get("CUDA_VISIBLE_DEVICES") == repr(str(first)),
            f"CUDA_VISIBLE_DEVICES={seen.get('CUDA_VISIBLE_DEVICES')}",
        )
        report.add(
            "it sees exactly one device (CUDA driver)",
            seen.get("driver_device_count") == "1",
            f"driver_device_count={seen.get('driver_device_count')}"
            + ("" if "driver_device_count" in seen else f"; output: {log[-500:]!r}"),
        )
        torch_count = seen.get("torch_device_count")
        report.add(
            "it sees exactly one device (torch)",
            None if torch_count in (None, "unavailable") else torch_count == "1",
            f"torch.cuda.device_count()={torch_count}",
        )
        if seen.get("allocated") != "True":
            report.add(
                "sample() reports the task's GPU memory",
                False,
                f"the task could not allocate GPU memory; output: {log[-500:]!r}",
            )
        else:
            await check_sample(backend, with_gpu, hold_mib, report)
    finally:
        await backend.stop(with_gpu, grace_s=2)
        await finished(backend, with_gpu)

    without = await backend.start(task("without-gpu", workdir, "-c", PROBE))
    observed = await finished(backend, without)
    seen = values(await output(backend, without))
    report.add(
        "a task given no GPU runs",
        observed is not None and observed.state is TaskState.SUCCEEDED,
        f"{observed}",
    )
    report.add(
        "it is told it has none",
        seen.get("CUDA_VISIBLE_DEVICES") == repr(""),
        f"CUDA_VISIBLE_DEVICES={seen.get('CUDA_VISIBLE_DEVICES')}",
    )
    report.add(
        "it sees no device (CUDA driver)",
        seen.get("driver_device_count") == "0",
        f"driver_device_count={seen.get('driver_device_count')}",
    )
    torch_count = seen.get("torch_device_count")
    report.add(
        "it sees no device (torch)",
        None if torch_count in (None, "unavailable") else torch_count == "0",
        f"torch.cuda.device_count()={torch_count}",
    )

    missing = max(indices) + 1
    try:
        await backend.start(task("no-such-gpu", workdir, "-c", "pass", gpu_ids=(missing,)))
    except BackendError as error:
        report.add("a GPU the host lacks is refused", True, str(error))
    else:
        report.add("a GPU the host lacks is refused", False, f"GPU {missing} was accepted")


async def check_sample(
    backend: LocalBackend, handle: TaskHandle, hold_mib: int, report: Report
) -> None:
    deadline = time.monotonic() + 60
    sample = None
    while time.monotonic() < deadline:
        sample = (await backend.sample([handle])).get(handle.task_id)
        if sample is not None and (sample.gpu_memory_bytes or 0) >= hold_mib * MIB:
            break
        await asyncio.sleep(0.5)
    gpu_memory = None if sample is None else sample.gpu_memory_bytes
    shown = "no sample" if sample is None else f"{sample}"
    hint = ""
    if gpu_memory == 0:
        hint = " (0: the driver may list processes of another pid namespace, as in a container)"
    report.add(
        "sample() reports the task's GPU memory",
        gpu_memory is not None and gpu_memory >= hold_mib * MIB,
        f"{shown}; expected at least {hold_mib} MiB{hint}",
    )


async def check_utilisation(
    backend: LocalBackend, host: HostInfo, workdir: Path, report: Report
) -> None:
    if not host.gpus:
        return
    busy = await backend.start(task("busy-gpu", workdir, "-c", BUSY, gpu_ids=(host.gpus[0].index,)))
    try:
        said = await wait_for_key(backend, busy, "busy")
        if "busy" not in said:
            why = "torch is not importable" if "torch" in said else f"the task said {said}"
            report.add("sample() reports the GPU's utilisation", None, why)
            return
        deadline = time.monotonic() + 60
        sample = None
        while time.monotonic() < deadline:
            sample = (await backend.sample([busy])).get(busy.task_id)
            if sample is not None and (sample.gpu_percent or 0) > 0:
                break
            await asyncio.sleep(0.5)
        report.add(
            "sample() reports the GPU's utilisation",
            sample is not None and (sample.gpu_percent or 0) > 0,
            f"{sample}",
        )
    finally:
        await backend.stop(busy, grace_s=0)


async def check_limits(backend: LocalBackend, workdir: Path, require: bool, report: Report) -> None:
    if not backend.limits_enforced:
        report.add(
            "cgroup limits are enforced",
            False if require else None,
            f"no, limits are only accounted here: {backend.limits_reason}",
        )
        return
    report.add("cgroup limits are enforced", True, backend.limits_reason)
    hog = await backend.start(task("memory-hog", workdir, "-c", HOG, memory_bytes=64 * MIB))
    observed = await finished(backend, hog)
    log = await output(backend, hog)
    report.add(
        "a task over its 64 MiB limit is killed for it",
        observed is not None
        and observed.state is TaskState.FAILED
        and "memory" in (observed.reason or "")
        and "survived" not in log,
        f"{observed}",
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--require-limits",
        action="store_true",
        help="fail when cgroup limits are not enforced on this machine",
    )
    parser.add_argument("--hold-mib", type=int, default=256, help="GPU memory the task holds")
    parser.add_argument(
        "--cgroup-parent",
        type=Path,
        default=None,
        help="a delegated cgroup (cgroup path or its directory) to make the tasks' groups in",
    )
    args = parser.parse_args(argv)

    report = Report()
    host = detect_host()
    print(f"host: {host.cpus} CPUs, {host.memory_bytes // MIB} MiB, {host.arch}", flush=True)
    with tempfile.TemporaryDirectory(prefix="openarts-gpu-check-") as scratch:
        root = Path(scratch)
        backend = LocalBackend(root / "tasks", host, cgroup_parent=args.cgroup_parent)
        workdir = root / "work"
        workdir.mkdir()
        try:
            await check_gpus(backend, host, workdir, args.hold_mib, report)
        except Exception as error:  # report it as a failed check, then go on to limits
            report.add("GPU checks ran to the end", False, f"{type(error).__name__}: {error}")
        try:
            await check_utilisation(backend, host, workdir, report)
        except Exception as error:
            report.add(
                "utilisation check ran to the end", False, f"{type(error).__name__}: {error}"
            )
        try:
            await check_limits(backend, workdir, args.require_limits, report)
        except Exception as error:
            report.add("limit checks ran to the end", False, f"{type(error).__name__}: {error}")
    print(report.summary(), flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
