"""What this machine offers: CPUs, memory, architecture and NVIDIA GPUs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psutil


@dataclass(frozen=True, slots=True)
class GpuInfo:
    index: int
    name: str
    memory_mib: int


@dataclass(frozen=True, slots=True)
class HostInfo:
    cpus: int
    memory_bytes: int
    arch: str
    gpus: tuple[GpuInfo, ...] = field(default_factory=tuple)


def normalize_arch(machine: str) -> str:
    return {"x86_64": "x86", "amd64": "x86", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine.lower(), machine.lower()
    )


def _nvidia_gpus() -> tuple[GpuInfo, ...]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        # No tool, but the driver may still list devices.
        proc = Path("/proc/driver/nvidia/gpus")
        if not proc.is_dir():
            return ()
        return tuple(GpuInfo(i, "nvidia", 0) for i, _ in enumerate(sorted(proc.iterdir())))
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    gpus = []
    for line in out.strip().splitlines():
        index, name, memory = (part.strip() for part in line.split(","))
        gpus.append(GpuInfo(int(index), name, int(float(memory))))
    return tuple(gpus)


@cache
def detect_host() -> HostInfo:
    return HostInfo(
        cpus=os.cpu_count() or 1,
        memory_bytes=psutil.virtual_memory().total,
        arch=normalize_arch(platform.machine()),
        gpus=_nvidia_gpus(),
    )
