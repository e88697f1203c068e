"""What this machine offers: CPUs, memory, architecture and NVIDIA GPUs."""

from __future__ import annotations

import importlib
import logging
import os
import platform
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)


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


MIB = 1 << 20
PROC_GPUS = Path("/proc/driver/nvidia/gpus")


@cache
def nvml() -> Any | None:
    """The NVML bindings, initialised, or None where the module or the driver is missing.

    ``pynvml`` (from the nvidia-ml-py distribution) is optional, so it is imported here
    and not at the top, and nvidia-smi stands in where it is missing. NVML stays
    initialised for the life of the process: that is cheap, and re-initialising on every
    query is not.
    """
    try:
        module = importlib.import_module("pynvml")
        module.nvmlInit()
    # NVML reports failures with its own error classes, made at run time.
    except Exception as error:
        log.debug("NVML is not available: %s", error)
        return None
    return module


def _text(value: str | bytes) -> str:
    # Older bindings return bytes.
    return value.decode() if isinstance(value, bytes) else value


def nvml_gpus(lib: Any) -> tuple[GpuInfo, ...]:
    gpus = []
    for index in range(lib.nvmlDeviceGetCount()):
        device = lib.nvmlDeviceGetHandleByIndex(index)
        memory = lib.nvmlDeviceGetMemoryInfo(device).total
        gpus.append(GpuInfo(index, _text(lib.nvmlDeviceGetName(device)), int(memory) // MIB))
    return tuple(gpus)


def parse_smi_gpus(out: str) -> tuple[GpuInfo, ...]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits``."""
    gpus = []
    for line in out.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 3:
            continue
        # A name may itself hold a comma; the index and memory are the ends.
        index, name, memory = parts[0], ", ".join(parts[1:-1]), parts[-1]
        try:
            memory_mib = int(float(memory))
        except ValueError:
            memory_mib = 0  # "[N/A]"
        try:
            gpus.append(GpuInfo(int(index), name, memory_mib))
        except ValueError:
            continue
    return tuple(gpus)


def smi_gpus(smi: str) -> tuple[GpuInfo, ...] | None:
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_smi_gpus(out)


def proc_gpus(root: Path | None = None) -> tuple[GpuInfo, ...]:
    """The devices the driver lists, with no tool: one folder per PCI bus id, which in
    sorted order is the order nvidia-smi and NVML number them in."""
    root = PROC_GPUS if root is None else root
    if not root.is_dir():
        return ()
    gpus = []
    for index, folder in enumerate(sorted(root.iterdir())):
        name = "nvidia"
        try:
            for line in (folder / "information").read_text().splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "Model" and value.strip():
                    name = value.strip()
        except OSError:
            pass
        gpus.append(GpuInfo(index, name, 0))
    return tuple(gpus)


def gpu_minors(root: Path | None = None) -> dict[int, int]:
    """Each GPU's index (the PCI order NVML numbers them in) and the minor number of its
    device file (/dev/nvidia<minor>), from what the driver lists; empty without it (the
    minor is then taken to be the index, as it is on most machines)."""
    root = PROC_GPUS if root is None else root
    if not root.is_dir():
        return {}
    minors = {}
    for index, folder in enumerate(sorted(root.iterdir())):
        try:
            for line in (folder / "information").read_text().splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "Device Minor" and value.strip().isdigit():
                    minors[index] = int(value.strip())
        except OSError:
            continue
    return minors


def nvidia_gpus() -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs by NVML, else nvidia-smi, else what the driver lists in /proc."""
    lib = nvml()
    if lib is not None:
        try:
            return nvml_gpus(lib)
        except Exception as error:  # NVML's own error classes; nvidia-smi may still work
            log.warning("NVML could not list the GPUs: %s", error)
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        found = smi_gpus(smi)
        if found is not None:
            return found
    return proc_gpus()


@cache
def detect_host() -> HostInfo:
    return HostInfo(
        cpus=os.cpu_count() or 1,
        memory_bytes=psutil.virtual_memory().total,
        arch=normalize_arch(platform.machine()),
        gpus=nvidia_gpus(),
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now (for a server about to start there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
