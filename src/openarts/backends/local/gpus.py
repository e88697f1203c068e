"""GPU memory per process and utilisation per device, for sampling local tasks: NVML
where it loads, else nvidia-smi. A device is never shared between tasks, so its
utilisation is the utilisation of the task that holds it.

One query covers every process on every GPU, so sampling many tasks costs one call. The
process ids are those of the pid namespace the driver sees: a server in a container
without the host's pid namespace finds none of its tasks' processes in them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Any

from openarts.hostinfo import MIB, nvml

log = logging.getLogger(__name__)

SMI_TIMEOUT_S = 10


def nvml_process_memory(lib: Any) -> dict[int, int]:
    used: dict[int, int] = {}
    for index in range(lib.nvmlDeviceGetCount()):
        device = lib.nvmlDeviceGetHandleByIndex(index)
        for process in lib.nvmlDeviceGetComputeRunningProcesses(device):
            # None where the driver cannot tell (under MIG without rights, say).
            memory = process.usedGpuMemory or 0
            used[int(process.pid)] = used.get(int(process.pid), 0) + int(memory)
    return used


def parse_smi_process_memory(out: str) -> dict[int, int]:
    """Parse ``nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits``:
    one line per process and GPU, memory in MiB."""
    used: dict[int, int] = {}
    for line in out.strip().splitlines():
        pid_text, _, memory_text = line.partition(",")
        try:
            pid = int(pid_text.strip())
        except ValueError:
            continue  # "No running processes found", or a message of some other kind
        try:
            memory = int(float(memory_text.strip())) * MIB
        except ValueError:
            memory = 0  # "[N/A]"
        used[pid] = used.get(pid, 0) + memory
    return used


def _smi(query: str) -> str | None:
    """What ``nvidia-smi <query> --format=csv,noheader,nounits`` prints, if it can run."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        return subprocess.run(
            [smi, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=SMI_TIMEOUT_S,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        log.debug("nvidia-smi %s failed: %s", query, error)
        return None


def smi_process_memory() -> dict[int, int] | None:
    out = _smi("--query-compute-apps=pid,used_memory")
    return None if out is None else parse_smi_process_memory(out)


def process_gpu_memory() -> dict[int, int] | None:
    """Bytes of GPU memory per pid, summed over GPUs; None where it cannot be known."""
    lib = nvml()
    if lib is not None:
        try:
            return nvml_process_memory(lib)
        except Exception as error:  # NVML's own error classes; nvidia-smi may still work
            log.debug("NVML could not list GPU processes: %s", error)
    return smi_process_memory()


def nvml_utilization(lib: Any) -> dict[int, float]:
    return {
        index: float(lib.nvmlDeviceGetUtilizationRates(lib.nvmlDeviceGetHandleByIndex(index)).gpu)
        for index in range(lib.nvmlDeviceGetCount())
    }


def parse_smi_utilization(out: str) -> dict[int, float]:
    """Parse ``nvidia-smi --query-gpu=index,utilization.gpu --format=csv,noheader,nounits``."""
    found: dict[int, float] = {}
    for line in out.strip().splitlines():
        index_text, _, percent_text = line.partition(",")
        try:
            found[int(index_text.strip())] = float(percent_text.strip())
        except ValueError:
            continue  # "[N/A]" where the device cannot say
    return found


def device_utilization() -> dict[int, float] | None:
    """Percent busy per GPU index (NVML's numbering); None where it cannot be known."""
    lib = nvml()
    if lib is not None:
        try:
            return nvml_utilization(lib)
        except Exception as error:  # NVML's own error classes; nvidia-smi may still work
            log.debug("NVML could not read GPU utilisation: %s", error)
    out = _smi("--query-gpu=index,utilization.gpu")
    return None if out is None else parse_smi_utilization(out)
