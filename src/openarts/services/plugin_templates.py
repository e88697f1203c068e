"""Plug-in templates: the plug-ins this platform really has, with their real versions.

Not a shipped list of names: each entry is what runs here. The GPU driver is the host's
NVIDIA driver (its version read from the driver itself), present only where one is
installed; the metrics exporter is the platform's own sampler (psutil), present always.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil

from openarts import __version__


@dataclass(frozen=True, slots=True)
class PluginTemplate:
    name: str
    type: str
    description: str
    versions: dict[str, str]  # version -> detail


@cache
def nvidia_driver_version() -> str | None:
    """The loaded NVIDIA kernel driver's version, or None without one."""
    proc = Path("/proc/driver/nvidia/version")
    try:
        match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([0-9][0-9.]+)", proc.read_text())
        if match:
            return match.group(1)
    except OSError:
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return out[0] if out else None


def plugin_templates() -> dict[str, PluginTemplate]:
    found = {
        "metrics-exporter": PluginTemplate(
            "metrics-exporter",
            "icAgent",
            "OpenArts task sampler: CPU, memory and GPU memory of every running task, "
            "for pool monitoring and job metrics",
            {__version__: f"OpenArts {__version__} with psutil {psutil.__version__}"},
        )
    }
    driver = nvidia_driver_version()
    if driver:
        found["gpu-driver"] = PluginTemplate(
            "gpu-driver",
            "gpuDriver",
            "NVIDIA GPU driver of the platform's hosts (detected, not installed by OpenArts)",
            {driver: "the driver loaded on this host"},
        )
    return found
